import { decodeJwt } from 'jose';

/** What a signed-in session holds. Stored only encrypted (see store.ts); never sent to the browser. */
export interface Session {
  v: 1;
  sub: string;
  /** Identity claims merged from the ID token and UserInfo; protocol claims (nonce, at_hash…) dropped. */
  claims: Record<string, unknown>;
  idToken: string;
  accessToken: string | undefined;
  refreshToken: string | undefined;
  /** Epoch seconds; undefined when the IdP did not say (no `expires_in`). */
  accessTokenExpiresAt: number | undefined;
  /**
   * The IdP that signed the user in (config/idps.ts); absent in sessions from before several IdPs
   * existed, which are `default`'s. Its tokens are refreshed, revoked and ended there only.
   */
  idp?: string;
  /**
   * OIDC_DPOP: the private key (ES256, with its public half) the session's tokens are bound to at the
   * IdP (RFC 9449; oidc/dpop-client.ts). Absent = Bearer tokens (signed in without OIDC_DPOP). Lives
   * only here, inside the encrypted record: never logged, never forwarded, never sent to the browser.
   */
  dpopKey?: SessionDpopKey;
  /** The IdP's session id (`sid`), for logout by session. */
  sid: string | undefined;
  /**
   * Epoch seconds when the current tokens were obtained (sign-in or last refresh). Absent in sessions
   * written before refresh existed: `createdAt` stands in. Gives the tokens' lifetime, which bounds
   * the refresh margin (see lifecycle/fresh.ts).
   */
  tokensAt?: number;
  createdAt: number;
  /** Idle timeout counts from here; moved forward at most every TOUCH_INTERVAL (KV write cost). */
  lastSeenAt: number;
  /** Absolute end, never extended. */
  expiresAt: number;
}

/** A P-256 private JWK: the members that make the key, nothing else. */
export interface SessionDpopKey {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  d: string;
}

/** Claims about the token rather than the user: kept out of the session and the upstream headers. */
const PROTOCOL_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'nonce', 'at_hash', 'c_hash', 's_hash', 'azp', 'sid', 'auth_time', 'acr', 'amr', 'typ', 'cnf']);

/**
 * Names that are never claims: as a key, `__proto__` would set the prototype of an ordinary object
 * (JSON.parse makes it an own property, but `claims[name] = value` does not), and `constructor` /
 * `prototype` mean something to every JavaScript reader downstream (/_auth/userinfo consumers).
 */
export const NEVER_CLAIMS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function identityClaims(idTokenClaims: Record<string, unknown>, userinfo?: Record<string, unknown>): Record<string, unknown> {
  // No prototype: no claim can be inherited, nor read from Object.prototype (`toString`).
  const claims = Object.create(null) as Record<string, unknown>;
  // UserInfo is fresher for profile data (it overrides); `sub` was already checked to be equal.
  for (const source of [idTokenClaims, userinfo ?? {}]) {
    for (const [name, value] of Object.entries(source)) {
      if (!PROTOCOL_CLAIMS.has(name) && !NEVER_CLAIMS.has(name)) claims[name] = value;
    }
  }
  // Kept because policies (step-up) and logout need them.
  for (const name of ['acr', 'amr', 'auth_time'] as const) {
    if (Object.hasOwn(idTokenClaims, name) && idTokenClaims[name] !== undefined) claims[name] = idTokenClaims[name];
  }
  return claims;
}

export function isExpired(session: Session, idleTtl: number, now: number): boolean {
  return now >= session.expiresAt || now >= session.lastSeenAt + idleTtl;
}

/**
 * When the session's tokens stop being usable: the access token's expiry, else (ID-token-only setups,
 * or an IdP that sends no `expires_in`) the ID token's `exp`. Undefined when neither says.
 */
export function tokenExpiry(session: Session): number | undefined {
  return session.accessTokenExpiresAt ?? idTokenExpiry(session.idToken);
}

/** The `exp` of a stored (already verified) ID token; never used to trust it, only to time a refresh. */
export function idTokenExpiry(idToken: string): number | undefined {
  const exp = unverifiedClaims(idToken)['exp'];
  return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
}

/** Claims of a JWT this gateway verified when it stored it. Empty for anything that does not parse. */
export function unverifiedClaims(jwt: string): Record<string, unknown> {
  try {
    return decodeJwt(jwt) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * When the session's tokens are due for a refresh (epoch seconds; undefined when nothing says when
 * they expire): REFRESH_MARGIN before expiry — or half the tokens' lifetime before it, for IdPs whose
 * tokens live shorter than the margin (otherwise every request would refresh).
 */
export function refreshAt(session: Session, margin: number): number | undefined {
  const expiry = tokenExpiry(session);
  if (expiry === undefined) return undefined;
  const lifetime = expiry - (session.tokensAt ?? session.createdAt);
  return expiry - Math.min(margin, Math.max(0, Math.floor(lifetime / 2)));
}
