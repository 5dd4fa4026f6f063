// Attack: a stolen DPoP-bound token sent with the DPoP scheme but no proof (or an empty or doubled
// DPoP header), hoping the gateway checks only the token. RFC 9449 4.3 steps 1-3.
import { describe, expect, it } from 'vitest';
import { ORIGIN, boundToken, challenges, proof } from '../api/helpers';

describe('DPoP scheme without a usable proof', () => {
  it('is refused with invalid_dpop_proof', async () => {
    const { key, token, gw } = await boundToken();
    const url = `${ORIGIN}/mcp/x`;
    const good = await proof(key, { htm: 'GET', htu: url, token });
    for (const dpop of [undefined, '', `${good}, ${good}`, 'not-a-jwt', good.split('.').slice(0, 2).join('.')]) {
      const headers: Record<string, string> = { accept: 'application/json', authorization: `DPoP ${token}` };
      if (dpop !== undefined) headers['dpop'] = dpop;
      const res = await gw.fetch(url, { headers });
      expect(res.status, String(dpop)).toBe(401);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_dpop_proof');
      expect(challenges(res.headers.get('www-authenticate'))['DPoP']).toMatchObject({ error: 'invalid_dpop_proof', algs: expect.stringContaining('ES256') });
    }
  });
});
