// ID-token sign-in, OIDC_RESPONSE_TYPE = "id_token" (Core 3.2), form_post only: a session with an
// identity and no tokens for API calls, which ends when its ID token expires (docs/protocols.md "ID-token sign-in").
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_ID } from '../setup/constants';
import { setCookies } from '../support/cookies';
import { startSignIn } from '../support/flows';
import { gateway } from '../support/gateway';
import { clock } from '../support/lifecycle';
import { API, atIdp, deliver, expectRefused, hybridTestIssuer, NAVIGATE, newIdpJar, nowS, protocolGateway, redirectToIdp, signAtTestIssuer, upstreamIdentity } from './helpers';
import { configProblems } from '../support/config-errors';

afterEach(() => clock.real());

describe('ID-token sign-in against oidc-provider', () => {
  it('asks for an ID token by form_post with a nonce and no PKCE, and signs in with the ID token’s claims', async () => {
    const gw = protocolGateway({ OIDC_RESPONSE_TYPE: 'id_token' });
    const { location } = await redirectToIdp(gw);
    const p = location.searchParams;
    expect([p.get('response_type'), p.get('response_mode')]).toEqual(['id_token', 'form_post']);
    expect(p.get('nonce')).toMatch(/^[\w-]{32,}$/);
    expect(p.get('code_challenge')).toBeNull();
    const answer = await atIdp(location.href, { user: 'carol' });
    if (answer.method !== 'POST') throw new Error('expected a form_post answer');
    expect(answer.body.get('code')).toBeNull();
    expect(answer.body.get('access_token')).toBeNull();
    const res = await deliver(gw, answer);
    expect(res.status, await res.clone().text()).toBe(303);
    // Without an access token there is no UserInfo: the IdP puts the claims in the ID token (Core 5.4).
    expect(await upstreamIdentity(gw)).toMatchObject({ 'x-user': 'carol', 'x-user-name': 'Carol Contractor' });
  });

  it('ends the session when the ID token expires, then tries a silent sign-in first', async () => {
    const gw = protocolGateway({ OIDC_RESPONSE_TYPE: 'id_token' });
    const jar = newIdpJar();
    const { location } = await redirectToIdp(gw);
    expect((await deliver(gw, await atIdp(location.href, { jar }))).status).toBe(303);
    expect((await gw.fetch('/page', { headers: NAVIGATE })).status).toBe(200);

    // oidc-provider's ID tokens live an hour. Only the gateway's clock moves, and only just past the
    // token's exp, so the new ID token the IdP issues now is still within CLOCK_SKEW of "now".
    clock.set(nowS() + 3600 + 5);
    const ended = await gw.fetch('/page', { headers: NAVIGATE });
    expect(ended.status).toBe(302);
    const silent = new URL(ended.headers.get('location')!);
    expect(silent.searchParams.get('prompt')).toBe('none');

    // Still signed in at the IdP: no form, straight back with a new ID token and a new session.
    const res = await deliver(gw, await atIdp(silent.href, { jar }));
    expect(res.status, await res.clone().text()).toBe(303);
    expect(res.headers.get('location')).toBe('/page');
    expect(setCookies(res).find((c) => c.name === '__Host-edgegate')?.value).toMatch(/\./);
  });

  it('with SESSION_OUTLIVES_TOKENS the session lives past the ID token, to SESSION_IDLE_TTL / SESSION_MAX_TTL', async () => {
    const gw = protocolGateway({ OIDC_RESPONSE_TYPE: 'id_token', SESSION_OUTLIVES_TOKENS: 'true' });
    const { location } = await redirectToIdp(gw);
    expect((await deliver(gw, await atIdp(location.href))).status).toBe(303);
    clock.set(nowS() + 3600 + 120);
    expect((await gw.fetch('/page', { headers: NAVIGATE })).status).toBe(200);
  });
});

describe('ID-token sign-in: configuration', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['with the query response mode', { OIDC_RESPONSE_MODE: 'query' }, /OIDC_RESPONSE_MODE: must be form_post with OIDC_RESPONSE_TYPE = "id_token"/],
    ['with offline_access', { OIDC_SCOPES: 'openid offline_access' }, /OIDC_SCOPES: offline_access needs a flow with a code/],
  ];
  for (const [label, overrides, message] of cases) {
    it(`is a configuration error ${label}`, async () => {
      expect(await configProblems(() => protocolGateway({ OIDC_RESPONSE_TYPE: 'id_token', ...overrides }).fetch('/', { headers: API }))).toMatch(message);
    });
  }
});

/** An id_token sign-in at the test issuer, with a hand-made ID token and response. */
async function idTokenAtTestIssuer(claims: Record<string, unknown> = {}, extra: Record<string, string> = {}) {
  const issuer = await hybridTestIssuer();
  const gw = gateway({ OIDC_ISSUER: issuer, OIDC_RESPONSE_TYPE: 'id_token' });
  const started = await startSignIn(gw, '/start');
  const payload: Record<string, unknown> = { iss: issuer, aud: CLIENT_ID, sub: 'test-user', nonce: started.nonce, iat: nowS(), exp: nowS() + 300, email: 't@example.com', ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  const body = new URLSearchParams({ id_token: await signAtTestIssuer(payload), state: started.state, iss: issuer, ...extra });
  const captured = gw.jar.header('https://localhost/_auth/callback');
  const res = await deliver(gw, { method: 'POST', url: 'https://localhost/_auth/callback', body });
  return { gw, res, body, captured };
}

describe('ID-token sign-in: what is refused', () => {
  it('accepts a correct response (positive control)', async () => {
    const { res } = await idTokenAtTestIssuer();
    expect(res.status, await res.clone().text()).toBe(303);
    expect(setCookies(res).some((c) => c.name === '__Host-edgegate')).toBe(true);
  });

  for (const [label, claims] of [
    ['another nonce', { nonce: 'replayed-from-elsewhere' }],
    ['no nonce', { nonce: undefined }],
    ['another audience', { aud: 'someone-else' }],
    ['an expired one', { exp: nowS() - 600, iat: nowS() - 900 }],
  ] as [string, Record<string, unknown>][]) {
    it(`refuses an ID token with ${label}`, async () => {
      const { gw, res } = await idTokenAtTestIssuer(claims);
      await expectRefused(gw, res, 502, 'id_token_invalid');
    });
  }

  it('refuses a response that also carries a code or an access token (none was asked for)', async () => {
    for (const extra of [{ code: 'surprise' }, { access_token: 'surprise', token_type: 'Bearer' }] as Record<string, string>[]) {
      const { gw, res } = await idTokenAtTestIssuer({}, extra);
      await expectRefused(gw, res, 400, 'callback_invalid');
    }
  });

  it('refuses the same response replayed with the captured transaction cookie (without a code, the gateway makes it single-use)', async () => {
    const { gw, res, body, captured } = await idTokenAtTestIssuer();
    expect(res.status).toBe(303);
    gw.jar.clear();
    const replay = await gw.fetch('https://localhost/_auth/callback', {
      method: 'POST',
      body,
      headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', cookie: captured },
    });
    await expectRefused(gw, replay, 400, 'callback_invalid');
  });
});
