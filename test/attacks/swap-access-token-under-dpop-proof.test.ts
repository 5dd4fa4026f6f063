// Attack: a valid proof made for one access token presented with another token bound to the same key
// (or with no ath at all). RFC 9449 4.3 step 12: ath must be the hash of this token.
import { describe, expect, it } from 'vitest';
import { ORIGIN, boundToken, dpopHeaders, tokensFor } from '../api/helpers';

describe('a proof for another access token', () => {
  it('is refused (wrong or missing ath)', async () => {
    const { key, token, gw } = await boundToken();
    const { access_token: other } = await tokensFor({ dpop: key, scope: 'openid mcp:tools mcp:admin' });
    const url = `${ORIGIN}/mcp/x`;
    const forFirst = await dpopHeaders(key, token, 'GET', url);
    const res = await gw.fetch(url, { headers: { ...forFirst, authorization: `DPoP ${other}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toMatch(/ath/);
    const noAth = await dpopHeaders(key, token, 'GET', url, { claims: { ath: null } });
    expect((await gw.fetch(url, { headers: noAth })).status).toBe(401);
  });
});
