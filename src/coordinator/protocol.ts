/**
 * What the Worker and a session's coordinator object (object.ts) say to each other: plain,
 * structured-clonable data over Durable Object RPC. Every time is the calling Worker's clock in epoch
 * seconds (`now`), so the object never compares its own clock with the session's.
 *
 * Identifiers never travel in the clear: the object is named after a hash of the session id, and it
 * knows refresh tokens only as hashes (`rt`, `next`). The one secret-bearing value it ever holds is
 * `sealed`, the session exactly as stored in KV: AES-GCM under a key derived from SESSION_SECRET and
 * the cookie's per-session secret, neither of which the object has.
 */

/** Asked when the session's tokens are due: "may I redeem the refresh token whose hash is `rt`?" */
export interface RefreshAsk {
  rt: string;
  now: number;
  /** How long the caller may take (IdP calls included) before others stop waiting for it. */
  leaseMs: number;
  /** The session's absolute end (SESSION_MAX_TTL): the object forgets everything then. */
  expiresAt: number;
}

export interface IdpFailure {
  code: string;
  message: string;
  detail?: string;
}

export type RefreshAnswer =
  /** You are the one: redeem it, then `complete` (or `fail`) with this lease. */
  | { kind: 'lease'; lease: string }
  /** Already redeemed (by you elsewhere, or just now by another caller): here is the result. */
  | { kind: 'rotated'; sealed: string }
  /** Already redeemed, but longer ago than the grace window: the result is in KV by now. */
  | { kind: 'stale' }
  | { kind: 'revoked' }
  /** The last attempt failed transiently moments ago: do not hammer the IdP; serve within grace. */
  | { kind: 'unavailable'; error: IdpFailure };

export interface CompleteAsk {
  lease: string;
  /** Hash of the refresh token that was redeemed. */
  rt: string;
  /** Hash of the refresh token the session holds now (the same when the IdP does not rotate). */
  next: string;
  /** The refreshed session as written to KV (sealed; opaque to the object). */
  sealed: string;
  now: number;
  expiresAt: number;
}

export type CompleteAnswer =
  | { kind: 'ok' }
  /** Revoked while the caller was at the IdP: the caller must undo its KV write. */
  | { kind: 'revoked' }
  /** The lease ran out and another caller holds the next one. */
  | { kind: 'superseded' };

export interface FailAsk {
  lease: string;
  now: number;
  error: IdpFailure;
  /** Seconds during which callers get this failure instead of a new lease. */
  retryAfter: number;
}

export interface RevokeAsk {
  now: number;
  /** Kept until then: no copy of the session can be used after its absolute end. */
  expiresAt: number;
  reason: string;
}

export interface CheckAnswer {
  revoked: boolean;
}
