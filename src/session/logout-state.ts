import { open, purposeKey, seal } from '../crypto/aead';

/**
 * The `state` of an RP-initiated logout request (RP-Initiated Logout 1.0, section 2): the IdP hands it
 * back with the browser at the post-logout redirect URI. It carries where to go afterwards, sealed, so
 * the landing page needs no cookie and nobody can mint a state pointing elsewhere.
 */
export const LOGOUT_STATE_TTL = 600;
const INFO = 'edgegate/logout-state/v1';

interface LogoutState {
  /** Same-origin path, already checked by safeReturnPath. */
  rd: string;
  /** Epoch seconds. */
  at: number;
}

function keyFor(secret: Uint8Array): Promise<CryptoKey> {
  return purposeKey(secret, INFO);
}

export async function createLogoutState(secrets: Uint8Array[], returnTo: string, now: number): Promise<string> {
  const state: LogoutState = { rd: returnTo, at: now };
  return seal(await keyFor(secrets[0]!), JSON.stringify(state), INFO);
}

/** The return path a state carries, or null when it is not ours, altered or older than LOGOUT_STATE_TTL. */
export async function readLogoutState(secrets: Uint8Array[], state: string | null, now: number): Promise<string | null> {
  if (!state || state.length > 4096) return null;
  for (const secret of secrets) {
    const plaintext = await open(await keyFor(secret), state, INFO);
    if (plaintext === null) continue;
    try {
      const parsed = JSON.parse(plaintext) as Partial<LogoutState>;
      if (typeof parsed.rd !== 'string' || typeof parsed.at !== 'number') return null;
      if (now - parsed.at > LOGOUT_STATE_TTL || parsed.at > now + 60) return null;
      return parsed.rd;
    } catch {
      return null;
    }
  }
  return null;
}
