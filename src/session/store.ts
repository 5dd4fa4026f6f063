import { deriveKey, open, seal } from '../crypto/aead';
import { fromBase64Url, randomToken, timingSafeEqual } from '../crypto/encoding';
import { GatewayError } from '../http/errors';
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

async function sessionKey(serverSecret: Uint8Array, handle: SessionHandle): Promise<CryptoKey> {
  const perSession = fromBase64Url(handle.secret)!;
  const ikm = new Uint8Array(serverSecret.length + perSession.length);
  ikm.set(serverSecret, 0);
  ikm.set(perSession, serverSecret.length);
  return deriveKey(ikm, new Uint8Array(0), `edgegate/session/v1/${handle.id}`);
}

/** Bounds the isolate cache: at ~2 KB a session, 1000 entries stay far below an isolate's 128 MB. */
const CACHE_MAX_ENTRIES = 1000;

interface CacheEntry {
  secret: string;
  session: Session;
  /** Epoch milliseconds after which KV is read again. */
  until: number;
}

export class KvSessionStore {
  /**
   * Decrypted sessions of this isolate, for `cacheTtl` seconds: a signed-in user's next requests
   * cost no KV read, key derivation or decryption. Keyed by id, and a hit also needs the cookie's
   * secret, so the cache never opens a session the secret would not. Changes made in this isolate
   * (refresh, touch, logout) update it at once; changes made elsewhere are seen after `cacheTtl`.
   */
  private readonly cache = new Map<string, CacheEntry>();

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
    const cached = this.cache.get(handle.id);
    if (cached) {
      // A wrong secret must not evict the entry: knowing an id would otherwise let anyone flush it.
      if (cached.until <= Date.now()) this.cache.delete(handle.id);
      else if (timingSafeEqual(cached.secret, handle.secret)) return cached.session;
    }
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
    let sealed: string | null;
    try {
      sealed = await this.kv.get(kvKey(handle.id), 'text');
    } catch (error) {
      throw storeError(error, 'read');
    }
    if (sealed === null) return null;
    return this.unseal(handle, sealed);
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

  /** Returns the sealed session it wrote, for the refresh coordinator (src/coordinator) to hand on. */
  async save(handle: SessionHandle, session: Session, idleTtl: number, now: number): Promise<string> {
    const sealed = await this.seal(handle, session);
    const until = Math.min(session.expiresAt, session.lastSeenAt + idleTtl);
    try {
      await this.kv.put(kvKey(handle.id), sealed, { expirationTtl: Math.max(KV_MIN_TTL, until - now) });
    } catch (error) {
      this.cache.delete(handle.id);
      throw storeError(error, 'write');
    }
    this.remember(handle, session);
    return sealed;
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

  async delete(handle: SessionHandle): Promise<void> {
    await this.deleteById(handle.id);
  }

  /** Ends a session known only by its id: logout from the IdP finds ids, never per-session secrets. */
  async deleteById(id: string): Promise<void> {
    this.cache.delete(id);
    try {
      await this.kv.delete(kvKey(id));
    } catch (error) {
      throw storeError(error, 'delete');
    }
  }
}

function storeError(error: unknown, op: string): GatewayError {
  return new GatewayError('session_store_unavailable', 'Sessions cannot be read right now. Please try again shortly.', {
    detail: `KV ${op} failed: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`,
    cause: error,
  });
}

