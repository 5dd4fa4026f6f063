// RFC 9700 2.1 / 4.2 / 4.3: an attacker who reads URLs — browser history, proxy and server logs, the
// Referer a page sends to its subresources and links — must find no token there. A full sign-in,
// refresh and logout against the real IdP is walked like a browser, every answer of the gateway is
// kept, and each is checked: no access, refresh or ID token and no session cookie in any Location, page
// or JSON (the ID token goes to the IdP's own end-session endpoint as `id_token_hint`, the one place
// RP-Initiated Logout 1.0 puts it), and `Referrer-Policy: no-referrer` on every answer to a URL that
// carries a code or state and on every redirect the gateway makes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-ignore -- plain ESM script without type declarations
import { createCookieJar, signInAtIdp, signOutAtIdp } from '../../scripts/idp-login.mjs';
import { CLIENT_SECRET, LIFECYCLE_ACCESS_TTL, SESSION_SECRET } from '../setup/constants';
import { callback, signInWithScript, startSignIn } from '../support/flows';
import { clock, idp, lifecycleGateway, lifecycleIssuer, storedSession } from '../support/lifecycle';
import { API, NAVIGATE, SESSION_COOKIE, testIssuer } from './helpers';
import { gateway, type Gateway } from '../support/gateway';

beforeEach(() => idp.reset());
afterEach(() => clock.real());

interface Seen {
  what: string;
  url: string;
  response: Response;
  body: string;
}

/** Fetches through the gateway like a browser and keeps the answer (and its body) for the checks below. */
async function visit(gw: Gateway, seen: Seen[], what: string, url: string, init: RequestInit = { headers: NAVIGATE }): Promise<Seen> {
  const response = await gw.fetch(url, init);
  const entry = { what, url, response, body: await response.clone().text() };
  seen.push(entry);
  return entry;
}

describe('a full sign-in, refresh and logout at the real IdP', () => {
  it('puts no token or session cookie in any URL or body, and every redirect and code-carrying answer says no-referrer', async () => {
    const gw = lifecycleGateway();
    const seen: Seen[] = [];
    const idpJar = createCookieJar();

    const login = await visit(gw, seen, 'protected page → sign-in', '/reports?q=1');
    expect(login.response.status).toBe(302);
    const authorize = new URL(login.response.headers.get('location')!);
    const callbackUrl = new URL(String(await signInAtIdp(authorize.href, 'alice', { jar: idpJar })));
    const code = callbackUrl.searchParams.get('code')!;
    const state = callbackUrl.searchParams.get('state')!;
    const signedIn = await visit(gw, seen, 'callback', callbackUrl.href);
    expect(signedIn.response.status).toBe(303);
    const first = (await storedSession(gw))!;
    const cookie = gw.jar.get(SESSION_COOKIE)!;

    await visit(gw, seen, 'page', '/reports?q=1');
    await visit(gw, seen, 'userinfo', '/_auth/userinfo', { headers: API });
    clock.set(Math.floor(Date.now() / 1000) + LIFECYCLE_ACCESS_TTL - 10);
    await visit(gw, seen, 'page after refresh', '/reports?q=2');
    const second = (await storedSession(gw))!;
    expect(second.accessToken).not.toBe(first.accessToken);
    clock.real();

    const logout = await visit(gw, seen, 'logout', '/_auth/logout?rd=%2Fbye', { method: 'POST', headers: { ...NAVIGATE, 'sec-fetch-site': 'same-origin' } });
    expect(logout.response.status).toBe(303);
    const endSession = new URL(logout.response.headers.get('location')!);
    const back = new URL(String(await signOutAtIdp(endSession.href, { jar: idpJar })));
    await visit(gw, seen, 'signed-out landing', back.href);

    const tokens = [first.accessToken!, first.refreshToken!, second.accessToken!, second.refreshToken!];
    const idTokens = [first.idToken, second.idToken];
    const secrets = [...tokens, ...idTokens, cookie, cookie.split('.')[1]!, CLIENT_SECRET, SESSION_SECRET];
    for (const { what, url, response, body } of seen) {
      const location = response.headers.get('location') ?? '';
      for (const token of tokens) expect(location, `${what}: Location`).not.toContain(token);
      for (const secret of [cookie, CLIENT_SECRET, SESSION_SECRET, code]) expect(location, `${what}: Location`).not.toContain(secret);
      for (const idToken of idTokens) {
        if (!location.includes(idToken)) continue;
        // The one sanctioned place: id_token_hint, to the IdP's own end-session endpoint.
        expect(what).toBe('logout');
        expect(new URL(location).origin).toBe(lifecycleIssuer);
        expect(new URL(location).searchParams.get('id_token_hint')).toBe(idToken);
      }
      for (const secret of [...secrets, code]) expect(body, `${what}: body`).not.toContain(secret);
      expect(body, `${what}: no JWT in a body`).not.toMatch(/eyJ[\w-]{8,}\.eyJ[\w-]{8,}\./);
      const carriesSecretInUrl = /[?&](code|state|id_token_hint)=/.test(url);
      if (location || carriesSecretInUrl) expect(response.headers.get('referrer-policy'), `${what}: Referrer-Policy`).toBe('no-referrer');
      if (location) expect(response.headers.get('cache-control'), `${what}: a one-time redirect is not cached`).toBe('no-store');
    }
    // The landing page the IdP sent the browser to carried `state`: it says no-referrer too.
    expect(seen.at(-1)!.url).toContain('state=');
    expect(state).not.toBe('');
  });
});

describe('answers to URLs that carry a code or state', () => {
  it.each([
    ['a refused callback (page)', NAVIGATE],
    ['a refused callback (JSON)', API],
  ])('%s: no-referrer, no-store', async (_label, headers) => {
    const gw = gateway({ OIDC_ISSUER: testIssuer });
    const { state } = await startSignIn(gw);
    const res = await callback(gw, { code: 'leaky-code-1234567890', state, iss: 'https://evil.example' }, { headers });
    expect(res.status).toBe(400);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).not.toContain('leaky-code-1234567890');
  });

  it('a successful callback’s 303 points at the return path only: the code is not carried along', async () => {
    const gw = gateway({ OIDC_ISSUER: testIssuer });
    const { callbackResponse, code, state } = await signInWithScript(gw, {}, { rd: '/app?x=1' });
    expect(callbackResponse.headers.get('location')).toBe('/app?x=1');
    expect(callbackResponse.headers.get('referrer-policy')).toBe('no-referrer');
    const echo = await (await gw.fetch('/app?x=1', { headers: NAVIGATE })).text();
    expect(echo, 'the upstream never sees the code or state').not.toContain(code);
    expect(echo).not.toContain(state);
  });
});
