// Attack: the exact request replayed — same token, same proof (same jti) — in the same isolate or
// another one. RFC 9449 11.1: each proof is accepted once (per isolate at once; across isolates in the
// key's proof object with the COORDINATOR, through KV without it). Another location: replay-dpop-proof-at-another-location.
import { describe, expect, it } from 'vitest';
import { ORIGIN, apiGateway, boundToken, proof } from '../api/helpers';

describe.each([
  ['coordinated', {}],
  ['KV-only', { COORDINATOR: undefined }],
])('a replayed proof (%s)', (_mode, overrides: Record<string, unknown>) => {
  it('is refused the second time, in the same isolate and in another one', async () => {
    const { key, token, gw } = await boundToken(undefined, overrides);
    const url = `${ORIGIN}/mcp/x`;
    const headers = { accept: 'application/json', authorization: `DPoP ${token}`, dpop: await proof(key, { htm: 'GET', htu: url, token }) };
    expect((await gw.fetch(url, { headers })).status).toBe(200);
    const again = await gw.fetch(url, { headers });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: string; message: string })).toMatchObject({ error: 'invalid_dpop_proof', message: expect.stringMatching(/already used/) });
    // Another isolate: a new configuration object (own replay cache), the same KV and COORDINATOR.
    const elsewhere = apiGateway([{ path: '/mcp/**', auth: 'api' }], overrides);
    expect((await elsewhere.fetch(url, { headers })).status).toBe(401);
  });

  it('the same jti with a new proof is a replay too (jti is per key)', async () => {
    const { key, token, gw } = await boundToken(undefined, overrides);
    const url = `${ORIGIN}/mcp/x`;
    const jti = crypto.randomUUID();
    const first = { accept: 'application/json', authorization: `DPoP ${token}`, dpop: await proof(key, { htm: 'GET', htu: url, token, jti }) };
    expect((await gw.fetch(url, { headers: first })).status).toBe(200);
    const second = { ...first, dpop: await proof(key, { htm: 'GET', htu: url, token, jti, iat: Math.floor(Date.now() / 1000) - 1 }) };
    expect((await gw.fetch(url, { headers: second })).status).toBe(401);
  });
});
