// Attack: a stolen DPoP-bound token presented as a plain Bearer token, so no proof is asked for.
// RFC 9449 7.2: a bound token is usable only by the holder of its key — refused as Bearer.
import { describe, expect, it } from 'vitest';
import { ORIGIN, boundToken, dpopKey, tokensFor } from '../api/helpers';

describe('a DPoP-bound token sent as Bearer', () => {
  it('is refused (JWT: cnf.jkt in the token)', async () => {
    const { token, gw } = await boundToken();
    const res = await gw.fetch(`${ORIGIN}/mcp/x`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_token');
  });

  it('is refused (opaque: cnf.jkt in the introspection answer)', async () => {
    const { gw } = await boundToken();
    const { access_token } = await tokensFor({ dpop: await dpopKey(), resource: `${ORIGIN}/mcp-opaque` });
    const res = await gw.fetch(`${ORIGIN}/mcp/x`, { headers: { accept: 'application/json', authorization: `Bearer ${access_token}` } });
    expect(res.status).toBe(401);
  });
});
