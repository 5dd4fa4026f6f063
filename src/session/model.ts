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
  /** The IdP's session id (`sid`), for logout by session. */
  sid: string | undefined;
  createdAt: number;
  /** Idle timeout counts from here; moved forward at most every TOUCH_INTERVAL (KV write cost). */
  lastSeenAt: number;
  /** Absolute end, never extended. */
  expiresAt: number;
}

/** Claims about the token rather than the user: kept out of the session and the upstream headers. */
const PROTOCOL_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'nonce', 'at_hash', 'c_hash', 's_hash', 'azp', 'sid', 'auth_time', 'acr', 'amr', 'typ', 'cnf']);

export function identityClaims(idTokenClaims: Record<string, unknown>, userinfo?: Record<string, unknown>): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(idTokenClaims)) {
    if (!PROTOCOL_CLAIMS.has(name)) claims[name] = value;
  }
  // UserInfo is fresher for profile data; `sub` was already checked to be equal.
  for (const [name, value] of Object.entries(userinfo ?? {})) {
    if (!PROTOCOL_CLAIMS.has(name)) claims[name] = value;
  }
  // Kept because policies (step-up) and logout need them.
  for (const name of ['acr', 'amr', 'auth_time'] as const) {
    if (idTokenClaims[name] !== undefined) claims[name] = idTokenClaims[name];
  }
  return claims;
}

export function isExpired(session: Session, idleTtl: number, now: number): boolean {
  return now >= session.expiresAt || now >= session.lastSeenAt + idleTtl;
}
