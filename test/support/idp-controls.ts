// The test controls of a local IdP with the test-only layer (test/setup/idp-controls.ts): the lifecycle
// IdP, corp and partner. Run inside workerd: fetch only.
import type { CapturedLogoutToken, IdpStats, TokenFault } from '../setup/protocol';

/** The controls of the IdP at `issuer` (its /__test/* endpoints). */
export function idpControlsAt(issuer: string) {
  async function control<T>(path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${issuer}/__test/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${issuer}/__test/${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }
  return {
    stats: () => control<IdpStats>('stats'),
    /** Zeroes the counters, clears the fault, releases held requests, forgets captured logout tokens. */
    reset: () => control<{ ok: true }>('reset', {}),
    /** What the token endpoint does next: down = 503, hang = 504 after `ms`, reset = connection dropped, hold = wait for release. */
    fault: (token: TokenFault, ms = 0) => control<unknown>('fault', { token, ms }),
    held: async () => (await control<{ held: number }>('held')).held,
    release: () => control<{ released: number }>('release', {}),
    /** Lets only the oldest held token request through. */
    releaseOne: () => control<{ released: number }>('release', { count: 1 }),
    /** The back-channel logout requests the IdP made (captured, not sent). */
    logoutTokens: () => control<CapturedLogoutToken[]>('logout-tokens'),
    /** Refresh-token grants the IdP's token endpoint has processed since the last reset. */
    refreshes: async () => (await control<IdpStats>('stats')).token['refresh_token'] ?? 0,
  };
}
