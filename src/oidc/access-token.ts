import * as oauth from 'oauth4webapi';
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../config';
import { ASYMMETRIC_ALGS } from '../config/schema';
import { GatewayError } from '../http/errors';
import { throttle } from '../http/throttle';
import { utf8, toBase64Url } from '../crypto/encoding';
import type { Principal } from '../policy/decide';
import type { Provider } from './provider';
import { joinIdpCall } from './transport';
import { holdWhileRunning } from '../http/join';
import { NEVER_CLAIMS } from '../session/model';

/**
 * Bearer access tokens on `api` rules: JWT access tokens (RFC 9068) are verified locally with the
 * issuer's keys; anything else is asked about at the IdP's introspection endpoint (RFC 7662).
 * Either way the token must be meant for API_AUDIENCE — a token for another API is refused — and
 * must be an access token: an ID token is refused even when API_AUDIENCE is its client id (below).
 */

/** Real access tokens are a few KB at most; anything larger is refused before any parsing. */
const MAX_TOKEN_LENGTH = 8192;
/** Three base64url parts; an empty signature (`alg: none`) is still a JWT, refused locally, never sent to introspection. */
const JWS_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** RFC 9068 2.1 names `at+jwt`; many IdPs send `JWT` or nothing. Anything else (an ID token's or a logout token's type) is not an access token. */
const ACCEPTED_TYP = new Set(['at+jwt', 'application/at+jwt', 'jwt']);
const RFC9068_TYP = new Set(['at+jwt', 'application/at+jwt']);

/**
 * ID tokens are signed by the same keys as access tokens and, where API_AUDIENCE is a client id
 * (Entra ID, Keycloak and Google setups), name the same audience — yet an ID token only tells a client
 * who signed in; it authorizes nothing (RFC 9068 2.1 introduced `at+jwt` for exactly this confusion;
 * RFC 8725 3.11). These claims appear only in ID tokens (OpenID Connect Core 3.1.3.6, 3.3.2.11; FAPI
 * `s_hash`), whatever the header says.
 */
const ID_TOKEN_CLAIMS = ['at_hash', 'c_hash', 's_hash'];
/**
 * A JWT typed neither `at+jwt` nor (Keycloak, in the payload) `Bearer` must show it is an access token:
 * JWT access tokens carry at least one of these (RFC 9068 2.2 `client_id` and `scope`; `scp` Entra ID
 * and Okta; `roles` Entra ID app tokens; `cid` Okta; `appid` Entra ID v1); ID tokens carry none.
 */
const ACCESS_TOKEN_CLAIMS = ['scope', 'scp', 'client_id', 'roles', 'cid', 'appid'];

/** Why a verified JWT is not an access token, or null when it is one. */
export function notAnAccessToken(typ: string | undefined, claims: Record<string, unknown>): string | null {
  for (const name of ID_TOKEN_CLAIMS) if (Object.hasOwn(claims, name)) return `${name} claim (ID token)`;
  // Keycloak types its tokens in the payload: "Bearer" for access tokens, "ID", "Refresh", "Logout"…
  const payloadTyp = Object.hasOwn(claims, 'typ') ? claims['typ'] : undefined;
  const keycloakAccess = typeof payloadTyp === 'string' && payloadTyp.toLowerCase() === 'bearer';
  if (payloadTyp !== undefined && !keycloakAccess) return `payload typ ${String(payloadTyp)}`;
  // Amazon Cognito: token_use "access" or "id".
  if (Object.hasOwn(claims, 'token_use') && claims['token_use'] !== 'access') return `token_use ${String(claims['token_use'])}`;
  // Logout tokens and security event tokens, typed JWT by some IdPs.
  if (Object.hasOwn(claims, 'events')) return 'events claim (logout or security event token)';
  const typed = keycloakAccess || (typ !== undefined && RFC9068_TYP.has(typ.toLowerCase()));
  // `nonce` marks an ID token, except in access tokens typed as such: Keycloak before 25 copied it there.
  if (!typed && Object.hasOwn(claims, 'nonce')) return 'nonce claim (ID token)';
  if (!typed && !ACCESS_TOKEN_CLAIMS.some((name) => Object.hasOwn(claims, name))) return `an untyped JWT without ${ACCESS_TOKEN_CLAIMS.join('/')}`;
  return null;
}

/** Introspection results are reused only briefly, and never past the token's own expiry. */
const INTROSPECTION_TTL = 60;
const INACTIVE_TTL = 10;
const INTROSPECTION_CACHE_MAX = 1000;
interface Introspected {
  principal: Principal | null;
  until: number;
}
const introspected = new Map<string, Introspected>();
/**
 * Introspections in flight in this isolate, by cache key: requests that bring the same new token while
 * it is being introspected wait for that answer instead of asking the IdP again. An API client that fans
 * out with a fresh token (an agent calling several tools at once) costs the IdP one call, and its burst
 * is not refused as busy by the bound below. Entries live only while their call runs (≤ 16 at once).
 */
const introspecting = new Map<string, Promise<Introspected>>();

/**
 * `limit` is asked before an unknown opaque token is sent to introspection and throws to refuse
 * (RATE_LIMITER per client, http/rate-limit.ts); a token answered from the cache costs the IdP nothing.
 */
export async function verifyBearer(provider: Provider, config: Config, token: string, now: number, limit?: () => Promise<void>): Promise<Principal> {
  if (!config.apiAudience) throw invalidToken('bearer tokens are not accepted here', 'API_AUDIENCE is not configured');
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalidToken('the access token is malformed');
  return JWS_SHAPE.test(token) ? verifyJwt(provider, config, token, now) : introspect(provider, config, token, now, limit);
}

async function verifyJwt(provider: Provider, config: Config, token: string, now: number): Promise<Principal> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw invalidToken('the access token is malformed');
  }
  if (typeof header.typ === 'string' && !ACCEPTED_TYP.has(header.typ.toLowerCase())) {
    throw invalidToken('the token is not an access token', `typ ${header.typ}`);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, provider.jwks, {
      issuer: provider.as.issuer,
      audience: config.apiAudience!,
      algorithms: [...ASYMMETRIC_ALGS],
      clockTolerance: config.clockSkew,
      currentDate: new Date(now * 1000),
      requiredClaims: ['iss', 'exp'],
    }));
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    const code = (error as { code?: string }).code ?? 'ERR';
    throw invalidToken(code === 'ERR_JWT_EXPIRED' ? 'the access token has expired' : 'the access token is not valid', code);
  }
  const notAccess = notAnAccessToken(typeof header.typ === 'string' ? header.typ : undefined, payload as Record<string, unknown>);
  if (notAccess) throw invalidToken('the token is not an access token', notAccess);
  return principalFrom(payload as Record<string, unknown>);
}

/**
 * Every new opaque token costs one call to the IdP, so a client sending random tokens could make the
 * gateway flood the IdP. Per isolate, at most this many introspections run at once and at most this
 * many start per second; beyond that the request is refused (503, Retry-After) rather than passed on.
 * Real traffic stays far below: each token is introspected once per INTROSPECTION_TTL.
 */
const introspections = throttle({
  name: 'introspection',
  maxInFlight: 16,
  perSecond: 50,
  message: 'Too many access tokens to check right now. Please retry shortly.',
});

async function introspect(provider: Provider, config: Config, token: string, now: number, limit?: () => Promise<void>): Promise<Principal> {
  if (!provider.as.introspection_endpoint) throw invalidToken('the access token is not valid', 'opaque token and no introspection endpoint');
  const key = await cacheKey(provider.as.issuer, config.apiAudience!, token);
  const entry = await introspection(provider, config, token, key, now, limit);
  if (!entry.principal) throw invalidToken('the access token is not active');
  return entry.principal;
}

/** The cached answer, the answer another request is getting, or a new one from the IdP. */
async function introspection(provider: Provider, config: Config, token: string, key: string, now: number, limit?: () => Promise<void>): Promise<Introspected> {
  const hit = introspected.get(key);
  if (hit && hit.until > now) return hit;
  const running = introspecting.get(key);
  if (running) return joinIdpCall(running, config.idpTimeoutMs, 'introspection');
  // Only a call to the IdP is limited: waiting for one already running costs the IdP nothing.
  if (limit) await limit();
  const asking = askIdp(provider, config, token, now).then((entry) => {
    remember(key, entry);
    return entry;
  });
  holdWhileRunning(introspecting, key, asking, asking);
  return asking;
}

async function askIdp(provider: Provider, config: Config, token: string, now: number): Promise<Introspected> {
  let result: oauth.IntrospectionResponse;
  const release = introspections.take(Date.now());
  try {
    const response = await oauth.introspectionRequest(provider.as, provider.client, provider.clientAuth, token, provider.httpOptions);
    result = await oauth.processIntrospectionResponse(provider.as, provider.client, response);
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('idp_bad_response', 'The identity provider could not check the access token.', {
      detail: `introspection: ${(error as { code?: string }).code ?? ''} ${(error as Error).message?.slice(0, 200)}`,
      cause: error,
    });
  } finally {
    release();
  }

  const claims = result as unknown as Record<string, unknown>;
  // RFC 7662 2.2: only `active: true` (the boolean) means yes. Then the same checks as for a JWT.
  const usable =
    result.active === true &&
    (result.exp === undefined || result.exp + config.clockSkew > now) &&
    (result.iss === undefined || result.iss === provider.as.issuer) &&
    audienceIncludes(claims['aud'], config.apiAudience!) &&
    result.token_type !== 'refresh_token';
  const principal = usable ? principalFrom(claims) : null;
  const until = usable ? Math.min(now + INTROSPECTION_TTL, result.exp ?? now + INTROSPECTION_TTL) : now + INACTIVE_TTL;
  return { principal, until };
}

/**
 * The answer must name API_AUDIENCE in `aud`, as a JWT must. An answer without `aud` proves only
 * that the IdP issued the token, not that it is for this API: with oidc-provider, for example, the
 * token any client got for UserInfo introspects as active without `aud`, and would otherwise work
 * here as that user (token confusion).
 */
function audienceIncludes(aud: unknown, expected: string): boolean {
  return Array.isArray(aud) ? aud.includes(expected) : aud === expected;
}

function principalFrom(claims: Record<string, unknown>): Principal {
  const sub = typeof claims['sub'] === 'string' && claims['sub'] !== '' ? claims['sub'] : typeof claims['client_id'] === 'string' ? claims['client_id'] : null;
  if (!sub) throw invalidToken('the access token names no subject');
  // Without a prototype and without `__proto__` & co. (session/model.ts NEVER_CLAIMS), as a session's claims.
  const own = Object.create(null) as Record<string, unknown>;
  for (const [name, value] of Object.entries(claims)) if (!NEVER_CLAIMS.has(name)) own[name] = value;
  own['sub'] = sub;
  return { via: 'bearer', sub, claims: own, scopes: scopesOf(claims) };
}

/** `scope` is a space-separated string (RFC 9068, RFC 7662); some IdPs send `scp` as a list. */
function scopesOf(claims: Record<string, unknown>): string[] {
  const scope = claims['scope'];
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  const scp = claims['scp'];
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === 'string');
  if (typeof scp === 'string') return scp.split(' ').filter(Boolean);
  return [];
}

/** The answer was judged against one issuer and audience: a configuration with others must ask again. */
async function cacheKey(issuer: string, audience: string, token: string): Promise<string> {
  const input = utf8.encode(`${issuer}\n${audience}\n${token}`);
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', input)));
}

function remember(key: string, entry: Introspected): void {
  if (introspected.size >= INTROSPECTION_CACHE_MAX) {
    // Maps iterate in insertion order: drop the oldest entry.
    const oldest = introspected.keys().next().value;
    if (oldest !== undefined) introspected.delete(oldest);
  }
  introspected.set(key, entry);
}

/** RFC 6750 3: the challenge names the error so clients can tell "get a new token" from "go away". */
export function invalidToken(description: string, detail?: string): GatewayError {
  return new GatewayError('invalid_token', description.charAt(0).toUpperCase() + description.slice(1) + '.', {
    headers: { 'www-authenticate': `Bearer realm="edgegate", error="invalid_token", error_description="${description}"` },
    ...(detail ? { detail } : {}),
  });
}

/** Reads `Authorization: Bearer <token>` (RFC 6750 2.1); null when the header is absent or another scheme. */
export function bearerToken(request: Request): string | null | undefined {
  const header = request.headers.get('authorization');
  if (!header) return null;
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  if (match) return match[1]!;
  // A Bearer header that does not parse is a bad token, not "no token".
  return /^bearer\b/i.test(header.trim()) ? undefined : null;
}
