// Attack: a DPoP proof captured from one request (with its token) reused for another method or URL.
// RFC 9449 4.3 steps 8-9: htm and htu must be this request's.
import { describe, expect, it } from 'vitest';
import { ORIGIN, boundToken, dpopHeaders } from '../api/helpers';

describe('a proof for another request', () => {
  it('another method (htm) is refused', async () => {
    const { key, token, gw } = await boundToken();
    const url = `${ORIGIN}/mcp/delete-everything`;
    for (const htm of ['GET', 'post', 'PUT']) {
      const res = await gw.fetch(url, { method: 'POST', body: '{}', headers: await dpopHeaders(key, token, htm, url) });
      expect(res.status, htm).toBe(401);
      expect(((await res.json()) as { message: string }).message).toMatch(/method/);
    }
  });

  it('another URL (htu) is refused: path, host, scheme, port', async () => {
    const { key, token, gw } = await boundToken();
    const url = `${ORIGIN}/mcp/admin`;
    for (const htu of [`${ORIGIN}/mcp/read`, `${ORIGIN}/mcp/admin/`, 'https://other.example/mcp/admin', 'http://localhost/mcp/admin', 'https://localhost:8443/mcp/admin', '/mcp/admin', 'https://user@localhost/mcp/admin']) {
      const res = await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', htu) });
      expect(res.status, htu).toBe(401);
      expect(((await res.json()) as { error: string }).error, htu).toBe('invalid_dpop_proof');
    }
  });
});
