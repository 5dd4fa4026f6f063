// Attack: a stolen DPoP-bound token presented with a proof the thief signs with their own key. The
// proof is valid in itself; the token's cnf.jkt names another key. RFC 9449 4.3 step 12, 6.1.
import { describe, expect, it } from 'vitest';
import { ORIGIN, boundToken, challenges, dpopHeaders, dpopKey } from '../api/helpers';

describe('a bound token with a proof by another key', () => {
  it('is refused with invalid_token in the DPoP scheme', async () => {
    const { token, gw } = await boundToken();
    const thief = await dpopKey();
    const url = `${ORIGIN}/mcp/x`;
    const res = await gw.fetch(url, { headers: await dpopHeaders(thief, token, 'GET', url) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_token');
    expect(challenges(res.headers.get('www-authenticate'))['DPoP']).toMatchObject({ error: 'invalid_token' });
  });

  it('the public key of the right holder in the header, signed by another key, fails the signature', async () => {
    const { key, token, gw } = await boundToken();
    const thief = await dpopKey();
    const url = `${ORIGIN}/mcp/x`;
    const res = await gw.fetch(url, { headers: await dpopHeaders(thief, token, 'GET', url, { header: { jwk: key.publicJwk } }) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_dpop_proof');
  });
});
