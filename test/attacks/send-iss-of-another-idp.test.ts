// Mix-up (RFC 9207, RFC 9700 4.4.2.1): the authorization response names its issuer; a response on the
// evil IdP's transaction that claims to come from corp (its `iss`) is refused before the code is redeemed.
import { describe, expect, it } from 'vitest';
import { scriptCode, tokenRequestFor } from '../support/flows';
import { CORP, EVIL, evilIssuer, idpsGateway, startAt } from '../idps/helpers';

describe('a callback whose iss names another IdP', () => {
  it('is refused, and its code is not redeemed', async () => {
    const gw = idpsGateway([CORP, EVIL]);
    const authorize = await startAt(gw, 'evil');
    const code = await scriptCode(evilIssuer, { idToken: { claims: { nonce: authorize.searchParams.get('nonce') } } });
    const params = new URLSearchParams({ code, state: authorize.searchParams.get('state')!, iss: CORP.issuer });
    const res = await gw.fetch(`/_auth/callback/evil?${params}`, { headers: { accept: 'application/json' } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.getSetCookie().some((c) => /^(__Host-)?edgegate=[^;]/.test(c) && !/Max-Age=0/i.test(c))).toBe(false);
    await expect(tokenRequestFor(evilIssuer, code)).rejects.toThrow();
  });
});
