// DPoP (RFC 9449) on api rules: sender-constrained tokens from the local IdP (oidc-provider binds the
// access token to the key of the proof sent to its token endpoint), presented as
// `Authorization: DPoP <token>` with a fresh proof per request. Refusals: test/attacks/*dpop*.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jwtPayload } from '../routes/helpers';
import type { EchoBody } from '../setup/protocol';
import { signIn } from '../support/flows';
import { ORIGIN, apiGateway, boundToken, challenges, dpopHeaders, dpopKey, tokensFor } from './helpers';

afterEach(() => {
  vi.useRealTimers();
});

describe('DPoP-bound access tokens', () => {
  it('a JWT token bound to the key, with a proof for this request: forwarded with the identity; Authorization and DPoP are not passed on', async () => {
    const { key, token, gw } = await boundToken();
    expect(jwtPayload(token)['cnf']).toEqual({ jkt: key.jkt });
    const url = `${ORIGIN}/mcp/tools/list`;
    const res = await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url) });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as EchoBody;
    expect(echo.headers['x-user']).toBe('alice');
    expect(echo.headers['authorization']).toBeUndefined();
    expect(echo.headers['dpop']).toBeUndefined();
  });

  it('an opaque token: cnf.jkt comes from introspection', async () => {
    const key = await dpopKey();
    const { access_token: token, token_type } = await tokensFor({ dpop: key, resource: `${ORIGIN}/mcp-opaque` });
    expect(token_type).toBe('DPoP');
    expect(token.split('.')).toHaveLength(1);
    const gw = apiGateway([{ path: '/mcp/**', auth: 'api' }]);
    const url = `${ORIGIN}/mcp/x`;
    expect((await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url) })).status).toBe(200);
    const other = await dpopKey();
    const res = await gw.fetch(url, { headers: await dpopHeaders(other, token, 'GET', url) });
    expect(res.status).toBe(401);
  });

  it('another key type: an Ed25519 proof key (the local IdP binds ES256 and EdDSA keys)', async () => {
    for (const alg of ['EdDSA']) {
      const key = await dpopKey(alg);
      const { access_token: token } = await tokensFor({ dpop: key });
      const url = `${ORIGIN}/mcp/x`;
      const res = await apiGateway([{ path: '/mcp/**', auth: 'api' }]).fetch(url, { headers: await dpopHeaders(key, token, 'GET', url) });
      expect(res.status, alg).toBe(200);
    }
  });

  it('htu is compared normalized (RFC 9449 4.3, RFC 3986 6.2.2-6.2.3) and without query or fragment', async () => {
    const { key, token, gw } = await boundToken();
    const cases: [string, string][] = [
      [`${ORIGIN}/mcp/tools?cursor=2`, `${ORIGIN}/mcp/tools`],
      [`${ORIGIN}/mcp/tools`, 'HTTPS://LocalHost:443/mcp/tools#frag'],
      [`${ORIGIN}/mcp/~x`, `${ORIGIN}/mcp/%7Ex`],
      [`${ORIGIN}/mcp/caf%C3%A9`, `${ORIGIN}/mcp/caf%c3%a9`],
    ];
    for (const [url, htu] of cases) {
      const res = await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', htu) });
      expect(res.status, `${url} with htu ${htu}`).toBe(200);
    }
  });

  it('a POST with a body', async () => {
    const { key, token, gw } = await boundToken();
    const url = `${ORIGIN}/mcp/call`;
    const res = await gw.fetch(url, { method: 'POST', body: '{"x":1}', headers: { ...(await dpopHeaders(key, token, 'POST', url)), 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as EchoBody).body).toBe('{"x":1}');
  });
});

describe('dpop = "required"', () => {
  const ROUTES = [{ path: '/mcp/**', auth: 'api', dpop: 'required' }];

  it('an unbound Bearer token is refused with a DPoP challenge only', async () => {
    const { access_token } = await tokensFor();
    const res = await apiGateway(ROUTES).fetch('/mcp/x', { headers: { accept: 'application/json', authorization: `Bearer ${access_token}` } });
    expect(res.status).toBe(401);
    const c = challenges(res.headers.get('www-authenticate'));
    expect(Object.keys(c)).toEqual(['DPoP']);
    expect(c['DPoP']).toMatchObject({ error: 'invalid_token' });
    expect(c['DPoP']!['algs']).toContain('ES256');
  });

  it('a bound token with its proof gets in', async () => {
    const { key, token, gw } = await boundToken(ROUTES);
    const url = `${ORIGIN}/mcp/x`;
    expect((await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url) })).status).toBe(200);
  });

  it('a session cookie is not an access token: it still works', async () => {
    const gw = apiGateway(ROUTES);
    await signIn(gw, { user: 'bob' });
    const res = await gw.fetch('/mcp/x', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
  });

  it('is a rule key for api rules only', async () => {
    const res = apiGateway([{ path: '/x/**', auth: 'session', dpop: 'required' }]).fetch('/x/y', { headers: { accept: 'application/json' } });
    expect(await (await res).text()).toContain('ROUTES[0].dpop');
  });
});

describe('an unbound token presented with the DPoP scheme', () => {
  it('is refused: there is no key to hold it to', async () => {
    const key = await dpopKey();
    const { access_token } = await tokensFor();
    const url = `${ORIGIN}/mcp/x`;
    const res = await apiGateway([{ path: '/mcp/**', auth: 'api' }]).fetch(url, { headers: await dpopHeaders(key, access_token, 'GET', url) });
    expect(res.status).toBe(401);
    expect(challenges(res.headers.get('www-authenticate'))['DPoP']).toMatchObject({ error: 'invalid_token' });
  });
});

describe('server nonces (API_DPOP_NONCE, RFC 9449 9)', () => {
  it('a proof without the nonce gets use_dpop_nonce and a DPoP-Nonce; the retry with it gets in', async () => {
    const { key, token, gw } = await boundToken(undefined, { API_DPOP_NONCE: 'true' });
    const url = `${ORIGIN}/mcp/x`;
    const first = await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url) });
    expect(first.status).toBe(401);
    expect(challenges(first.headers.get('www-authenticate'))['DPoP']).toMatchObject({ error: 'use_dpop_nonce' });
    const nonce = first.headers.get('dpop-nonce');
    // RFC 9449 8.1: NQCHAR only.
    expect(nonce).toMatch(/^[\x21\x23-\x5B\x5D-\x7E]{20,}$/);
    const retry = await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url, { nonce: nonce! }) });
    expect(retry.status).toBe(200);
    // The nonce serves several requests (each with a new proof).
    expect((await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url, { nonce: nonce! }) })).status).toBe(200);
  });

  it('a made-up nonce, or an expired one, gets a fresh nonce instead', async () => {
    const { key, token, gw } = await boundToken(undefined, { API_DPOP_NONCE: 'true' });
    const url = `${ORIGIN}/mcp/x`;
    const madeUp = await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url, { nonce: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }) });
    expect(challenges(madeUp.headers.get('www-authenticate'))['DPoP']).toMatchObject({ error: 'use_dpop_nonce' });
    const nonce = madeUp.headers.get('dpop-nonce')!;

    const later = Math.floor(Date.now() / 1000) + 301;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(later * 1000);
    const expired = await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url, { nonce, iat: later }) });
    expect(expired.status).toBe(401);
    expect(challenges(expired.headers.get('www-authenticate'))['DPoP']).toMatchObject({ error: 'use_dpop_nonce' });
    expect(expired.headers.get('dpop-nonce')).not.toBe(nonce);
  });

  it('a nonce from another gateway (another SESSION_SECRET) is not one of ours', async () => {
    const { key, token, gw } = await boundToken(undefined, { API_DPOP_NONCE: 'true' });
    const other = apiGateway([{ path: '/mcp/**', auth: 'api' }], { API_DPOP_NONCE: 'true', SESSION_SECRET: 'b3RoZXItZ2F0ZXdheS1zZXNzaW9uLXNlY3JldC0zMmI' });
    const url = `${ORIGIN}/mcp/x`;
    const theirs = (await other.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url) })).headers.get('dpop-nonce')!;
    const res = await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url, { nonce: theirs }) });
    expect(challenges(res.headers.get('www-authenticate'))['DPoP']).toMatchObject({ error: 'use_dpop_nonce' });
  });

  it('cross-origin script can read the nonce on a cors_origins rule', async () => {
    const { key, token, gw } = await boundToken([{ path: '/mcp/**', auth: 'api', cors_origins: ['https://app.example.com'] }], { API_DPOP_NONCE: 'true' });
    const url = `${ORIGIN}/mcp/x`;
    const res = await gw.fetch(url, { headers: { ...(await dpopHeaders(key, token, 'GET', url)), origin: 'https://app.example.com' } });
    expect(res.headers.get('access-control-expose-headers')).toMatch(/DPoP-Nonce/);
    expect(res.headers.get('dpop-nonce')).toBeTruthy();
  });
});

describe('OIDC_DPOP (the gateway’s own tokens bound at the IdP: test/api/oidc-dpop.test.ts)', () => {
  it('is a setting of this version: accepted, and api rules keep taking client tokens beside it', async () => {
    const { key, token, gw } = await boundToken([{ path: '/mcp/**', auth: 'api' }], { OIDC_DPOP: 'true' });
    const url = `${ORIGIN}/mcp/x`;
    expect((await gw.fetch(url, { headers: await dpopHeaders(key, token, 'GET', url) })).status).toBe(200);
  });
});
