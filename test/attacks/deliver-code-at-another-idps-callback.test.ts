// Mix-up (RFC 9700 4.4): a sign-in started at one IdP must not be completed by a response that arrives
// at another IdP's redirect URI — the attacker carries a code from IdP A to B's callback (or B's
// state to A's). Refused before any redemption: the code is never sent to either token endpoint.
import { describe, expect, it } from 'vitest';
import { scriptCode, tokenRequestFor } from '../support/flows';
import { CORP, EVIL, PARTNER, callbackFrom, evilIssuer, idpsGateway, startAt } from '../idps/helpers';

function sessionCookies(res: Response): string[] {
  return res.headers.getSetCookie().filter((c) => /^(__Host-)?edgegate=/.test(c) && !/Max-Age=0/i.test(c));
}

describe('a code from one IdP at another IdP’s callback', () => {
  it('a real code from corp, moved to partner’s callback with corp’s state, is refused', async () => {
    const gw = idpsGateway([CORP, PARTNER]);
    const fromCorp = await callbackFrom(await startAt(gw, 'corp'));
    const moved = new URL(`/_auth/callback/partner${fromCorp.search}`, fromCorp);
    const res = await gw.fetch(moved.href, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('signin_state_invalid');
    expect(sessionCookies(res)).toEqual([]);
  });

  it('a code for the evil IdP’s transaction, delivered at corp’s callback, is never redeemed anywhere', async () => {
    const gw = idpsGateway([CORP, EVIL]);
    const authorize = await startAt(gw, 'evil');
    const state = authorize.searchParams.get('state')!;
    const code = await scriptCode(evilIssuer, { idToken: { claims: { nonce: authorize.searchParams.get('nonce') } } });
    const res = await gw.fetch(`/_auth/callback/corp?code=${code}&state=${state}&iss=${encodeURIComponent(CORP.issuer)}`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(400);
    expect(sessionCookies(res)).toEqual([]);
    await expect(tokenRequestFor(evilIssuer, code)).rejects.toThrow();
  });
});
