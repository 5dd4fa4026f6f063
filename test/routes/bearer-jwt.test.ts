// Bearer JWT access tokens on api rules (RFC 9068, RFC 6750): real tokens from oidc-provider via
// resource indicators (the API IdP, aud = API_RESOURCE), and crafted ones from the test issuer
// (/control/sign) for what a real IdP will not produce. Every refusal is a 401 with a Bearer
// challenge carrying error="invalid_token" and an error_description, or 403 insufficient_scope.
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { API_RESOURCE } from '../setup/constants';
import { createTestIssuer } from '../support/flows';
import type { Gateway } from '../support/gateway';
import { API, NAVIGATE, bearer, challengeParams, echoOf, identityHeaders, jwtPayload, refusal, signedInAs, testIssuerJwt, userTokens, withRoutes } from './helpers';

const apiIdp = inject('idpIssuerApi');
const testIssuer = inject('testIssuerUrl');

const ROUTES = [
  { path: '/api/read/**', auth: 'api' },
  { path: '/api/write/**', auth: 'api', scopes: ['api:write'] },
  { path: '/api/admin/**', auth: 'api', allow: { groups: ['admins'] } },
  { path: '/page/**', auth: 'session' },
  { path: '/api/mfa/**', auth: 'api', acr_values: ['mfa'], max_age: 600 },
];

afterEach(() => {
  vi.useRealTimers();
});

const atApiIdp = (overrides: Record<string, unknown> = {}) => withRoutes(ROUTES, { OIDC_ISSUER: apiIdp, API_AUDIENCE: API_RESOURCE, ...overrides });
const atTestIssuer = (overrides: Record<string, unknown> = {}) => withRoutes(ROUTES, { OIDC_ISSUER: testIssuer, API_AUDIENCE: API_RESOURCE, ...overrides });

async function expectInvalidToken(gw: Gateway, token: string, description?: RegExp, path = '/api/read/x') {
  const res = await gw.fetch(path, { headers: { ...NAVIGATE, authorization: `Bearer ${token}` } });
  expect(res.headers.get('location')).toBeNull();
  const r = await refusal(res);
  expect([r.status, r.error], r.message).toEqual([401, 'invalid_token']);
  const params = challengeParams(r.challenge);
  expect(params['error']).toBe('invalid_token');
  expect(params['error_description']).toBeTruthy();
  if (description) expect(params['error_description']).toMatch(description);
}

function flip(text: string, at: number): string {
  const c = text[at] === 'A' ? 'B' : 'A';
  return text.slice(0, at) + c + text.slice(at + 1);
}
const b64uJson = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

describe('JWT access tokens from oidc-provider (resource indicators)', () => {
  it('a valid token is forwarded with the identity of its sub; the Authorization header is not passed on', async () => {
    const { access_token } = await userTokens({ user: 'alice', resource: API_RESOURCE, scope: 'openid api:read' });
    expect(jwtPayload(access_token)).toMatchObject({ aud: API_RESOURCE, sub: 'alice', scope: 'api:read' });
    const gw = atApiIdp();
    const echo = await echoOf(await gw.fetch('/api/read/orders', { headers: { ...bearer(access_token), 'x-user': 'mallory' } }));
    expect(identityHeaders(echo)).toEqual({ 'x-user': 'alice' });
    expect(echo.headers['authorization']).toBeUndefined();
  });

  it('rule scopes: a token without them gets 403 insufficient_scope; with them it gets in', async () => {
    const gw = atApiIdp();
    const read = await userTokens({ resource: API_RESOURCE, scope: 'openid api:read' });
    const r = await refusal(await gw.fetch('/api/write/x', { headers: bearer(read.access_token) }));
    expect([r.status, r.error]).toEqual([403, 'insufficient_scope']);
    const params = challengeParams(r.challenge);
    expect(params['error']).toBe('insufficient_scope');
    expect(params['scope']).toBe('api:write');

    const write = await userTokens({ resource: API_RESOURCE, scope: 'openid api:read api:write' });
    await echoOf(await gw.fetch('/api/write/x', { method: 'POST', headers: bearer(write.access_token), body: '{}' }));
  });

  it('a session cookie on an api rule is not scope-checked (scopes describe tokens)', async () => {
    const gw = await signedInAs('bob', ROUTES, { OIDC_ISSUER: apiIdp, API_AUDIENCE: API_RESOURCE });
    expect(identityHeaders(await echoOf(await gw.fetch('/api/write/x', { headers: API })))['x-user']).toBe('bob');
  });

  it('allow is checked against the token’s claims: oidc-provider’s access tokens carry no groups', async () => {
    const { access_token } = await userTokens({ user: 'alice', resource: API_RESOURCE, scope: 'openid api:read' });
    const r = await refusal(await atApiIdp().fetch('/api/admin/x', { headers: bearer(access_token) }));
    expect([r.status, r.error]).toEqual([403, 'forbidden']);
    expect(r.message).toContain('membership in admins');
  });

  it('is refused when API_AUDIENCE is another API', async () => {
    const { access_token } = await userTokens({ resource: API_RESOURCE, scope: 'openid api:read' });
    await expectInvalidToken(atApiIdp({ API_AUDIENCE: 'https://other-api.example' }), access_token);
  });

  it('is refused when API_AUDIENCE is not configured at all', async () => {
    const { access_token } = await userTokens({ resource: API_RESOURCE, scope: 'openid api:read' });
    await expectInvalidToken(atApiIdp({ API_AUDIENCE: undefined }), access_token, /not accepted/);
  });

  it('is refused once expired (exp + CLOCK_SKEW)', async () => {
    const { access_token } = await userTokens({ resource: API_RESOURCE, scope: 'openid api:read' });
    const exp = jwtPayload(access_token)['exp'] as number;
    const gw = atApiIdp();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime((exp + 20) * 1000);
    await echoOf(await gw.fetch('/api/read/x', { headers: bearer(access_token) }));
    vi.setSystemTime((exp + 31) * 1000);
    await expectInvalidToken(gw, access_token, /expired/);
  });

  it('is refused with a tampered signature or payload', async () => {
    const { access_token } = await userTokens({ user: 'bob', resource: API_RESOURCE, scope: 'openid api:read' });
    const gw = atApiIdp();
    const [h, p, s] = access_token.split('.') as [string, string, string];
    await expectInvalidToken(gw, `${h}.${p}.${flip(s, 10)}`);
    await expectInvalidToken(gw, `${h}.${p}.${s.slice(0, -4)}`);
    await expectInvalidToken(gw, `${h}.${b64uJson({ ...jwtPayload(access_token), sub: 'alice' })}.${s}`);
    await expectInvalidToken(gw, `${h}.${b64uJson({ ...jwtPayload(access_token), scope: 'api:read api:write' })}.${s}`, undefined, '/api/write/x');
  });

  it('is refused as alg "none", with or without a signature part', async () => {
    const { access_token } = await userTokens({ resource: API_RESOURCE, scope: 'openid api:read' });
    const [, p, s] = access_token.split('.') as [string, string, string];
    const none = b64uJson({ alg: 'none', typ: 'at+jwt' });
    const gw = atApiIdp();
    await expectInvalidToken(gw, `${none}.${p}.`);
    await expectInvalidToken(gw, `${none}.${p}.${s}`);
    await expectInvalidToken(gw, `${b64uJson({ alg: 'NONE' })}.${p}.`);
  });

  it('an ID token is not an access token (its audience is the client)', async () => {
    const { id_token } = await userTokens({ resource: API_RESOURCE, scope: 'openid api:read' });
    expect(id_token).toBeTruthy();
    await expectInvalidToken(atApiIdp(), id_token!);
  });

  it('a token from another issuer (the test issuer, same audience) is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const foreign = await testIssuerJwt({
      header: { typ: 'at+jwt' },
      claims: { iss: testIssuer, aud: API_RESOURCE, sub: 'alice', scope: 'api:read', iat: now, exp: now + 300 },
    });
    await expectInvalidToken(atApiIdp(), foreign);
    // …also when it claims to be from the gateway's issuer: the signature is not the issuer's.
    const forged = await testIssuerJwt({
      header: { typ: 'at+jwt' },
      claims: { iss: apiIdp, aud: API_RESOURCE, sub: 'alice', scope: 'api:read', iat: now, exp: now + 300 },
    });
    await expectInvalidToken(atApiIdp(), forged);
  });

  it('a bearer token counts only on api rules: on a session rule it is just a header for the upstream', async () => {
    const { access_token } = await userTokens({ resource: API_RESOURCE, scope: 'openid api:read' });
    const anonymous = atApiIdp();
    const res = await anonymous.fetch('/page/x', { headers: { ...NAVIGATE, authorization: `Bearer ${access_token}` } });
    expect(res.status).toBe(302);
    const bob = await signedInAs('bob', ROUTES, { OIDC_ISSUER: apiIdp, API_AUDIENCE: API_RESOURCE });
    const echo = await echoOf(await bob.fetch('/page/x', { headers: { ...NAVIGATE, authorization: `Bearer ${access_token}` } }));
    expect(identityHeaders(echo)['x-user']).toBe('bob');
    expect(echo.headers['authorization']).toBe(`Bearer ${access_token}`);
  });

  it('a token takes precedence over a session cookie on api rules (and a bad token is not rescued by it)', async () => {
    const { access_token } = await userTokens({ user: 'alice', resource: API_RESOURCE, scope: 'openid api:read' });
    const bob = await signedInAs('bob', ROUTES, { OIDC_ISSUER: apiIdp, API_AUDIENCE: API_RESOURCE });
    expect(identityHeaders(await echoOf(await bob.fetch('/api/read/x', { headers: bearer(access_token) })))['x-user']).toBe('alice');
    await expectInvalidToken(bob, flip(access_token, access_token.length - 5));
  });
});

describe('crafted JWTs (test issuer as OIDC_ISSUER)', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}) => ({ iss: testIssuer, aud: API_RESOURCE, sub: 'svc-user', scope: 'api:read', iat: now(), exp: now() + 300, ...extra });
  const sign = (c: Record<string, unknown>, rest: Omit<Parameters<typeof testIssuerJwt>[0], 'claims'> = {}) =>
    testIssuerJwt({ ...rest, header: { typ: 'at+jwt', ...rest.header }, claims: c });

  it('accepts a well-formed token (RS256 or ES256, typ at+jwt or JWT, aud as a list)', async () => {
    const gw = atTestIssuer();
    for (const token of [
      await sign(claims()),
      await sign(claims(), { sign: 'ES256' }),
      await sign(claims(), { header: { typ: 'JWT' } }),
      await sign(claims(), { header: { typ: null } }),
      await sign(claims({ aud: ['https://other.example', API_RESOURCE] })),
    ]) {
      expect(identityHeaders(await echoOf(await gw.fetch('/api/read/x', { headers: bearer(token) })))['x-user']).toBe('svc-user');
    }
  });

  it('names a client-credentials token (no sub) by its client_id', async () => {
    const token = await sign(claims({ sub: null, client_id: 'reporting-job' }));
    expect(identityHeaders(await echoOf(await atTestIssuer().fetch('/api/read/x', { headers: bearer(token) })))['x-user']).toBe('reporting-job');
  });

  it('reads scopes from `scope` or an `scp` list', async () => {
    const gw = atTestIssuer();
    await echoOf(await gw.fetch('/api/write/x', { headers: bearer(await sign(claims({ scope: 'api:read api:write' }))) }));
    await echoOf(await gw.fetch('/api/write/x', { headers: bearer(await sign(claims({ scope: null, scp: ['api:write'] }))) }));
    const r = await refusal(await gw.fetch('/api/write/x', { headers: bearer(await sign(claims({ scope: 'api:writer api:write:all' }))) }));
    expect([r.status, r.error]).toEqual([403, 'insufficient_scope']);
  });

  it('step-up rules hold tokens to acr and auth_time too, with RFC 9470’s challenge', async () => {
    const gw = atTestIssuer();
    await echoOf(await gw.fetch('/api/mfa/x', { headers: bearer(await sign(claims({ acr: 'mfa', auth_time: now() - 60 }))) }));
    for (const extra of [{ acr: 'pwd', auth_time: now() - 60 }, { acr: 'mfa', auth_time: now() - 3600 }, { acr: 'mfa' }, {}]) {
      const r = await refusal(await gw.fetch('/api/mfa/x', { headers: bearer(await sign(claims(extra))) }));
      expect([r.status, r.error], JSON.stringify(extra)).toEqual([401, 'step_up_required']);
      const params = challengeParams(r.challenge);
      expect(params).toMatchObject({ error: 'insufficient_user_authentication', acr_values: 'mfa', max_age: '600' });
    }
  });

  const refused: [string, () => Promise<string>][] = [
    ['iss of another issuer with the same keys', async () => sign(claims({ iss: await createTestIssuer(testIssuer) }))],
    ['iss with a trailing slash', () => sign(claims({ iss: `${testIssuer}/` }))],
    ['no iss', () => sign(claims({ iss: null }))],
    ['aud of another API', () => sign(claims({ aud: 'https://other.example' }))],
    ['aud = the gateway’s client id (an ID token)', () => sign(claims({ aud: 'edgegate-test' }), { header: { typ: 'JWT' } })],
    ['no aud', () => sign(claims({ aud: null }))],
    ['no exp', () => sign(claims({ exp: null }))],
    ['exp passed beyond the clock skew', () => sign(claims({ exp: now() - 60 }))],
    ['nbf in the future', () => sign(claims({ nbf: now() + 600 }))],
    ['neither sub nor client_id', () => sign(claims({ sub: null }))],
    ['alg none', () => sign(claims(), { sign: 'none' })],
    ['HS256 keyed with the public key (algorithm confusion)', () => sign(claims(), { sign: 'HS256-with-public-key' })],
    ['HS256 keyed with the JWK', () => sign(claims(), { sign: 'HS256-with-public-key', publicKeyAs: 'jwk' })],
    ['HS256 with some secret', () => sign(claims(), { sign: 'HS256-with-secret', secret: 'secret' })],
    ['signed by a key not in the JWKS (published kid)', () => sign(claims(), { sign: 'wrong-key' })],
    ['a wrong key advertised through jku/jwk headers', () => sign(claims(), { sign: 'wrong-key', header: { jku: 'http://127.0.0.1:1/jwks', jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } } })],
    ['an unknown kid', () => sign(claims(), { header: { kid: 'nope' } })],
    ['an unknown critical header', () => sign(claims(), { header: { crit: ['x-must'], 'x-must': 1 } })],
    ['typ of a logout token', () => sign(claims(), { header: { typ: 'logout+jwt' } })],
    ['typ of an ID token', () => sign(claims(), { header: { typ: 'id_token+jwt' } })],
  ];
  for (const [label, make] of refused) {
    it(`refuses: ${label}`, async () => {
      await expectInvalidToken(atTestIssuer(), await make());
    });
  }
});

describe('garbage in the Authorization header: always 401, never 500', () => {
  const headers: [string, string][] = [
    ['scheme only', 'Bearer'],
    ['scheme and spaces', 'Bearer    '],
    ['two tokens', 'Bearer abc def'],
    ['two Bearer credentials', 'Bearer abc, Bearer def'],
    ['a comma list', 'Bearer a,b'],
    ['characters outside b64token', 'Bearer a%20b'],
    ['quotes', 'Bearer "abc"'],
    ['latin-1 bytes', 'Bearer \u00ff\u00fe'],
    ['padding first', 'Bearer =abc'],
    ['8 KiB + 1', `Bearer ${'a'.repeat(8193)}`],
    ['100 KiB', `Bearer ${'a'.repeat(100_000)}`],
    ['a huge JWT-shaped token', `Bearer ${'eyJ'.repeat(3000)}.${'e30'.repeat(3000)}.${'x'.repeat(3000)}`],
    ['JWT shape with garbage parts', 'Bearer aaa.bbb.ccc'],
    ['JWT shape, header not JSON', `Bearer ${btoa('{"alg":').replace(/=+$/, '')}.e30.sig`],
    ['JWT shape, header a JSON string', `Bearer ${b64uJson('RS256')}.e30.sig`],
    ['JWT shape, empty header object', 'Bearer e30.e30.e30'],
    ['JWT shape, payload not JSON', `Bearer ${b64uJson({ alg: 'RS256', kid: 'rs-1' })}.bm90IGpzb24.sig`],
    ['four parts', 'Bearer a.b.c.d'],
    ['five parts (JWE-like)', 'Bearer a.b.c.d.e'],
    ['dots only', 'Bearer ...'],
    ['an opaque token nobody issued', 'Bearer tGzv3JOkF0XG5Qx2TlKWIA'],
  ];

  for (const [issuerLabel, make] of [
    ['test issuer, no introspection', atTestIssuer],
    ['oidc-provider, with introspection', atApiIdp],
  ] as const) {
    it(`${issuerLabel}`, async () => {
      const gw = make();
      for (const [label, value] of headers) {
        const res = await gw.fetch('/api/read/x', { headers: { ...API, authorization: value } });
        const r = await refusal(res);
        expect(r.status, label).toBe(401);
        expect(r.error, label).toBe('invalid_token');
        expect(challengeParams(r.challenge)['error'], label).toBe('invalid_token');
        expect(JSON.stringify(r.body), label).not.toContain(value.slice(7, 40) || '\u0000');
      }
    });
  }

  it('another scheme is no token at all: 401 asking for one, not invalid_token', async () => {
    const r = await refusal(await atApiIdp().fetch('/api/read/x', { headers: { ...API, authorization: 'Basic dXNlcjpwYXNz' } }));
    expect([r.status, r.error]).toEqual([401, 'unauthenticated']);
    expect(challengeParams(r.challenge)['error']).toBeUndefined();
  });
});
