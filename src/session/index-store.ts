import { open, seal } from '../crypto/aead';
import { toBase64Url, utf8 } from '../crypto/encoding';
import { GatewayError } from '../http/errors';

/**
 * Which sessions belong to an IdP session (`sid`), a user (`sub`) or a verified email address, for logout
 * initiated by the IdP (Back-Channel Logout 2.7, Front-Channel Logout 3) and by Shared Signals events
 * (routes/ssf.ts). Lives in the same KV namespace as the sessions.
 *
 * One KV key per (session, sid) and per (session, sub) — `idx:sid:<H(iss, sid)>:<H(session id)>` —
 * so sign-ins never read-modify-write a shared list (KV has no transactions) and a lookup is one
 * prefix `list`. H is HMAC-SHA-256 under a key derived from SESSION_SECRET: a KV dump shows neither
 * user ids nor IdP session ids, and cannot link an entry to its `session:<id>` key. The session id
 * itself (with its sub and sid) travels AES-GCM-sealed in the key's metadata, which `list` returns
 * without extra reads.
 *
 * KV limits apply: `list` is eventually consistent (about 60 s), so a logout arriving within a minute
 * of a sign-in at another location may not find that session yet (docs/sessions.md "Logout from the IdP").
 */
export interface IndexEntry {
  iss: string;
  sub: string;
  sid: string | undefined;
  /** Only a verified address (`email_verified: true`), lower-cased: an unverified one names nobody. */
  email?: string | undefined;
}

/** KV rejects expirations less than 60 s away. */
const KV_MIN_TTL = 60;
/** KV `list` returns at most 1000 keys a page; a user with more sessions than this is not real. */
const MAX_PAGES = 10;
const DOMAIN = 'edgegate/index/v1';

interface Keys {
  hmac: CryptoKey;
  seal: CryptoKey;
}

const derived = new WeakMap<Uint8Array, Promise<Keys>>();

function keysFor(secret: Uint8Array): Promise<Keys> {
  let keys = derived.get(secret);
  if (!keys) {
    keys = (async () => {
      const ikm = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
      const params = (info: string) => ({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8.encode(`${DOMAIN}/${info}`) });
      const [hmac, sealKey] = await Promise.all([
        crypto.subtle.deriveKey(params('hmac'), ikm, { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign']),
        crypto.subtle.deriveKey(params('seal'), ikm, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
      ]);
      return { hmac, seal: sealKey };
    })();
    derived.set(secret, keys);
  }
  return keys;
}

async function mac(key: CryptoKey, ...parts: string[]): Promise<string> {
  // Length-prefixed, so ("ab", "c") and ("a", "bc") never collide.
  const input = parts.map((p) => `${p.length}:${p}`).join('|');
  return toBase64Url(new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8.encode(input))));
}

type Kind = 'sid' | 'sub' | 'email';

/**
 * Where index entries live: KV here (one key per entry, found by prefix `list`), or the COORDINATOR's
 * index objects (lifecycle/coordinated.ts: one object per prefix, strongly consistent). An entry's
 * `prefix` names the IdP session, user or address; `name` = prefix + keyed hash of the session id.
 */
export interface IndexBackend {
  put(prefix: string, name: string, sealed: string, expiresAt: number, now: number): Promise<void>;
  list(prefix: string, now: number): Promise<{ name: string; sealed: string }[]>;
  delete(prefix: string, names: string[]): Promise<void>;
}

export class KvIndexBackend implements IndexBackend {
  constructor(private readonly kv: KVNamespace) {}

  async put(_prefix: string, name: string, sealed: string, expiresAt: number, now: number): Promise<void> {
    try {
      await this.kv.put(name, '', { expirationTtl: Math.max(KV_MIN_TTL, expiresAt - now), metadata: { s: sealed } });
    } catch (error) {
      throw indexError(error, 'write');
    }
  }

  async list(prefix: string): Promise<{ name: string; sealed: string }[]> {
    const found: { name: string; sealed: string }[] = [];
    try {
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const result = await this.kv.list<{ s?: unknown }>({ prefix, ...(cursor ? { cursor } : {}) });
        for (const key of result.keys) {
          const sealed = key.metadata?.s;
          if (typeof sealed === 'string') found.push({ name: key.name, sealed });
        }
        if (result.list_complete) break;
        cursor = result.cursor;
      }
    } catch (error) {
      throw indexError(error, 'list');
    }
    return found;
  }

  async delete(_prefix: string, names: string[]): Promise<void> {
    try {
      await Promise.all(names.map((name) => this.kv.delete(name)));
    } catch (error) {
      throw indexError(error, 'delete');
    }
  }
}

export class SessionIndex {
  constructor(
    private readonly backend: IndexBackend,
    /** First writes, all are searched (SESSION_SECRET rotation). */
    private readonly secrets: Uint8Array[],
  ) {}

  /** Records a new session under its `sid` (when the IdP sent one) and its `sub`, until it expires. */
  async add(sessionId: string, entry: IndexEntry, expiresAt: number, now: number): Promise<void> {
    const keys = await keysFor(this.secrets[0]!);
    const writes = this.kinds(entry).map(async ([kind, value]) => {
      const prefix = await this.prefix(keys, kind, entry.iss, value);
      const name = prefix + (await mac(keys.hmac, 'session', sessionId));
      const record: IndexRecord = {
        id: sessionId,
        sub: entry.sub,
        ...(entry.sid === undefined ? {} : { sid: entry.sid }),
        ...(entry.email === undefined ? {} : { email: entry.email }),
      };
      const sealed = await seal(keys.seal, JSON.stringify(record), name);
      await this.backend.put(prefix, name, sealed, expiresAt, now);
    });
    try {
      await Promise.all(writes);
    } catch (error) {
      throw indexError(error, 'write');
    }
  }

  /** Forgets a session that ended (best effort: entries also expire with the session). */
  async remove(sessionId: string, entry: IndexEntry): Promise<void> {
    const deletes: Promise<void>[] = [];
    for (const secret of this.secrets) {
      const keys = await keysFor(secret);
      for (const [kind, value] of this.kinds(entry)) {
        deletes.push(
          (async () => {
            const prefix = await this.prefix(keys, kind, entry.iss, value);
            await this.backend.delete(prefix, [prefix + (await mac(keys.hmac, 'session', sessionId))]);
          })(),
        );
      }
    }
    try {
      await Promise.all(deletes);
    } catch (error) {
      throw indexError(error, 'delete');
    }
  }

  /** Sessions recorded for this IdP session. */
  bySid(iss: string, sid: string): Promise<IndexRecord[]> {
    return this.find('sid', iss, sid);
  }

  /** Sessions recorded for this user. */
  bySub(iss: string, sub: string): Promise<IndexRecord[]> {
    return this.find('sub', iss, sub);
  }

  /** Sessions recorded for this verified email address (compared lower-cased). */
  byEmail(iss: string, email: string): Promise<IndexRecord[]> {
    return this.find('email', iss, email.toLowerCase());
  }

  private kinds(entry: IndexEntry): [Kind, string][] {
    const kinds: [Kind, string][] = [['sub', entry.sub]];
    if (entry.sid !== undefined) kinds.push(['sid', entry.sid]);
    if (entry.email !== undefined) kinds.push(['email', entry.email]);
    return kinds;
  }

  private async prefix(keys: Keys, kind: Kind, iss: string, value: string): Promise<string> {
    return `idx:${kind}:${await mac(keys.hmac, kind, iss, value)}:`;
  }

  private async find(kind: Kind, iss: string, value: string): Promise<IndexRecord[]> {
    const found = new Map<string, IndexRecord>();
    const now = Math.floor(Date.now() / 1000);
    try {
      for (const secret of this.secrets) {
        const keys = await keysFor(secret);
        const prefix = await this.prefix(keys, kind, iss, value);
        for (const entry of await this.backend.list(prefix, now)) {
          const record = parseRecord(await open(keys.seal, entry.sealed, entry.name));
          if (record) found.set(record.id, record);
        }
      }
    } catch (error) {
      throw indexError(error, 'list');
    }
    return [...found.values()];
  }
}

/** What an index entry holds, sealed: enough to end the session and to forget its other entries. */
export interface IndexRecord {
  id: string;
  sub: string;
  sid?: string;
  email?: string;
}

function parseRecord(plaintext: string | null): IndexRecord | null {
  if (plaintext === null) return null;
  try {
    const record = JSON.parse(plaintext) as Partial<IndexRecord>;
    if (typeof record.id !== 'string' || typeof record.sub !== 'string') return null;
    if (record.sid !== undefined && typeof record.sid !== 'string') return null;
    if (record.email !== undefined && typeof record.email !== 'string') return null;
    return record as IndexRecord;
  } catch {
    return null;
  }
}

/**
 * `jti`s of logout tokens already acted on, kept while the token could still be presented
 * (Back-Channel Logout 2.6 step 7). KV is eventually consistent, so an in-isolate set catches the
 * immediate replays that KV alone might not see yet.
 */
export class ReplayGuard {
  private readonly recent = new Map<string, number>();

  constructor(private readonly kv: KVNamespace) {}

  async seen(iss: string, jti: string, now: number): Promise<boolean> {
    const name = await this.key(iss, jti);
    const local = this.recent.get(name);
    if (local !== undefined && local > now) return true;
    try {
      return (await this.kv.get(name)) !== null;
    } catch (error) {
      throw indexError(error, 'read');
    }
  }

  async remember(iss: string, jti: string, until: number, now: number): Promise<void> {
    const name = await this.key(iss, jti);
    this.recent.set(name, until);
    for (const [key, expiry] of this.recent) if (expiry <= now) this.recent.delete(key);
    try {
      await this.kv.put(name, '1', { expirationTtl: Math.max(KV_MIN_TTL, until - now) });
    } catch (error) {
      throw indexError(error, 'write');
    }
  }

  /** A plain hash: a `jti` is a random value that reveals nothing, and this survives secret rotation. */
  private async key(iss: string, jti: string): Promise<string> {
    const digest = await crypto.subtle.digest('SHA-256', utf8.encode(`${iss.length}:${iss}|${jti}`));
    return `jti:${toBase64Url(new Uint8Array(digest))}`;
  }
}

const indexes = new WeakMap<KVNamespace, { secrets: Uint8Array[]; index: SessionIndex; replay: ReplayGuard }>();

/** One index and replay guard per configuration (the config is parsed once per isolate). */
export function sessionIndex(kv: KVNamespace, secrets: Uint8Array[]): { index: SessionIndex; replay: ReplayGuard } {
  let entry = indexes.get(kv);
  if (!entry || entry.secrets !== secrets) {
    entry = { secrets, index: new SessionIndex(new KvIndexBackend(kv), secrets), replay: new ReplayGuard(kv) };
    indexes.set(kv, entry);
  }
  return entry;
}

function indexError(error: unknown, op: string): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError('session_store_unavailable', 'Sessions cannot be read right now. Please try again shortly.', {
    detail: `KV session index ${op} failed: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`,
    cause: error,
  });
}
