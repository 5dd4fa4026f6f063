// Attack: a DPoP proof "signed" without the holder's private key: alg none, HS256 keyed with the public
// key (algorithm confusion), a symmetric JWK, a private JWK in the header, a wrong typ. RFC 9449 4.3
// steps 4-7: asymmetric algorithms only, typ dpop+jwt, a public key.
import { describe, expect, it } from 'vitest';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { ORIGIN, ath, boundToken, dpopHeaders } from '../api/helpers';

const b64u = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

describe('a proof not signed by an asymmetric key', () => {
  it('alg none, HS256 with the public key, a symmetric or private JWK, or another typ: refused', async () => {
    const { key, token, gw } = await boundToken();
    const url = `${ORIGIN}/mcp/x`;
    const claims = { jti: crypto.randomUUID(), htm: 'GET', htu: url, iat: Math.floor(Date.now() / 1000), ath: await ath(token) };
    const none = `${b64u(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk }))}.${b64u(JSON.stringify(claims))}.`;
    const hmacKey = new TextEncoder().encode(JSON.stringify(key.publicJwk));
    const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk } as never).sign(hmacKey);
    const octJwk = { kty: 'oct', k: b64u('0123456789abcdef0123456789abcdef') };
    const hs256Oct = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: octJwk } as never).sign(new TextEncoder().encode('0123456789abcdef0123456789abcdef'));
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const withPrivate = await new SignJWT({ ...claims, jti: crypto.randomUUID() }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(privateKey) } as never).sign(privateKey);
    for (const [what, dpop] of [['none', none], ['HS256 keyed with the public JWK', hs256], ['HS256 with an oct JWK', hs256Oct], ['a private JWK', withPrivate]] as const) {
      const res = await gw.fetch(url, { headers: { accept: 'application/json', authorization: `DPoP ${token}`, dpop } });
      expect(res.status, what).toBe(401);
      expect(((await res.json()) as { error: string }).error, what).toBe('invalid_dpop_proof');
    }
    for (const typ of [null, 'JWT', 'at+jwt', 'DPOP+JWT']) {
      const res = await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url, { header: { typ } }) });
      expect(res.status, String(typ)).toBe(401);
    }
  });
});
