// Step-up (issue 3 item 4): `max_age` with oidc-provider, `acr_values` with the scriptable test
// issuer (oidc-provider here has no acr policy to script). A session too old or too weak is sent to
// sign in again with the rule's parameters; the ID token's auth_time / acr are checked at the
// callback; the new session replaces the old; api rules answer RFC 9470's challenge instead.
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import type { Gateway } from '../support/gateway';
import { callback, scriptCode, signIn, signInWithScript } from '../support/flows';
import { API, NAVIGATE, SESSION_COOKIE, challengeParams, echoOf, identityHeaders, refusal, withRoutes } from './helpers';
// @ts-ignore -- plain ESM script without type declarations
import { signInAtIdp } from '../../scripts/idp-login.mjs';

const idp = inject('idpIssuer');
const testIssuer = inject('testIssuerUrl');

afterEach(() => {
  vi.useRealTimers();
});

const nowS = () => Math.floor(Date.now() / 1000);

/** Opens `path` as a browser; expects the redirect to sign in and returns the authorization request. */
async function redirectedToSignIn(gw: Gateway, path: string): Promise<URL> {
  const res = await gw.fetch(path, { headers: NAVIGATE });
  const location = res.headers.get('location');
  expect(res.status, `${path}: ${(await res.text()).slice(0, 200)}`).toBe(302);
  return new URL(location!);
}

/** Completes a sign-in the gateway started (at oidc-provider) as `user`; returns the callback's response. */
async function completeAtIdp(gw: Gateway, authorize: URL, user = 'alice'): Promise<Response> {
  const callbackUrl = String(await signInAtIdp(authorize.href, user));
  return gw.fetch(callbackUrl, { headers: NAVIGATE });
}

/** Completes a sign-in the gateway started at the test issuer, with an ID token carrying `claims`. */
async function completeAtTestIssuer(gw: Gateway, authorize: URL, claims: Record<string, unknown>): Promise<Response> {
  const p = authorize.searchParams;
  const code = await scriptCode(testIssuer, { idToken: { claims: { nonce: p.get('nonce'), ...claims } }, codeChallenge: p.get('code_challenge')! });
  return callback(gw, { code, state: p.get('state')!, iss: testIssuer });
}

describe('max_age (oidc-provider)', () => {
  const ROUTES = [
    { path: '/recent/**', auth: 'session', max_age: 300 },
    { path: '/api/recent/**', auth: 'api', max_age: 300 },
  ];
  // No clock skew: the ages below are exact.
  const settings = { CLOCK_SKEW: '0' };

  it('the first sign-in through a max_age page already asks for max_age (no prompt=login needed)', async () => {
    const gw = withRoutes(ROUTES, settings);
    const authorize = await redirectedToSignIn(gw, '/recent/page');
    expect(authorize.origin).toBe(idp);
    expect(authorize.searchParams.get('max_age')).toBe('300');
    expect(authorize.searchParams.get('prompt')).toBeNull();
    const cb = await completeAtIdp(gw, authorize);
    expect([cb.status, cb.headers.get('location')]).toEqual([303, '/recent/page']);
    expect(identityHeaders(await echoOf(await gw.fetch('/recent/page', { headers: NAVIGATE })))['x-user']).toBe('alice');
  });

  it('a session without auth_time never satisfies max_age: sign in again with prompt=login', async () => {
    const gw = withRoutes(ROUTES, settings);
    await signIn(gw, { user: 'alice' }); // through /_auth/login: the ID token carries no auth_time
    expect((await gw.fetch('/elsewhere', { headers: NAVIGATE })).status).toBe(200);
    const authorize = await redirectedToSignIn(gw, '/recent/page');
    expect(authorize.searchParams.get('max_age')).toBe('300');
    expect(authorize.searchParams.get('prompt')).toBe('login');
  });

  it('a session older than max_age signs in again (max_age, prompt=login); the new session replaces the old one', async () => {
    const gw = withRoutes(ROUTES, settings);
    await completeAtIdp(gw, await redirectedToSignIn(gw, '/recent/page'), 'alice');
    const oldCookie = `${SESSION_COOKIE}=${gw.jar.get(SESSION_COOKIE)}`;
    await echoOf(await gw.fetch('/recent/page', { headers: NAVIGATE }));

    // 330 s later (the gateway's clock only; the IdP keeps real time).
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start + 330_000);

    // Pages without step-up keep working with the same session.
    expect(identityHeaders(await echoOf(await gw.fetch('/elsewhere', { headers: NAVIGATE })))['x-user']).toBe('alice');
    // An api rule does not redirect: RFC 9470 challenge.
    const api = await refusal(await gw.fetch('/api/recent/x', { headers: API }));
    expect([api.status, api.error]).toEqual([401, 'step_up_required']);
    const params = challengeParams(api.challenge);
    expect(params['error']).toBe('insufficient_user_authentication');
    expect(params['max_age']).toBe('300');
    expect(params['error_description']).toBeTruthy();
    // Programs on session rules get the same 401.
    expect((await gw.fetch('/recent/page', { headers: API })).status).toBe(401);

    const authorize = await redirectedToSignIn(gw, '/recent/page');
    expect(authorize.searchParams.get('max_age')).toBe('300');
    expect(authorize.searchParams.get('prompt')).toBe('login');

    // oidc-provider authenticates again (prompt=login shows the login form) and stamps auth_time
    // with its real clock. The gateway's clock is set to 290 s after that, so it sees an
    // authentication 290 s old: inside max_age = 300, while the first one is 330+ s old. (Not back
    // to real time: the sign-in transaction was created at +330 s, and one from more than 60 s in
    // the future is refused.)
    const callbackUrl = String(await signInAtIdp(authorize.href, 'alice'));
    vi.setSystemTime(start + 290_000);
    const cb = await gw.fetch(callbackUrl, { headers: NAVIGATE });
    expect([cb.status, cb.headers.get('location')]).toEqual([303, '/recent/page']);
    const newCookie = `${SESSION_COOKIE}=${gw.jar.get(SESSION_COOKIE)}`;
    expect(newCookie).not.toBe(oldCookie);

    expect(identityHeaders(await echoOf(await gw.fetch('/recent/page', { headers: NAVIGATE })))['x-user']).toBe('alice');
    expect((await gw.fetch('/api/recent/x', { headers: API })).status).toBe(200);
    // The replaced session is gone.
    const old = await gw.fetch('/elsewhere', { headers: { ...API, cookie: oldCookie }, cookies: false });
    expect(old.status).toBe(401);
  });
});

describe('the ID token is checked against what the step-up asked for (test issuer)', () => {
  const ROUTES = [
    { path: '/recent/**', auth: 'session', max_age: 300 },
    { path: '/mfa/**', auth: 'session', acr_values: ['urn:example:mfa', 'phr'] },
    { path: '/api/mfa/**', auth: 'api', acr_values: ['urn:example:mfa'] },
  ];
  const gatewayAtTestIssuer = () => withRoutes(ROUTES, { OIDC_ISSUER: testIssuer });

  async function expectRefusedAtCallback(gw: Gateway, res: Response, status: number, code: string) {
    const page = await res.text();
    expect(res.status, page.slice(0, 300)).toBe(status);
    expect(page).toContain(`Error ${code}`);
    expect(gw.jar.get(SESSION_COOKIE)).toBeUndefined();
  }

  it('max_age: an auth_time older than asked is refused (403, not signed in); a missing one is an invalid ID token', async () => {
    let gw = gatewayAtTestIssuer();
    let authorize = await redirectedToSignIn(gw, '/recent/page');
    expect(authorize.searchParams.get('max_age')).toBe('300');
    await expectRefusedAtCallback(gw, await completeAtTestIssuer(gw, authorize, { auth_time: nowS() - 3600 }), 403, 'forbidden');

    gw = gatewayAtTestIssuer();
    authorize = await redirectedToSignIn(gw, '/recent/page');
    await expectRefusedAtCallback(gw, await completeAtTestIssuer(gw, authorize, {}), 502, 'id_token_invalid');

    gw = gatewayAtTestIssuer();
    authorize = await redirectedToSignIn(gw, '/recent/page');
    const ok = await completeAtTestIssuer(gw, authorize, { auth_time: nowS() - 10 });
    expect(ok.status).toBe(303);
    expect(identityHeaders(await echoOf(await gw.fetch('/recent/page', { headers: NAVIGATE })))['x-user']).toBe('test-user');
  });

  it('acr_values: the first sign-in asks for them; an acr among them gets in', async () => {
    const gw = gatewayAtTestIssuer();
    const authorize = await redirectedToSignIn(gw, '/mfa/page');
    expect(authorize.searchParams.get('acr_values')).toBe('urn:example:mfa phr');
    expect(authorize.searchParams.get('prompt')).toBeNull();
    const cb = await completeAtTestIssuer(gw, authorize, { acr: 'phr' });
    expect([cb.status, cb.headers.get('location')]).toEqual([303, '/mfa/page']);
    expect(identityHeaders(await echoOf(await gw.fetch('/mfa/page', { headers: NAVIGATE })))['x-user']).toBe('test-user');
  });

  for (const [label, claims] of [
    ['a weaker acr', { acr: 'urn:example:pwd' }],
    ['no acr at all', {}],
    ['an acr that only starts like an accepted one', { acr: 'urn:example:mfa:weak' }],
    ['an acr of the wrong type', { acr: ['urn:example:mfa'] }],
  ] as const) {
    it(`acr_values not met by the IdP (${label}): the callback refuses with 403 and signs nobody in`, async () => {
      const gw = gatewayAtTestIssuer();
      const authorize = await redirectedToSignIn(gw, '/mfa/page');
      const res = await completeAtTestIssuer(gw, authorize, claims);
      await expectRefusedAtCallback(gw, res, 403, 'forbidden');
    });
  }

  it('a weaker session is sent to sign in again with acr_values (no prompt=login); the stronger one replaces it', async () => {
    const gw = gatewayAtTestIssuer();
    const weak = await signInWithScript(gw, { idToken: { claims: { acr: 'urn:example:pwd', auth_time: nowS() } } });
    expect(weak.callbackResponse.status).toBe(303);
    const weakCookie = `${SESSION_COOKIE}=${gw.jar.get(SESSION_COOKIE)}`;
    expect((await gw.fetch('/elsewhere', { headers: NAVIGATE })).status).toBe(200);

    // api rule: RFC 9470 challenge naming the acr values.
    const api = await refusal(await gw.fetch('/api/mfa/x', { headers: NAVIGATE }));
    expect([api.status, api.error]).toEqual([401, 'step_up_required']);
    const params = challengeParams(api.challenge);
    expect(params['error']).toBe('insufficient_user_authentication');
    expect(params['acr_values']).toBe('urn:example:mfa');
    expect(params['max_age']).toBeUndefined();

    const authorize = await redirectedToSignIn(gw, '/mfa/page');
    expect(authorize.searchParams.get('acr_values')).toBe('urn:example:mfa phr');
    expect(authorize.searchParams.get('prompt')).toBeNull();
    const cb = await completeAtTestIssuer(gw, authorize, { acr: 'urn:example:mfa' });
    expect(cb.status).toBe(303);
    expect(`${SESSION_COOKIE}=${gw.jar.get(SESSION_COOKIE)}`).not.toBe(weakCookie);

    await echoOf(await gw.fetch('/mfa/page', { headers: NAVIGATE }));
    await echoOf(await gw.fetch('/api/mfa/x', { headers: API }));
    expect((await gw.fetch('/elsewhere', { headers: { ...API, cookie: weakCookie }, cookies: false })).status).toBe(401);
  });

  it('acr and auth_time come from the ID token only: a UserInfo answer cannot raise them', async () => {
    const gw = gatewayAtTestIssuer();
    const result = await signInWithScript(gw, {
      idToken: { claims: { acr: 'urn:example:pwd' } },
      userinfo: { sub: 'test-user', acr: 'urn:example:mfa', auth_time: nowS(), email: 'x@example.com' },
    });
    expect(result.callbackResponse.status).toBe(303);
    expect((await redirectedToSignIn(gw, '/mfa/page')).searchParams.get('acr_values')).toBe('urn:example:mfa phr');
  });
});
