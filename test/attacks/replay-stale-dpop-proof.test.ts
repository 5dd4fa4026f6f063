// Attack: a DPoP proof made long ago (or dated into the future to be kept for later). RFC 9449 4.3
// step 11: iat within PROOF_MAX_AGE (60 s) plus CLOCK_SKEW in the past, CLOCK_SKEW in the future.
import { describe, expect, it } from 'vitest';
import { ORIGIN, boundToken, dpopHeaders } from '../api/helpers';

describe('a proof outside the iat window', () => {
  it('is refused when too old or from the future; accepted within the window', async () => {
    const { key, token, gw } = await boundToken();
    const url = `${ORIGIN}/mcp/x`;
    const now = Math.floor(Date.now() / 1000);
    for (const iat of [now - 60 - 30 - 5, now + 30 + 5, now - 3600]) {
      const res = await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url, { iat }) });
      expect(res.status, String(iat - now)).toBe(401);
      expect(((await res.json()) as { message: string }).message).toMatch(/iat/);
    }
    for (const iat of [now - 80, now + 20]) {
      expect((await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url, { iat }) })).status, String(iat - now)).toBe(200);
    }
  });

  it('a proof without iat, or with a non-numeric one, is refused', async () => {
    const { key, token, gw } = await boundToken();
    const url = `${ORIGIN}/mcp/x`;
    for (const iat of [null, String(Math.floor(Date.now() / 1000))]) {
      const res = await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url, { claims: { iat } }) });
      expect(res.status).toBe(401);
    }
  });
});
