import { GatewayError } from '../http/errors';
import { wantsJson } from '../http/client';
import { corsRefusalHeaders } from '../http/cors';
import { log } from '../http/log';
import { takeRate } from '../http/rate-limit';
import { judgeUrl } from '../policy/readings';
import { decide, type Principal, type RequestFacts, type StepUp } from '../policy/decide';
import { networkFacts, usesNetwork, type NetworkFacts } from '../policy/conditions';
import type { RouteRule } from '../policy/rules';
import { invalidToken } from '../oidc/access-token';
import { verifyBearerAtIdps } from '../oidc/bearer-idps';
import { DEFAULT_IDP, withIdp } from '../config/idps';
import { forward } from '../proxy/forward';
import { relayWebSocket, type SocketWatch } from '../proxy/websocket';
import { watchSession, watchUntil } from '../lifecycle/watch';
import { keepFresh } from '../lifecycle/fresh';
import type { RequestContext } from '../context';
import { clearSessionCookie, hasSessionCookie } from './session-cookie';
import { currentSession, touchIfDue, type Current } from '../lifecycle/current';
import { startSignIn } from './signin';
import { forwardedIdentity } from './identity-headers';
import { presentedToken, verifyPresented } from './api-token';
import { apiRefusal } from './protected-resource';

/**
 * Every request that is not a gateway endpoint: find the rule, find who is asking, decide
 * (policy/decide.ts), then forward or refuse. No matching rule = a signed-in session is required.
 */
export async function handleProtected(ctx: RequestContext): Promise<Response> {
  // Every reading an origin may give the request (`//`, `;params`, a second decoding, IIS's trailing
  // dots and letter case, method overrides) must fall under one rule; the path is then forwarded as
  // normalized, unchanged otherwise (policy/readings.ts). Readings that disagree: 400 path_invalid.
  const { path, rule } = judgeUrl(ctx.config.routes, { method: ctx.request.method, url: ctx.url, headers: ctx.request.headers }, ctx.config.pathCase);
  // Metrics locate a decision by its rule, never by the path, which can name a person (http/metrics.ts).
  ctx.metrics.rule = rule.index;
  try {
    return await gate(ctx, path, rule);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    // `api` rules answer programs: every refusal is JSON, whatever the Accept header says.
    // A copy: the error may be a remembered outage that other requests throw too (http/errors.ts).
    // Their 401/403 say where the API's metadata is and which schemes and scopes it takes (RFC 9728 5.1).
    let refusal = rule.auth === 'api' ? apiRefusal(ctx, rule, error) : error;
    // `cors_origins`: a listed origin's script may read the gateway's own 401/403 (http/cors.ts).
    if (rule.cors_origins && (refusal.status === 401 || refusal.status === 403)) {
      refusal = refusal.with({ headers: { ...refusal.headers, ...corsRefusalHeaders(ctx.request.headers.get('origin'), rule.cors_origins) } });
    }
    throw refusal;
  }
}

async function gate(ctx: RequestContext, path: string, rule: RouteRule): Promise<Response> {
  if (path === '/_auth' || path.startsWith('/_auth/')) {
    // Reached only through an encoded spelling of a gateway path: never the upstream's business.
    throw new GatewayError('not_found', 'There is no such gateway endpoint.');
  }
  const method = ctx.request.method;
  const headers = ctx.request.headers;
  const preflight = method === 'OPTIONS' && headers.has('origin') && headers.has('access-control-request-method');

  // A public route or a passed preflight needs no session lookup unless a cookie invites one.
  const skipLookup = (preflight && rule.cors_preflight === 'pass') || (rule.auth === 'public' && !hasSessionCookie(ctx));
  let current: Current | null = null;
  let principal: Principal | null = null;
  let bearer: string | null = null;
  let proofUsed = false;
  if (!skipLookup) {
    // `Authorization: Bearer` or `DPoP` (with its proof): api-token.ts.
    const presented = rule.auth === 'api' ? presentedToken(ctx.request) : null;
    if (presented === undefined) throw invalidToken('the Authorization header is malformed');
    if (presented) {
      ctx.metrics.via = 'bearer';
      // An unknown opaque token costs an introspection at the IdP: limited per client with RATE_LIMITER.
      const limit = ctx.rateLimiter ? () => takeRate(ctx.rateLimiter, 'introspection', ctx.request) : undefined;
      const started = Date.now();
      try {
        principal = await verifyPresented(ctx, rule, presented, (token) => verifyBearerAtIdps(ctx.config, rule.idps, token, ctx.now, limit));
      } finally {
        ctx.metrics.idpMs = Date.now() - started;
      }
      ctx.metrics.idp = principal.idp ?? DEFAULT_IDP;
      bearer = presented.token;
      proofUsed = presented.scheme === 'DPoP';
    } else {
      // A public page must not fail because KV cannot be read (or, below, the IdP is down): without a
      // readable, fresh session it is simply anonymous. Other routes answer 503 rather than guess.
      current = rule.auth === 'public' ? await currentSession(ctx).catch(anonymous) : await currentSession(ctx);
      // A session from an IdP no longer configured names nobody: sign in again.
      if (current && !withIdp(ctx.config, current.session.idp)) current = null;
      if (current) {
        ctx.metrics.via = 'session';
        ctx.metrics.idp = current.session.idp ?? DEFAULT_IDP;
      }
      if (current) current = rule.auth === 'public' ? await keepFresh(ctx, current).catch(() => null) : await keepFresh(ctx, current);
      if (current) principal = { via: 'session', sub: current.session.sub, claims: current.session.claims, idp: current.session.idp ?? DEFAULT_IDP };
    }
  }

  const connectingIp = headers.get('cf-connecting-ip');
  const facts = new GateFacts(preflight, ctx.request, rule, connectingIp);
  const verdict = decide(rule, principal, facts, ctx.now, ctx.config.clockSkew, (principal && withIdp(ctx.config, principal.idp)) || ctx.config);
  switch (verdict.action) {
    case 'forward': {
      ctx.metrics.outcome = 'forward';
      if (current && verdict.principal) touchIfDue(ctx, current);
      // The URL the client used, with the judged path; most requests' path needs no new URL.
      const publicUrl = path === ctx.url.pathname ? ctx.url : withPath(ctx.url, path);
      const upstream = rule.upstream ?? ctx.config.upstream;
      const response = await forward(
        ctx.request,
        upstream,
        {
          publicUrl,
          clientIp: connectingIp,
          identityHeaders: await forwardedIdentity(ctx, rule, verdict.principal, verdict.principal ? current : null, bearer, publicUrl, upstream),
          // A DPoP proof the gateway consumed is for this URL, not the upstream's: not passed on either.
          alsoStrip: proofUsed ? new Set([...ctx.config.claimHeaderNames, 'dpop']) : ctx.config.claimHeaderNames,
          // A bearer token the gateway consumed is not passed on unless the rule asks (pass_access_token);
          // on a rule that passes the token as Authorization, the client's own never passes (no token: none).
          dropAuthorization: bearer !== null || rule.pass_access_token === 'bearer',
          edgeCache: rule.edge_cache === 'allow',
        },
        ctx.config.upstreamTimeoutMs,
      );
      return response.webSocket ? relayWebSocket(response, socketWatch(ctx, verdict.principal ? current : null, bearer ? verdict.principal : null)) : response;
    }
    case 'sign-in':
      ctx.metrics.outcome = 'sign-in';
      return startSignIn(ctx, returnPath(ctx, path), staleCookie(ctx, current), verdict.stepUp, rule.idps);
    case 'unauthenticated':
      throw unauthenticated(ctx, rule, path, current, verdict.stepUp);
    case 'forbidden':
      // Which condition refused, in operator terms (rule and key), never the user's own values.
      throw new GatewayError('forbidden', `${verdict.denied ? `This page is not available ${verdict.missing}` : `You are signed in, but this page requires ${verdict.missing}`} (ROUTES[${rule.index}] ${verdict.condition}).`, {
        detail: `rule ${rule.index} ${verdict.condition}`,
        extra: { rule: String(rule.index), condition: verdict.condition },
        ...(principal ? { subject: principal.sub } : {}),
        // The page says who is signed in, with ways to sign out or switch account (http/respond.ts).
        ...(principal?.via === 'session' ? { signedInAs: shownAs(principal) } : {}),
      });
    case 'insufficient-scope':
      throw new GatewayError('insufficient_scope', `The access token needs the scope ${verdict.scopes.join(' ')}.`, {
        headers: {
          'www-authenticate': `Bearer realm="edgegate", error="insufficient_scope", error_description="the access token lacks a required scope", scope="${verdict.scopes.join(' ')}"`,
        },
        detail: `rule ${rule.index} scopes`,
        ...(principal ? { subject: principal.sub } : {}),
      });
  }
}

/**
 * The request's facts for `decide`, each read only when the verdict depends on it: whether it is a page
 * navigation (no principal, a step-up, a rule for other IdPs), and the network facts — only CF-Connecting-IP
 * and `request.cf` (X-Forwarded-For, True-Client-IP & co. are the client's to write), and only for a rule
 * with a network condition (no other condition reads them; `request.cf` is parsed on first access).
 * A class, not an object literal with a getter: V8 builds those on a slow path on every request.
 */
class GateFacts implements RequestFacts {
  readonly network: NetworkFacts | undefined;
  constructor(
    readonly preflight: boolean,
    private readonly request: Request,
    private readonly rule: RouteRule,
    connectingIp: string | null,
  ) {
    this.network = usesNetwork(rule) ? networkFacts(connectingIp, request.cf) : undefined;
  }

  get navigation(): boolean {
    const method = this.request.method;
    return (method === 'GET' || method === 'HEAD') && !wantsJson(this.request) && this.rule.auth !== 'api';
  }
}

/** How the refused user knows themselves: their name, else email, else their IdP's id for them (bounded; escaped on the page). */
function shownAs(principal: Principal): string {
  const claims = principal.claims;
  const named = [claims['name'], claims['preferred_username'], claims['email']].find((c): c is string => typeof c === 'string' && c.trim() !== '');
  const shown = (named ?? principal.sub).trim();
  return shown.length > 120 ? `${shown.slice(0, 119)}…` : shown;
}

/**
 * What closes a WebSocket this request opened (docs/sessions.md "WebSockets"): the end of its session, or its
 * bearer token's expiry. A socket opened without either (a public rule, anonymously) is not watched.
 */
function socketWatch(ctx: RequestContext, current: Current | null, bearer: Principal | null): SocketWatch | undefined {
  if (current) return (end) => watchSession(ctx, current, end);
  const exp = bearer?.claims['exp'];
  return typeof exp === 'number' ? (end) => watchUntil(exp, end) : undefined;
}

function withPath(url: URL, path: string): URL {
  const copy = new URL(url.href);
  copy.pathname = path;
  return copy;
}

function anonymous(error: unknown): null {
  log('warn', 'session_unreadable', { code: error instanceof GatewayError ? error.code : 'internal', detail: error instanceof GatewayError ? error.detail : undefined });
  return null;
}

function returnPath(ctx: RequestContext, path: string): string {
  // Leading empty segments are forwarded as sent (`//evil.example/x`), but as a redirect target after
  // sign-in they would name another host (RFC 3986 4.2): return to the merged path instead.
  const local = path.replace(/^\/{2,}/, '/');
  const full = local + ctx.url.search;
  return full.length <= 2048 ? full : local;
}

/** A cookie that opened no session is cleared on the way to sign-in, so it is not sent again. */
function staleCookie(ctx: RequestContext, current: Current | null): string[] {
  return !current && hasSessionCookie(ctx) ? [clearSessionCookie(ctx)] : [];
}

/**
 * Programs (fetch/XHR/API clients), non-GET requests and every `api` rule get a 401 they can act
 * on. A step-up is announced as in RFC 9470 (`insufficient_user_authentication`).
 */
function unauthenticated(ctx: RequestContext, rule: RouteRule, path: string, current: Current | null, stepUp?: StepUp): GatewayError {
  const loginUrl = `/_auth/login?rd=${encodeURIComponent(returnPath(ctx, path))}`;
  const stale = staleCookie(ctx, current);
  let challenge = 'Bearer realm="edgegate"';
  if (stepUp) {
    challenge += ', error="insufficient_user_authentication", error_description="a stronger or more recent sign-in is required"';
    if (stepUp.acr_values) challenge += `, acr_values="${stepUp.acr_values.join(' ')}"`;
    if (stepUp.max_age !== undefined) challenge += `, max_age=${stepUp.max_age}`;
  }
  return new GatewayError(stepUp ? 'step_up_required' : 'unauthenticated', stepUp ? 'This page needs a stronger or more recent sign-in.' : 'Sign-in required.', {
    headers: { 'www-authenticate': challenge, ...(stale[0] ? { 'set-cookie': stale[0] } : {}) },
    extra: { login_url: loginUrl },
    retryHref: loginUrl,
  });
}
