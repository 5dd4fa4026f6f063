import { open, purposeKey, seal } from '../crypto/aead';
import { timingSafeEqual, toBase64Url } from '../crypto/encoding';
import { serializeCookie, deleteCookie } from '../http/cookies';
import { GatewayError } from '../http/errors';
import { RESUME_COOKIE, TX_COOKIE_PREFIX, txCookieName, type CookieMode } from './cookie-names';

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
  /**
   * A `prompt=none` attempt after a session ended. Its `login_required` (and the like) falls back to
   * one interactive sign-in, which never carries this mark: at most two trips to the IdP, no loop.
   */
  silent?: true;
  /** From `/_auth/login?login_hint=…`; kept for the interactive fallback of a silent attempt. */
  loginHint?: string;
  /**
   * The IdP this sign-in started at (absent: `default`). Only that IdP's callback path completes it,
   * and only with that IdP's `iss` and token endpoint: RFC 9700 4.4 mix-up defence.
   */
  idp?: string;
}

/**
 * How the transaction cookie travels. `form_post` answers arrive as a cross-site POST from the IdP,
 * which browsers send `SameSite=Lax` cookies with no more: the transaction cookie then needs
 * `SameSite=None` (and so `Secure`). Only this 10-minute, single-use cookie is relaxed; the session
 * cookie stays Lax. Plain-HTTP loopback demos cannot use `None`, and need not: there the IdP and the
 * gateway are the same site.
 */
export interface TxCookieOptions {
  mode: CookieMode;
  crossSitePost: boolean;
}

/** Minutes, not hours: long enough to type a password and do MFA, short enough to bound replays. */
export const TX_TTL = 600;
/** Tabs signing in at once. More would pile up cookies until the site answers 431. */
export const MAX_TX = 3;
const NAME_KEY_LENGTH = 12;

function txKey(secret: Uint8Array): Promise<CryptoKey> {
  return purposeKey(secret, 'edgegate/transaction/v1');
}

function nameFor(mode: CookieMode, state: string): string {
  return txCookieName(mode, state.slice(0, NAME_KEY_LENGTH));
}

function cookieOptions({ mode, crossSitePost }: TxCookieOptions) {
  return { secure: mode.secure, sameSite: crossSitePost && mode.secure ? ('None' as const) : ('Lax' as const), httpOnly: true };
}

export async function transactionCookie(secrets: Uint8Array[], options: TxCookieOptions, tx: Transaction): Promise<string> {
  const name = nameFor(options.mode, tx.state);
  const value = await seal(await txKey(secrets[0]!), JSON.stringify(tx), name);
  return serializeCookie(name, value, { ...cookieOptions(options), maxAge: TX_TTL });
}

export function clearTransactionCookie(options: TxCookieOptions, state: string): string {
  return deleteCookie(nameFor(options.mode, state), cookieOptions(options));
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
export async function pruneTransactions(secrets: Uint8Array[], options: TxCookieOptions, cookies: Map<string, string>): Promise<string[]> {
  const prefix = `${options.mode.prefix}${TX_COOKIE_PREFIX}`;
  const existing: { name: string; createdAt: number }[] = [];
  for (const [name, value] of cookies) {
    if (!name.startsWith(prefix)) continue;
    const tx = await openTransaction(secrets, name, value);
    existing.push({ name, createdAt: tx?.createdAt ?? -1 });
  }
  if (existing.length < MAX_TX) return [];
  existing.sort((a, b) => a.createdAt - b.createdAt);
  return existing.slice(0, existing.length - (MAX_TX - 1)).map(({ name }) => deleteCookie(name, cookieOptions(options)));
}

/**
 * "This browser was signed in here": set with every session, for SESSION_MAX_TTL and a day more. The
 * session cookie lives exactly as long as the session may, so once SESSION_MAX_TTL is over the browser
 * no longer sends it, and without this hint the gateway could not tell an ended session from a first
 * visit — and would skip the silent attempt (docs/protocols.md "Silent re-authentication"). Holds nothing but
 * "1"; a gateway cookie (cookie-names.ts), so it never reaches the upstream. Cleared when it has served.
 */
export const RESUME_HINT_GRACE = 86_400;

function resumeHintName(mode: CookieMode): string {
  return `${mode.prefix}${RESUME_COOKIE}`;
}

export function resumeHintCookie(mode: CookieMode, maxAge: number): string {
  return serializeCookie(resumeHintName(mode), '1', { secure: mode.secure, sameSite: 'Lax', httpOnly: true, maxAge });
}

export function clearResumeHint(mode: CookieMode): string {
  return deleteCookie(resumeHintName(mode), { secure: mode.secure, sameSite: 'Lax', httpOnly: true });
}

export function hasResumeHint(mode: CookieMode, cookies: Map<string, string>): boolean {
  return cookies.get(resumeHintName(mode)) === '1';
}

/** KV key prefix of spent authorization responses (see consumeResponse). */
const SPENT_PREFIX = 'tx-spent:';
/** Spent responses this isolate saw, so a replay here is refused without waiting for KV. Bounded. */
const spentHere = new Map<string, number>();
const SPENT_HERE_MAX = 1000;

/**
 * Marks the authorization response of `state` as used, once, in every response mode. False when it
 * already was: a replayed response (someone re-sending a captured callback URL or `form_post` body
 * together with a captured transaction cookie, or a browser resubmitting the form). RFC 6749 4.1.2
 * makes a code single-use, but not every IdP enforces it (test/attacks/replay-authorization-response),
 * and `id_token` sign-ins have no code at all: this is what makes every sign-in single-use.
 *
 * KV is eventually consistent (~60 s between locations), so a replay sent to another Cloudflare
 * location within that window is not seen here; the transaction cookie it also needs is HttpOnly,
 * Secure and deleted by the first answer. Keys hold a SHA-256 of the state, never the state.
 */
export async function consumeResponse(kv: KVNamespace, state: string, now: number): Promise<boolean> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(state)));
  const key = SPENT_PREFIX + toBase64Url(digest);
  for (const [k, until] of spentHere) {
    if (until > now && spentHere.size < SPENT_HERE_MAX) break;
    spentHere.delete(k);
  }
  if (spentHere.has(key)) return false;
  spentHere.set(key, now + TX_TTL);
  try {
    if ((await kv.get(key)) !== null) return false;
    // KV rejects expirations under 60 s; a transaction lives TX_TTL at most, so can its response.
    await kv.put(key, '1', { expirationTtl: TX_TTL });
  } catch (error) {
    // Unknown whether it was spent: refuse rather than risk accepting a replay.
    throw new GatewayError('session_store_unavailable', 'Sign-in cannot be completed right now. Please try again shortly.', {
      detail: `KV ${error instanceof Error ? error.message.slice(0, 200) : 'failure'} while marking an authorization response spent`,
      cause: error,
    });
  }
  return true;
}
