import type { Session } from '../session/model';


/**
 * What the Worker and the COORDINATOR's objects say to each other: plain, structured-clonable data over
 * Durable Object RPC. Times are the calling Worker's clock in epoch seconds (`now`), except lease
 * lengths, which the object measures in its own real time.
 *
 * Two kinds of object share the class, by name:
 * - a session's object (`session/<hash of the session id>`): the one writer of that session's record in
 *   coordinated mode — it redeems the refresh token itself, writes touches, and ends the session; it
 *   remembers the end until the session's absolute end, so no copy anywhere can be written back;
 * - an index object (`index/<keyed hash of issuer, kind, value>`): the sessions of one IdP session
 *   (`sid`), one user (`sub`) or one verified email, for logout initiated by the IdP. One object per
 *   value, so a user's sessions are one small list and an IdP's logout burst spreads over many objects;
 * - a proof object (`dpop/<hash of a DPoP key's thumbprint>`): the DPoP proofs that one client key had
 *   accepted on `api` rules within their window (RFC 9449 11.1), so a proof is accepted once at every
 *   location. One object per key: one client's proofs meet in one object, different clients spread out.
 *
 * The session's per-session secret travels in `handle` for the length of a call (the object seals and
 * opens the record with it, as the Worker does) and is never stored: the object keeps the record only
 * sealed, exactly as in KV.
 */

/**
 * Workers RPC clones only plain objects; claims built without a prototype (session/model.ts) are not
 * plain. A session crosses as its JSON copy, exactly what KV would hold.
 */
export function onTheWire(session: Session): Session {
  return JSON.parse(JSON.stringify(session)) as Session;
}

export interface SessionRef {
  id: string;
  /** The per-session secret from the cookie. */
  secret: string;
}

/** "These tokens are due: renew them (or hand me whoever already did)." */
export interface RefreshAsk {
  handle: SessionRef;
  /** The copy the caller holds (from its cache or its location's KV). */
  session: Session;
  now: number;
  /** How long a redemption may take (IdP calls included) before a restarted object stops waiting for it. */
  leaseMs: number;
  /** The caller's settings (config/index.ts settingsOf): the object redeems with exactly its configuration. */
  settings: Record<string, unknown>;
}

export interface IdpFailure {
  code: string;
  message: string;
  detail?: string;
}

export type RefreshAnswer =
  /** `shared`: another request had renewed it already. */
  | { kind: 'fresh'; session: Session; shared: boolean }
  | { kind: 'ended'; reason: string }
  /** The IdP could not be reached (now, or moments ago): serve within IDP_OUTAGE_GRACE, retry later. */
  | { kind: 'unavailable'; error: IdpFailure };

/** A touch (the idle timeout moves): written unless the session ended or was renewed since the caller read it. */
export interface SaveAsk {
  id: string;
  /** The record, sealed by the caller exactly as stored. */
  sealed: string;
  /** Seconds the record may live (idle timeout or absolute end). */
  ttl: number;
  /** When the caller's copy got its tokens: older than the object's last refresh = stale, not written. */
  tokensAt: number;
  expiresAt: number;
}

export type SaveAnswer = { kind: 'saved' } | { kind: 'ended' } | { kind: 'stale' };

export interface EndAsk {
  id: string;
  /** The session's absolute end: the object remembers the end (and KV keeps the tombstone) until then. */
  until: number;
  now: number;
  reason: string;
}

export interface CheckAnswer {
  revoked: boolean;
}

/** One entry of an index object: a session, sealed with the index key (session/index-store.ts). */
export interface IndexEntryAsk {
  name: string;
  sealed: string;
  /** Epoch seconds; the entry is dropped then. */
  expiresAt: number;
}

/** "Record this DPoP proof until `until`; was it already there?" One atomic step in the proof object. */
export interface ProofAsk {
  /** A hash of the key's thumbprint and the proof's `jti` (routes/dpop-replay.ts): fixed length, whatever the client sent. */
  id: string;
  /** Epoch seconds: the proof is too old to be accepted anyway after this (its `iat` + PROOF_MAX_AGE + CLOCK_SKEW). */
  until: number;
  now: number;
}

export interface ProofAnswer {
  /** The proof was recorded before and is still within its window: a replay. */
  replayed: boolean;
}
