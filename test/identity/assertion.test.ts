// X-User-Jwt: a short-lived assertion signed by the gateway, verifiable with /_auth/jwks, bound to
// the request it was made for (issue 9).
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import { gateway, type Gateway } from '../support/gateway';
import { signIn } from '../support/flows';
import { header, upstreamSees, NAVIGATE } from '../gateway/helpers';

async function privateJwk(alg: 'ES256' | 'EdDSA', kid?: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  return { ...(await exportJWK(privateKey)), ...(kid ? { kid } : {}), alg };
}

async function jwksOf(gw: Gateway): Promise<{ keys: JWK[] }> {
  const res = await gw.fetch('/_auth/jwks');
  expect(res.status).toBe(200);
  return (await res.json()) as { keys: JWK[] };
}

/** What a backend does: verify with the gateway's JWKS, then check the request it is for. */
async function backendVerifies(jwt: string, jwks: { keys: JWK[] }, expected: { audience: string; method: string; url: string }): Promise<JWTPayload> {
  const { payload } = await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: 'https://localhost', audience: expected.audience, algorithms: ['ES256', 'EdDSA'], maxTokenAge: 60 });
  const url = new URL(expected.url);
  if (payload['htm'] !== expected.method || payload['htu'] !== `${url.origin}${url.pathname}`) throw new Error('assertion is for another request');
  return payload;
}

const upstreamOrigin = new URL(inject('upstreamUrl')).origin;

describe('X-User-Jwt', () => {
  it('is signed for every forwarded request with an identity and verifies with /_auth/jwks', async () => {
    const gw = gateway({ ASSERTION_KEY: JSON.stringify(await privateJwk('ES256')) });
    await signIn(gw, { user: 'alice' });
    const echo = await upstreamSees(gw, '/reports/q3?year=2026');
    const jwt = header(echo, 'x-user-jwt')!;
    expect(jwt).toMatch(/^eyJ/);
    const payload = await backendVerifies(jwt, await jwksOf(gw), { audience: upstreamOrigin, method: 'GET', url: 'https://localhost/reports/q3' });
    expect(payload.sub).toBe('alice');
    expect(payload['email']).toBe('alice@example.com');
    expect(payload['name']).toBe('Alice Admin');
    expect(payload['groups']).toEqual(['admins', 'staff']);
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
    expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(payload['htu']).toBe('https://localhost/reports/q3');
  });

  it('for one path fails the backend check on another path or method', async () => {
    const gw = gateway({ ASSERTION_KEY: JSON.stringify(await privateJwk('ES256')) });
    await signIn(gw, { user: 'bob' });
    const jwt = header(await upstreamSees(gw, '/public/page'), 'x-user-jwt')!;
    const jwks = await jwksOf(gw);
    await expect(backendVerifies(jwt, jwks, { audience: upstreamOrigin, method: 'GET', url: 'https://localhost/admin/delete' })).rejects.toThrow(/another request/);
    await expect(backendVerifies(jwt, jwks, { audience: upstreamOrigin, method: 'POST', url: 'https://localhost/public/page' })).rejects.toThrow(/another request/);
    await expect(backendVerifies(jwt, jwks, { audience: 'https://other-backend.example', method: 'GET', url: 'https://localhost/public/page' })).rejects.toThrow();
  });

  it('is reused for the same user and request line instead of signing again, and differs per path', async () => {
    const gw = gateway({ ASSERTION_KEY: JSON.stringify(await privateJwk('ES256')) });
    await signIn(gw, { user: 'alice' });
    const a1 = header(await upstreamSees(gw, '/a'), 'x-user-jwt');
    const a2 = header(await upstreamSees(gw, '/a?other=query'), 'x-user-jwt');
    const b = header(await upstreamSees(gw, '/b'), 'x-user-jwt');
    expect(a2).toBe(a1);
    expect(b).not.toBe(a1);
  });

  it('uses ASSERTION_AUDIENCE when set', async () => {
    const gw = gateway({ ASSERTION_KEY: JSON.stringify(await privateJwk('EdDSA')), ASSERTION_AUDIENCE: 'urn:legacy-app' });
    await signIn(gw, { user: 'alice' });
    const jwt = header(await upstreamSees(gw, '/x'), 'x-user-jwt')!;
    const payload = await backendVerifies(jwt, await jwksOf(gw), { audience: 'urn:legacy-app', method: 'GET', url: 'https://localhost/x' });
    expect(payload.sub).toBe('alice');
  });

  it('rotates: the first key signs, every key is published, old assertions keep verifying', async () => {
    const oldKey = await privateJwk('ES256', 'old');
    const newKey = await privateJwk('ES256', 'new');
    const before = gateway({ ASSERTION_KEY: JSON.stringify([oldKey]) });
    await signIn(before, { user: 'alice' });
    const oldJwt = header(await upstreamSees(before, '/x'), 'x-user-jwt')!;

    const after = gateway({ ASSERTION_KEY: JSON.stringify([newKey, oldKey]) }, before.jar);
    const newJwt = header(await upstreamSees(after, '/x'), 'x-user-jwt')!;
    const jwks = await jwksOf(after);
    expect(jwks.keys.map((k) => k.kid)).toEqual(['new', 'old']);
    expect(JSON.parse(atob(newJwt.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/'))).kid).toBe('new');
    for (const jwt of [oldJwt, newJwt]) {
      await backendVerifies(jwt, jwks, { audience: upstreamOrigin, method: 'GET', url: 'https://localhost/x' });
    }
  });

  it('publishes public keys only, cacheable, and 404 without a key', async () => {
    // As WebCrypto exports it (docs/upstream.md's one-liner): with key_ops and ext.
    const gw = gateway({ ASSERTION_KEY: JSON.stringify({ ...(await privateJwk('ES256')), key_ops: ['sign'], ext: true }) });
    const res = await gw.fetch('/_auth/jwks');
    expect(res.headers.get('cache-control')).toContain('max-age=');
    const { keys } = (await res.json()) as { keys: JWK[] };
    expect(keys).toHaveLength(1);
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'key_ops', 'ext']) expect(keys[0]).not.toHaveProperty(member);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(keys[0]!.kid).toBeTruthy();
    expect((await gateway().fetch('/_auth/jwks', { headers: { accept: 'application/json' } })).status).toBe(404);
  });

  it('replaces a client-sent X-User-Jwt, and is absent without a session on a public route', async () => {
    const gw = gateway({
      ASSERTION_KEY: JSON.stringify(await privateJwk('ES256')),
      ROUTES: [{ path: '/assets/**', auth: 'public' }],
    });
    const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.';
    const anonymous = await upstreamSees(gw, '/assets/app.css', { headers: { ...NAVIGATE, 'x-user-jwt': forged } });
    expect(header(anonymous, 'x-user-jwt')).toBeUndefined();
    await signIn(gw, { user: 'bob' });
    const signedIn = await upstreamSees(gw, '/page', { headers: { ...NAVIGATE, 'X-User-JWT': forged } });
    expect(header(signedIn, 'x-user-jwt')).not.toBe(forged);
    expect(header(signedIn, 'x-user-jwt')).toMatch(/^eyJ/);
  });
});
