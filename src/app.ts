// The gateway's routing is a dozen fixed paths under /_auth, one RFC 9728 metadata path and "everything
// else": a lookup table, not a router. Hono (the stack's router until issue 18) cost 5.3 KiB of the
// gzipped bundle and a few µs per request for that (bench/RESULTS.md, "Bundle"); what it did for us is
// kept below: the path decoded before matching, HEAD answered as GET, an optional trailing slash, one
// error handler, the METRICS data point after every answer.
import type { Env } from './env';
import { GatewayError } from './http/errors';
import { errorResponse } from './http/respond';
import { takeRate } from './http/rate-limit';
import { metricsOf, writeMetrics } from './http/metrics';
import { createContext, type RequestContext } from './context';
import { pageContextOf } from './config/brand';
import { sessionStoreFor } from './lifecycle/coordinated';
import { handleCallback } from './routes/callback';
import { handleLogout, handleSignedOut, handleUserInfo } from './routes/auth-pages';
import { handleLogin } from './routes/signin';
import { handleProtected } from './routes/gate';
import { handleJwks } from './routes/jwks';
import { handleBackchannelLogout } from './routes/backchannel';
import { handleFrontchannelLogout } from './routes/frontchannel';
import { handleSsf } from './routes/ssf';
import { handleSessionInfo } from './routes/session-info';
import { handleProtectedResource } from './routes/protected-resource';
import { WELL_KNOWN } from './oidc/resource-metadata';

type Handler = (ctx: RequestContext, param?: string) => Response | Promise<Response>;

interface Endpoint {
  /** Methods answered (HEAD is answered wherever GET is); `any`: every method. */
  readonly methods: ReadonlySet<string> | 'any';
  readonly handle: Handler;
  /**
   * Endpoints anyone can call without a session: limited per client when RATE_LIMITER is bound
   * (http/rate-limit.ts). The limit belongs to the endpoint, so every spelling that reaches it (a
   * trailing slash, an encoded letter) counts against it (test/attacks/skip-rate-limit-with-another-spelling).
   */
  readonly rateScope?: string;
}

const GET: ReadonlySet<string> = new Set(['GET']);
// GET for response_mode=query, POST for form_post; the callback accepts only the configured one.
const GET_POST: ReadonlySet<string> = new Set(['GET', 'POST']);

const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map<string, Endpoint>([
  ['/_auth/login', { methods: GET, handle: handleLogin, rateScope: 'login' }],
  ['/_auth/callback', { methods: GET_POST, handle: (ctx) => handleCallback(ctx), rateScope: 'callback' }],
  ['/_auth/logout', { methods: GET_POST, handle: handleLogout }],
  ['/_auth/signed-out', { methods: GET, handle: handleSignedOut }],
  ['/_auth/userinfo', { methods: GET, handle: handleUserInfo }],
  ['/_auth/session', { methods: GET, handle: handleSessionInfo }],
  ['/_auth/backchannel-logout', { methods: 'any', handle: handleBackchannelLogout, rateScope: 'logout' }],
  ['/_auth/frontchannel-logout', { methods: GET, handle: handleFrontchannelLogout, rateScope: 'logout' }],
  ['/_auth/jwks', { methods: GET, handle: handleJwks }],
  ['/_auth/ssf', { methods: 'any', handle: handleSsf, rateScope: 'ssf' }],
]);

/** One redirect URI per identity provider, `/_auth/callback/<name>` (docs/protocols.md "Several identity providers"; RFC 9700 4.4). */
const IDP_CALLBACK: Endpoint = { methods: GET_POST, handle: (ctx, idp) => handleCallback(ctx, idp), rateScope: 'callback' };
const IDP_CALLBACK_PREFIX = '/_auth/callback/';

const NOT_FOUND: Endpoint = {
  methods: 'any',
  handle: () => {
    throw new GatewayError('not_found', 'There is no such gateway endpoint.');
  },
};

/** RFC 9728 metadata of the APIs the gateway guards; any other URL there (and any other method) is the origin's. */
const RESOURCE_METADATA: Endpoint = { methods: GET, handle: (ctx) => handleProtectedResource(ctx) ?? handleProtected(ctx) };

/** Every request that is not a gateway endpoint: the rules decide (routes/gate.ts). */
const GATE: Endpoint = { methods: 'any', handle: handleProtected };

/**
 * Which endpoint answers `method` at `path` (decoded, see routingPath), and its path parameter. Pure.
 * Anything under /_auth that is not an endpoint (or not for this method) is a 404 of the gateway,
 * never the upstream's; a trailing slash names the same endpoint.
 */
export function endpointFor(method: string, path: string): { endpoint: Endpoint; param?: string } {
  const asked = method === 'HEAD' ? 'GET' : method;
  if (path === '/_auth' || path.startsWith('/_auth/')) {
    const exact = path.length > 7 && path.endsWith('/') ? path.slice(0, -1) : path;
    let endpoint = ENDPOINTS.get(exact);
    let param: string | undefined;
    if (!endpoint && exact.startsWith(IDP_CALLBACK_PREFIX)) {
      const name = exact.slice(IDP_CALLBACK_PREFIX.length);
      if (name !== '' && !name.includes('/')) {
        endpoint = IDP_CALLBACK;
        param = decodeComponent(name);
      }
    }
    if (!endpoint || (endpoint.methods !== 'any' && !endpoint.methods.has(asked))) return { endpoint: NOT_FOUND };
    return param === undefined ? { endpoint } : { endpoint, param };
  }
  if (asked === 'GET' && path.startsWith(WELL_KNOWN) && (path.length === WELL_KNOWN.length || path.charCodeAt(WELL_KNOWN.length) === 0x2f /* / */)) {
    return { endpoint: RESOURCE_METADATA };
  }
  return { endpoint: GATE };
}

/**
 * The path an endpoint is matched on: percent-decoded (`/_auth/%6cogin` is the sign-in, as a browser
 * or a proxy may spell it), except `%25` and the reserved characters decodeURI leaves encoded (`%2F`
 * stays one segment). An invalid sequence is left as sent. Never the path forwarded upstream: that is
 * judged separately, reading by reading (policy/readings.ts).
 */
export function routingPath(pathname: string): string {
  if (!pathname.includes('%')) return pathname;
  const safe = pathname.includes('%25') ? pathname.replace(/%25/g, '%2525') : pathname;
  try {
    return decodeURI(safe);
  } catch {
    // Decode what can be decoded, sequence by sequence.
    return safe.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURI(run);
      } catch {
        return run;
      }
    });
  }
}

function decodeComponent(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Wiring only: which handler answers which path. The handlers hold the logic. */
export const app = {
  async fetch(request: Request, env: Env, execution: ExecutionContext): Promise<Response> {
    // METRICS (optional): one data point per request, written after the response whatever it was,
    // refusals and failures included. Without the binding: nothing at all.
    const metrics = metricsOf(env);
    const started = metrics ? Date.now() : 0;
    let ctx: RequestContext | undefined;
    let response: Response;
    let failure: unknown;
    try {
      ctx = createContext(request, env, (promise) => execution.waitUntil(promise), sessionStoreFor);
      const { endpoint, param } = endpointFor(request.method, routingPath(ctx.url.pathname));
      if (endpoint.rateScope && ctx.rateLimiter) await takeRate(ctx.rateLimiter, endpoint.rateScope, request);
      response = await endpoint.handle(ctx, param);
    } catch (error) {
      failure = error;
      // The refusal's log line carries the same facts as its METRICS data point (rule, IdP, refresh).
      // Its page carries the brand, even of a configuration that is invalid otherwise (config/brand.ts).
      response = errorResponse(request, error, ctx?.metrics, pageContextOf(env as unknown as Record<string, unknown>, request));
    }
    // HEAD is answered as GET without the body (RFC 9110 9.3.2).
    if (request.method === 'HEAD' && response.body) {
      void response.body.cancel().catch(() => undefined);
      response = new Response(null, response);
    }
    if (metrics) {
      writeMetrics(metrics, ctx?.metrics ?? {}, { pathname: (ctx?.url ?? new URL(request.url)).pathname, status: response.status, error: failure, latencyMs: Date.now() - started });
    }
    return response;
  },
};
