import { deriveKey, open, seal } from '../crypto/aead';
import { fromBase64Url, randomToken, timingSafeEqual } from '../crypto/encoding';
import { GatewayError } from '../http/errors';
import { holdWhileRunning, joinWithin } from '../http/join';
import type { Session } from './model';

/**
 * Sessions in Workers KV, encrypted. The cookie carries `<id>.<secret>`; KV holds only the
 * ciphertext under `session:<id>`. The AES-GCM key is derived from SESSION_SECRET *and* the
 * per-session secret, so a KV dump alone decrypts nothing and a leaked SESSION_SECRET alone
 * decrypts nothing either (oauth2-proxy's ticket design).
 */
export interface SessionHandle {
  id: string;
  /** The per-session secret from the cookie. */
  secret: string;
}

export interface LoadedSession {
  handle: SessionHandle;
  session: Session;
}

/**
 * Where sessions live, as the lifecycle sees it (oauth2-proxy's SessionStore: a few methods, one
 * behaviour suite — test/session/store-behaviour.ts — that every implementation passes).
 *
 * The promise every implementation keeps: once `end` ran, no `load` opens the session again and no
 * `save` writes it back (within the store's propagation bound), whoever calls and whatever copy they hold.
 */
export interface SessionStore {
  newHandle(): SessionHandle;
  /** The session, or null when it is absent, does not open with this handle, or has ended. May be the isolate's copy. */
  load(handle: SessionHandle): Promise<Session | null>;
  /** As `load`, but from the store itself, never the isolate's copy. */
  loadFresh(handle: SessionHandle): Promise<Session | null>;
  /** Stores a session that was just created (a new handle: nothing can have ended it). Returns it sealed. */
  create(handle: SessionHandle, session: Session, idleTtl: number, now: number): Promise<string>;
  /**
   * Writes a changed session back, unless it has ended (or, where the store can tell, a newer copy was
   * written since this one was read): then nothing is written and the answer is false.
   */
  save(handle: SessionHandle, session: Session, idleTtl: number, now: number): Promise<boolean>;
  /** Ends the session for good: never loaded or saved again before `until` (its absolute end). */
  end(id: string, until: number, now: number, reason?: string): Promise<void>;
  /** Whether the session was ended (as far as this store can see now). */
  ended(id: string): Promise<boolean>;
  /** Opens a sealed session (as stored) with the cookie's secret; null if it does not open. */
  unseal(handle: SessionHandle, sealed: string): Promise<Session | null>;
  /** The session encrypted exactly as it is stored. */
  seal(handle: SessionHandle, session: Session): Promise<string>;
  /** Takes a session written elsewhere (handed on by the coordinator) into this isolate's copy. */
  adopt(handle: SessionHandle, session: Session): void;
  /** Drops this isolate's copy only. */
  forget(id: string): void;
}

const ID_BYTES = 16;
const SECRET_BYTES = 32;
/**
 * `<id>.<secret>`: 16 and 32 random bytes in canonical base64url. The last character carries the
 * final bits plus zero padding bits, so only some letters are canonical there ([AQgw] after 2 bits,
 * [AEIMQUYcgkosw048] after 4): checking that here keeps other spellings of the same bytes out
 * without decoding on every request.
 */
const COOKIE_VALUE = /^([A-Za-z0-9_-]{21}[AQgw])\.([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;
/** KV rejects expirations less than 60 s away. */
const KV_MIN_TTL = 60;

export function parseSessionCookie(value: string | undefined): SessionHandle | null {
  if (!value) return null;
  const match = COOKIE_VALUE.exec(value);
  return match ? { id: match[1]!, secret: match[2]! } : null;
}

export function sessionCookieValue(handle: SessionHandle): string {
  return `${handle.id}.${handle.secret}`;
}

function kvKey(id: string): string {
  return `session:${id}`;
}

/**
 * The mark of an ended session, under its own key: nobody but `end` writes it and nothing deletes it
 * (it expires with the session's absolute end), so a stale copy written back by another isolate or
 * location (KV is last-write-wins) can re-create `session:<id>` but never make it load again.
 */
export function tombstoneKey(id: string): string {
  return `ended:${id}`;
}

async function sessionKey(serverSecret: Uint8Array, handle: SessionHandle): Promise<CryptoKey> {
  const perSession = fromBase64Url(handle.secret)!;
  const ikm = new Uint8Array(serverSecret.length + perSession.length);
  ikm.set(serverSecret, 0);
  ikm.set(perSession, serverSecret.length);
  return deriveKey(ikm, new Uint8Array(0), `edgegate/session/v1/${handle.id}`);
}

/** Bounds the isolate cache by count: sessions are ~2 KB sealed, so 1000 entries hold ~2 MB. */
const CACHE_MAX_ENTRIES = 1000;
/**
 * …and by size: a session larger than this (sealed; an IdP's claims are not capped) is not kept
 * decrypted, it is read from KV each time. So the cache holds at most 1000 × 16 KiB ≈ 16 MB of
 * sessions whatever the IdP sends, well inside an isolate's 128 MB.
 */
const CACHE_MAX_ENTRY_BYTES = 16 * 1024;

interface CacheEntry {
  secret: string;
  session: Session;
  /** Epoch milliseconds after which KV is read again. */
  until: number;
}

/** Another request's read of the same session is waited for no longer than this; then this one reads for itself. */
const JOIN_READ_MS = 5000;

/** The KV-only store: sessions and their tombstones in KV, every write by whoever holds the session. */
export class KvSessionStore implements SessionStore {
  /**
   * Decrypted sessions of this isolate, for `cacheTtl` seconds: a signed-in user's next requests
   * cost no KV read, key derivation or decryption. Keyed by id, and a hit also needs the cookie's
   * secret, so the cache never opens a session the secret would not. Changes made in this isolate
   * (refresh, touch, logout) update it at once; changes made elsewhere are seen after `cacheTtl`.
   */
  private readonly cache = new Map<string, CacheEntry>();
  /** Sealed sizes of sessions just read or written, for the cache's size bound (`remember`). */
  private readonly sizes = new WeakMap<Session, number>();
  /**
   * Sessions this isolate ended, until their tombstone expires: KV may still serve this isolate the old
   * value for a while (its read cache), but this isolate knows better at once.
   */
  private readonly endedHere = new Map<string, number>();
  /**
   * Reads in flight, by session id, with the cookie secret they were started for: the parallel
   * requests of a page whose session is not cached (the cache expired, a fresh isolate) share one KV
   * read and one decryption. Only a request with the same secret joins, as only it may open the
   * session from the cache. Entries live while their read runs.
   */
  private readonly reading = new Map<string, { secret: string; read: Promise<Session | null> }>();

  constructor(
    private readonly kv: KVNamespace,
    /** First encrypts, all decrypt. */
    private readonly secrets: Uint8Array[],
    /** Seconds a decrypted session is reused without reading KV; 0 disables the cache. */
    private readonly cacheTtl = 0,
  ) {}

  newHandle(): SessionHandle {
    return { id: randomToken(ID_BYTES), secret: randomToken(SECRET_BYTES) };
  }

  async load(handle: SessionHandle): Promise<Session | null> {
    if (this.endedLocally(handle.id)) return null;
    const cached = this.cache.get(handle.id);
    if (cached) {
      // A wrong secret must not evict the entry: knowing an id would otherwise let anyone flush it.
      if (cached.until <= Date.now()) this.cache.delete(handle.id);
      else if (timingSafeEqual(cached.secret, handle.secret)) return cached.session;
    }
    const running = this.reading.get(handle.id);
    let session: Session | null;
    if (running && timingSafeEqual(running.secret, handle.secret)) {
      session = await joinWithin(running.read, JOIN_READ_MS, () => this.readAndRemember(handle));
    } else {
      const read = this.readAndRemember(handle);
      // A request with another secret reads alone: it neither joins nor displaces the read in flight.
      if (!running && this.cacheTtl > 0) holdWhileRunning(this.reading, handle.id, { secret: handle.secret, read }, read);
      session = await read;
    }
    // Ended here while it was being read: the copy read before that is not served.
    return session && !this.endedLocally(handle.id) ? session : null;
  }

  private async readAndRemember(handle: SessionHandle): Promise<Session | null> {
    const session = await this.read(handle);
    if (session) this.remember(handle, session);
    return session;
  }

  /** Reads KV even when this isolate holds a copy (another isolate or location may have changed it). */
  async loadFresh(handle: SessionHandle): Promise<Session | null> {
    const session = await this.read(handle);
    if (session) this.remember(handle, session);
    else this.cache.delete(handle.id);
    return session;
  }

  private async read(handle: SessionHandle): Promise<Session | null> {
    if (this.endedLocally(handle.id)) return null;
    let sealed: string | null;
    let tombstone: string | null;
    try {
      // Both in one bulk read (KV `get` with a list of keys: one operation, one round trip): the
      // tombstone costs no extra latency or subrequest, and a session re-created by a stale write stays ended.
      const key = kvKey(handle.id);
      const ended = tombstoneKey(handle.id);
      const values = await this.kv.get([key, ended], 'text');
      sealed = values.get(key) ?? null;
      tombstone = values.get(ended) ?? null;
    } catch (error) {
      throw storeError(error, 'read');
    }
    if (sealed === null || tombstone !== null) return null;
    const session = await this.unseal(handle, sealed);
    if (session) this.sizes.set(session, sealed.length);
    return session;
  }

  async ended(id: string): Promise<boolean> {
    if (this.endedLocally(id)) return true;
    try {
      return (await this.kv.get(tombstoneKey(id), 'text')) !== null;
    } catch (error) {
      throw storeError(error, 'read');
    }
  }

  private endedLocally(id: string): boolean {
    const until = this.endedHere.get(id);
    if (until === undefined) return false;
    if (until * 1000 > Date.now()) return true;
    this.endedHere.delete(id);
    return false;
  }

  /** Opens a sealed session (as written to KV) with the cookie's secret; null if it does not open. */
  async unseal(handle: SessionHandle, sealed: string): Promise<Session | null> {
    for (const secret of this.secrets) {
      const plaintext = await open(await sessionKey(secret, handle), sealed, kvKey(handle.id));
      if (plaintext === null) continue;
      try {
        const session = JSON.parse(plaintext) as Session;
        return session.v === 1 ? session : null;
      } catch {
        return null;
      }
    }
    return null;
  }

  async create(handle: SessionHandle, session: Session, idleTtl: number, now: number): Promise<string> {
    return this.write(handle, session, idleTtl, now);
  }

  /**
   * Writes only a session that has not ended — as far as this location can see: a location whose KV
   * has not caught up with the tombstone yet may still write, but the tombstone keeps that copy from
   * ever loading (docs/sessions.md "When a session ends").
   */
  async save(handle: SessionHandle, session: Session, idleTtl: number, now: number): Promise<boolean> {
    if (await this.ended(handle.id)) {
      this.cache.delete(handle.id);
      return false;
    }
    await this.write(handle, session, idleTtl, now);
    return true;
  }

  /** The raw write, shared with the coordinator (which checks "ended" itself). Returns what it stored. */
  async write(handle: SessionHandle, session: Session, idleTtl: number, now: number): Promise<string> {
    const sealed = await this.seal(handle, session);
    await this.writeSealed(handle.id, sealed, sessionTtl(session, idleTtl, now));
    this.sizes.set(session, sealed.length);
    this.remember(handle, session);
    return sealed;
  }

  async writeSealed(id: string, sealed: string, ttl: number): Promise<void> {
    try {
      await this.kv.put(kvKey(id), sealed, { expirationTtl: Math.max(KV_MIN_TTL, ttl) });
    } catch (error) {
      this.cache.delete(id);
      throw storeError(error, 'write');
    }
  }

  /** The session encrypted exactly as `save` stores it (first secret, bound to its KV key). */
  async seal(handle: SessionHandle, session: Session): Promise<string> {
    return seal(await sessionKey(this.secrets[0]!, handle), JSON.stringify(session), kvKey(handle.id));
  }

  /** Takes a session another isolate wrote (handed on by the refresh coordinator) into this isolate's cache. */
  adopt(handle: SessionHandle, session: Session): void {
    this.remember(handle, session);
  }

  /** Drops this isolate's copy only (the session was ended elsewhere). */
  forget(id: string): void {
    this.cache.delete(id);
  }

  private remember(handle: SessionHandle, session: Session): void {
    if (this.cacheTtl <= 0) return;
    this.cache.delete(handle.id);
    // A session handed on by the coordinator was not sealed here: its JSON length stands in (sealed ≈ 4/3 of it).
    const size = this.sizes.get(session) ?? Math.ceil((JSON.stringify(session).length * 4) / 3);
    if (size > CACHE_MAX_ENTRY_BYTES) return;
    if (this.cache.size >= CACHE_MAX_ENTRIES) {
      // Maps iterate in insertion order, so the first key is the least recently stored.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    // Frozen: callers share this object, so an accidental in-place change must fail, not leak across requests.
    this.cache.set(handle.id, { secret: handle.secret, session: Object.freeze(session), until: Date.now() + this.cacheTtl * 1000 });
  }

  /** For tests and the benchmark: how many sessions this isolate holds decrypted. */
  get cachedSessions(): number {
    return this.cache.size;
  }

  /**
   * Ends a session known only by its id (logout from the IdP finds ids, never per-session secrets):
   * the tombstone first, so that there is no moment when neither it nor the deletion holds.
   */
  async end(id: string, until: number, now: number): Promise<void> {
    this.cache.delete(id);
    this.endedHere.delete(id);
    if (this.endedHere.size >= CACHE_MAX_ENTRIES) {
      const oldest = this.endedHere.keys().next().value;
      if (oldest !== undefined) this.endedHere.delete(oldest);
    }
    this.endedHere.set(id, until);
    try {
      await this.kv.put(tombstoneKey(id), '1', { expirationTtl: Math.max(KV_MIN_TTL, until - now + TOMBSTONE_SLACK) });
      await this.kv.delete(kvKey(id));
    } catch (error) {
      throw storeError(error, 'delete');
    }
  }
}

/**
 * A tombstone outlives its session by this much: clocks of other isolates may run a little behind, and
 * a copy must not outlast the mark that keeps it closed.
 */
const TOMBSTONE_SLACK = 300;

/** Seconds a stored session may live: to its idle timeout or its absolute end, whichever is first. */
export function sessionTtl(session: Session, idleTtl: number, now: number): number {
  return Math.min(session.expiresAt, session.lastSeenAt + idleTtl) - now;
}

function storeError(error: unknown, op: string): GatewayError {
  return new GatewayError('session_store_unavailable', 'Sessions cannot be read right now. Please try again shortly.', {
    detail: `KV ${op} failed: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`,
    cause: error,
  });
}

