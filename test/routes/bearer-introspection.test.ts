// Opaque bearer tokens on api rules, checked at oidc-provider's introspection endpoint (RFC 7662)
// with the gateway's own client credentials. The tokens are issued to another client (the API
// client) for the resource servers of constants.ts; only `active: true` for API_AUDIENCE counts, and
// answers are cached no longer than the token lives (and at most 60 s).
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { API_RESOURCE, API_SHORT_TTL } from '../setup/constants';
import { createTestIssuer } from '../support/flows';
import type { Gateway } from '../support/gateway';
import { bearer, challengeParams, echoOf, identityHeaders, refusal, revoke, userTokens, withRoutes } from './helpers';

const apiIdp = inject('idpIssuerApi');
const testIssuer = inject('testIssuerUrl');
const OPAQUE = `${API_RESOURCE}/opaque`;
const SHORT = `${API_RESOURCE}/short`;

const ROUTES = [
  { path: '/api/read/**', auth: 'api' },
  { path: '/api/write/**', auth: 'api', scopes: ['api:write'] },
];

afterEach(() => {
  vi.useRealTimers();
});

const atApiIdp = (overrides: Record<string, unknown> = {}) => withRoutes(ROUTES, { OIDC_ISSUER: apiIdp, API_AUDIENCE: API_RESOURCE, CLOCK_SKEW: '0', ...overrides });

async function expectInvalidToken(gw: Gateway, token: string, description = /not active/) {
  const r = await refusal(await gw.fetch('/api/read/x', { headers: bearer(token) }));
  expect([r.status, r.error], r.message).toEqual([401, 'invalid_token']);
  const params = challengeParams(r.challenge);
  expect(params['error']).toBe('invalid_token');
  expect(params['error_description']).toMatch(description);
}

async function expectAccepted(gw: Gateway, token: string, user = 'alice', path = '/api/read/x') {
  const echo = await echoOf(await gw.fetch(path, { headers: bearer(token) }));
  expect(identityHeaders(echo)['x-user']).toBe(user);
  expect(echo.headers['authorization']).toBeUndefined();
}

describe('opaque access tokens', () => {
  it('an active token for API_AUDIENCE is accepted with its subject; Authorization is not passed on', async () => {
    const { access_token } = await userTokens({ user: 'bob', resource: OPAQUE, scope: 'openid api:read' });
    expect(access_token).not.toContain('.');
    await expectAccepted(atApiIdp(), access_token, 'bob');
  });

  it('rule scopes are checked against the introspected scope', async () => {
    const gw = atApiIdp();
    const read = await userTokens({ resource: OPAQUE, scope: 'openid api:read' });
    const r = await refusal(await gw.fetch('/api/write/x', { headers: bearer(read.access_token) }));
    expect([r.status, r.error]).toEqual([403, 'insufficient_scope']);
    const write = await userTokens({ resource: OPAQUE, scope: 'openid api:read api:write' });
    await expectAccepted(gw, write.access_token, 'alice', '/api/write/x');
  });

  it('a revoked token is refused', async () => {
    const { access_token } = await userTokens({ resource: OPAQUE, scope: 'openid api:read' });
    await revoke(access_token);
    await expectInvalidToken(atApiIdp(), access_token);
  });

  it('a token the IdP issued for something else (UserInfo, no aud) is refused: active alone is not "for this API"', async () => {
    const { access_token } = await userTokens({ scope: 'openid profile' });
    await expectInvalidToken(atApiIdp(), access_token);
  });

  it('a token for API_AUDIENCE is refused by a gateway configured for another audience', async () => {
    const { access_token } = await userTokens({ resource: OPAQUE, scope: 'openid api:read' });
    await expectAccepted(atApiIdp(), access_token);
    // Same isolate, cached answer for the first configuration: not reused for another audience.
    await expectInvalidToken(atApiIdp({ API_AUDIENCE: 'https://other-api.example' }), access_token);
  });

  it('is refused without an introspection endpoint (the test issuer offers none)', async () => {
    const { access_token } = await userTokens({ resource: OPAQUE, scope: 'openid api:read' });
    await expectInvalidToken(withRoutes(ROUTES, { OIDC_ISSUER: testIssuer, API_AUDIENCE: API_RESOURCE }), access_token, /not valid/);
  });

  it('an introspection endpoint answering garbage is the IdP’s failure (502), not an accepted token', async () => {
    const broken = await createTestIssuer(testIssuer, { introspection_endpoint: `${testIssuer}/jwks` });
    const gw = withRoutes(ROUTES, { OIDC_ISSUER: broken, API_AUDIENCE: API_RESOURCE });
    const r = await refusal(await gw.fetch('/api/read/x', { headers: bearer('tGzv3JOkF0XG5Qx2TlKWIA') }));
    expect([r.status, r.error]).toEqual([502, 'idp_bad_response']);
  });
});

describe('introspection cache', () => {
  it('keeps an answer no longer than the token lives', async () => {
    const { access_token, expires_in } = await userTokens({ resource: SHORT, scope: 'openid api:read' });
    expect(expires_in).toBe(API_SHORT_TTL);
    const gw = atApiIdp();
    const start = Date.now();
    await expectAccepted(gw, access_token);
    // Revoked at the IdP, but the gateway answers from its cache for now (bounded staleness)…
    await revoke(access_token);
    await expectAccepted(gw, access_token);
    // …only until the token's own expiry (5 s), not for the cache's 60 s.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start + (API_SHORT_TTL + 1) * 1000);
    await expectInvalidToken(gw, access_token);
  });

  it('keeps an answer for a long-lived token at most 60 s: a revocation takes effect by then', async () => {
    const { access_token } = await userTokens({ resource: OPAQUE, scope: 'openid api:read' });
    const gw = atApiIdp();
    const start = Date.now();
    await expectAccepted(gw, access_token);
    await revoke(access_token);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start + 30_000);
    await expectAccepted(gw, access_token);
    vi.setSystemTime(start + 61_000);
    await expectInvalidToken(gw, access_token);
  });
});

describe('a burst of parallel requests with a new token', () => {
  it('shares one introspection: none of them is refused as busy', async () => {
    // An API client that fans out (an agent calling several tools at once) with a token this isolate
    // has not seen: every request would otherwise start its own introspection, and beyond the
    // per-isolate bound on introspections in flight (16) the rest would get 503 busy.
    const { access_token } = await userTokens({ resource: OPAQUE, scope: 'openid api:read' });
    const gw = atApiIdp();
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => gw.fetch(`/api/read/${i}`, { headers: bearer(access_token) })));
    const statuses = responses.map((r) => r.status);
    expect(statuses).toEqual(Array(40).fill(200));
    for (const res of responses) expect(identityHeaders(await echoOf(res))['x-user']).toBe('alice');
  });
});
