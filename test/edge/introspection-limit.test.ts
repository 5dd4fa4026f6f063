// RATE_LIMITER and opaque bearer tokens: each token the gateway has not seen costs a call to the IdP's
// introspection endpoint (RFC 7662), so unknown tokens are limited per client (CF-Connecting-IP, never a
// header the client writes) — 429 with Retry-After, as JSON on api rules — before the IdP is asked. A
// token whose answer is cached costs the IdP nothing and is not limited; JWTs are verified locally and
// not limited either. Without the binding nothing is limited. The binding is a stand-in with the
// platform's API (`limit({ key })` → `{ success }`), as in rate-limit.test.ts.
import { describe, expect, inject, it } from 'vitest';
import { API_RESOURCE } from '../setup/constants';
import { bearer, refusal, userTokens, withRoutes } from '../routes/helpers';
import { limiter } from '../support/rate-limiter';

const apiIdp = inject('idpIssuerApi');
const OPAQUE = `${API_RESOURCE}/opaque`;
const ROUTES = [{ path: '/api/**', auth: 'api' }];


const atApiIdp = (overrides: Record<string, unknown> = {}) => withRoutes(ROUTES, { OIDC_ISSUER: apiIdp, API_AUDIENCE: API_RESOURCE, ...overrides });
const randomToken = () => Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, '0')).join('');
const from = (ip: string, token: string, extra: Record<string, string> = {}) => ({ headers: { ...bearer(token), 'cf-connecting-ip': ip, ...extra } });

describe('with RATE_LIMITER', () => {
  it('the 3rd unknown opaque token from one address is refused with 429 before the IdP is asked; another address is not', async () => {
    const { binding, keys } = limiter(2);
    const gw = atApiIdp({ RATE_LIMITER: binding });
    for (let i = 0; i < 2; i++) {
      const r = await refusal(await gw.fetch('/api/x', from('198.51.100.7', randomToken())));
      expect([r.status, r.error], 'asked at the IdP: inactive').toEqual([401, 'invalid_token']);
    }
    const refused = await gw.fetch('/api/x', from('198.51.100.7', randomToken(), { 'x-forwarded-for': '203.0.113.1' }));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(((await refused.json()) as { error: string }).error).toBe('rate_limited');
    expect(keys).toEqual(['introspection:198.51.100.7', 'introspection:198.51.100.7', 'introspection:198.51.100.7']);

    const other = await refusal(await gw.fetch('/api/x', from('198.51.100.8', randomToken())));
    expect(other.status).toBe(401);
  });

  it('a token whose answer is cached is served without taking from the limit; a new one is then refused', async () => {
    const { binding, keys } = limiter(1);
    const gw = atApiIdp({ RATE_LIMITER: binding });
    const { access_token } = await userTokens({ user: 'bob', resource: OPAQUE, scope: 'openid api:read' });
    expect(access_token).not.toContain('.');
    for (let i = 0; i < 3; i++) expect((await gw.fetch('/api/x', from('192.0.2.5', access_token))).status).toBe(200);
    expect(keys).toEqual(['introspection:192.0.2.5']);
    expect((await gw.fetch('/api/x', from('192.0.2.5', randomToken()))).status).toBe(429);
  });

  it('JWT access tokens are verified locally and never limited', async () => {
    const { binding, keys } = limiter(0);
    const gw = atApiIdp({ RATE_LIMITER: binding });
    const { access_token } = await userTokens({ resource: API_RESOURCE, scope: 'openid api:read' });
    expect(access_token.split('.')).toHaveLength(3);
    expect((await gw.fetch('/api/x', from('192.0.2.6', access_token))).status).toBe(200);
    expect(keys).toEqual([]);
  });
});

describe('without RATE_LIMITER', () => {
  it('unknown opaque tokens are answered by the IdP, never 429', async () => {
    const gw = atApiIdp({ RATE_LIMITER: undefined });
    for (let i = 0; i < 8; i++) {
      const r = await refusal(await gw.fetch('/api/x', from('198.51.100.7', randomToken())));
      expect([r.status, r.error]).toEqual([401, 'invalid_token']);
    }
  });
});
