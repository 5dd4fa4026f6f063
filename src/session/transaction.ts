import { deriveKey, open, seal } from '../crypto/aead';
import { timingSafeEqual } from '../crypto/encoding';
import { serializeCookie, deleteCookie } from '../http/cookies';
import { TX_COOKIE_PREFIX, txCookieName, type CookieMode } from './cookie-names';

/**
 * A sign-in in progress, bound to the browser that started it: an encrypted cookie of its own per
 * sign-in (named after its `state`), so several tabs can sign in at once and a callback carried to
 * another browser finds nothing to complete.
 */
export interface Transaction {
  state: string;
  nonce: string;
  verifier: string;
  /** Same-origin path (+query) to return to. */
  returnTo: string;
  /** Epoch seconds. */
  createdAt: number;
  /** Step-up requirements this sign-in was started for; the callback checks the IdP met them. */
  acr_values?: string[];
  max_age?: number;
}

/** Minutes, not hours: long enough to type a password and do MFA, short enough to bound replays. */
export const TX_TTL = 600;
/** Tabs signing in at once. More would pile up cookies until the site answers 431. */
export const MAX_TX = 3;
const NAME_KEY_LENGTH = 12;

const keys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
function txKey(secret: Uint8Array): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = deriveKey(secret, new Uint8Array(0), 'edgegate/transaction/v1');
    keys.set(secret, key);
  }
  return key;
}

function nameFor(mode: CookieMode, state: string): string {
  return txCookieName(mode, state.slice(0, NAME_KEY_LENGTH));
}

function cookieOptions(mode: CookieMode) {
  return { secure: mode.secure, sameSite: 'Lax' as const, httpOnly: true };
}

export async function transactionCookie(secrets: Uint8Array[], mode: CookieMode, tx: Transaction): Promise<string> {
  const name = nameFor(mode, tx.state);
  const value = await seal(await txKey(secrets[0]!), JSON.stringify(tx), name);
  return serializeCookie(name, value, { ...cookieOptions(mode), maxAge: TX_TTL });
}

export function clearTransactionCookie(mode: CookieMode, state: string): string {
  return deleteCookie(nameFor(mode, state), cookieOptions(mode));
}

async function openTransaction(secrets: Uint8Array[], name: string, value: string): Promise<Transaction | null> {
  for (const secret of secrets) {
    const plaintext = await open(await txKey(secret), value, name);
    if (plaintext === null) continue;
    try {
      const tx = JSON.parse(plaintext) as Transaction;
      if (typeof tx.state === 'string' && typeof tx.nonce === 'string' && typeof tx.verifier === 'string' && typeof tx.returnTo === 'string' && typeof tx.createdAt === 'number') {
        return tx;
      }
    } catch {
      // fall through: not ours
    }
    return null;
  }
  return null;
}

/** The transaction this callback's `state` belongs to, if this browser started it and it is fresh. */
export async function findTransaction(
  secrets: Uint8Array[],
  mode: CookieMode,
  cookies: Map<string, string>,
  state: string,
  now: number,
): Promise<Transaction | null> {
  const name = nameFor(mode, state);
  const value = cookies.get(name);
  if (!value) return null;
  const tx = await openTransaction(secrets, name, value);
  if (!tx || !timingSafeEqual(tx.state, state)) return null;
  if (now - tx.createdAt > TX_TTL || tx.createdAt > now + 60) return null;
  return tx;
}

/**
 * Set-Cookie headers deleting older sign-ins so that, with the one being started, at most MAX_TX
 * remain. Unreadable ones go first, then the oldest.
 */
export async function pruneTransactions(secrets: Uint8Array[], mode: CookieMode, cookies: Map<string, string>): Promise<string[]> {
  const prefix = `${mode.prefix}${TX_COOKIE_PREFIX}`;
  const existing: { name: string; createdAt: number }[] = [];
  for (const [name, value] of cookies) {
    if (!name.startsWith(prefix)) continue;
    const tx = await openTransaction(secrets, name, value);
    existing.push({ name, createdAt: tx?.createdAt ?? -1 });
  }
  if (existing.length < MAX_TX) return [];
  existing.sort((a, b) => a.createdAt - b.createdAt);
  return existing.slice(0, existing.length - (MAX_TX - 1)).map(({ name }) => deleteCookie(name, cookieOptions(mode)));
}
