// The full sign-in against the real local IdP (oidc-provider), and what the upstream then receives.
import { describe, expect, inject, it } from 'vitest';
import { parseSetCookie, setCookies } from '../support/cookies';
import { gateway } from '../support/gateway';
import { signIn, startSignIn } from '../support/flows';
import { API, NAVIGATE, header, upstreamSees } from './helpers';

describe('sign-in with the authorization code flow', () => {
  it('redirects a page navigation without a session to the IdP with PKCE S256, state and nonce', async () => {
    const gw = gateway();
    const res = await gw.fetch('/reports/q3?year=2026', { headers: NAVIGATE });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin).toBe(inject('idpIssuer'));
    const p = location.searchParams;
    expect(p.get('response_type')).toBe('code');
    expect(p.get('client_id')).toBe('edgegate-test');
    expect(p.get('redirect_uri')).toBe('https://localhost/_auth/callback');
    expect(p.get('scope')).toBe('openid profile email');
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('state')).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(p.get('nonce')).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(res.headers.get('cache-control')).toBe('no-store');

    const [tx] = setCookies(res);
    expect(tx!.name).toMatch(/^__Host-edgegate-tx-/);
    expect(tx!.httpOnly).toBe(true);
    expect(tx!.secure).toBe(true);
    expect(tx!.path).toBe('/');
    expect(tx!.domain).toBeUndefined();
    expect(tx!.maxAge).toBeLessThanOrEqual(600);
    // The transaction is encrypted: the verifier and nonce are not readable from the cookie.
    expect(tx!.value).not.toContain(p.get('nonce'));
  });

  it('gives every sign-in a fresh state, nonce and PKCE challenge', async () => {
    const gw = gateway();
    const a = await startSignIn(gw, '/');
    const b = await startSignIn(gw, '/');
    expect(a.state).not.toBe(b.state);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.codeChallenge).not.toBe(b.codeChallenge);
  });

  it('signs in at the IdP, sets the __Host- session cookie and returns to the page asked for', async () => {
    const gw = gateway();
    const res = await signIn(gw, { user: 'alice', rd: '/dashboard?tab=2' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard?tab=2');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const session = setCookies(res).find((c) => c.name === '__Host-edgegate');
    expect(session).toBeDefined();
    expect(session!.value).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(session!.httpOnly).toBe(true);
    expect(session!.secure).toBe(true);
    expect(session!.sameSite?.toLowerCase()).toBe('lax');
    expect(session!.path).toBe('/');
    expect(session!.domain).toBeUndefined();
    // The transaction cookie is spent.
    const tx = setCookies(res).find((c) => c.name.startsWith('__Host-edgegate-tx-'));
    expect(tx?.maxAge).toBe(0);
    // No token reaches the browser.
    const body = await res.text();
    expect(body).not.toMatch(/eyJ/);
  });

  it('forwards the identity to the upstream in X-User headers (claims from UserInfo)', async () => {
    const gw = gateway();
    await signIn(gw, { user: 'alice' });
    const echo = await upstreamSees(gw, '/profile');
    expect(echo.path).toBe('/profile');
    expect(header(echo, 'x-user')).toBe('alice');
    expect(header(echo, 'x-user-email')).toBe('alice@example.com');
    expect(header(echo, 'x-user-name')).toBe('Alice Admin');
    expect(header(echo, 'x-user-groups')).toBe('admins,staff');
    expect(header(echo, 'x-forwarded-host')).toBe('localhost');
    expect(header(echo, 'x-forwarded-proto')).toBe('https');
  });

  it('forwards the identity when the IdP puts the claims in the ID token itself', async () => {
    const gw = gateway({ OIDC_ISSUER: inject('idpIssuerFullClaims') });
    await signIn(gw, { user: 'bob' });
    const echo = await upstreamSees(gw, '/');
    expect(header(echo, 'x-user')).toBe('bob');
    expect(header(echo, 'x-user-email')).toBe('bob@example.com');
    expect(header(echo, 'x-user-groups')).toBe('staff');
  });

  it('does not forward an email the IdP marks as unverified', async () => {
    const gw = gateway();
    await signIn(gw, { user: 'carol' });
    const echo = await upstreamSees(gw, '/');
    expect(header(echo, 'x-user')).toBe('carol');
    expect(header(echo, 'x-user-email')).toBeUndefined();
    expect(header(echo, 'x-user-groups')).toBeUndefined();
  });

  it('sends the claim named by USER_CLAIM as X-User', async () => {
    const gw = gateway({ USER_CLAIM: 'email' });
    await signIn(gw, { user: 'bob' });
    const echo = await upstreamSees(gw, '/');
    expect(header(echo, 'x-user')).toBe('bob@example.com');
  });

  it('lets several tabs sign in at once, each completing its own transaction', async () => {
    const gw = gateway();
    const first = await startSignIn(gw, '/one');
    const second = await startSignIn(gw, '/two');
    // @ts-ignore -- plain ESM script
    const { signInAtIdp } = await import('../../scripts/idp-login.mjs');
    const cbSecond = await signInAtIdp(second.authorizeUrl.href, 'bob');
    const cbFirst = await signInAtIdp(first.authorizeUrl.href, 'bob');
    const r2 = await gw.fetch(cbSecond, { headers: NAVIGATE });
    expect(r2.status).toBe(303);
    expect(r2.headers.get('location')).toBe('/two');
    const r1 = await gw.fetch(cbFirst, { headers: NAVIGATE });
    expect(r1.status).toBe(303);
    expect(r1.headers.get('location')).toBe('/one');
  });

  it('keeps at most three sign-ins in progress (no cookie pile-up, no 431s)', async () => {
    const gw = gateway();
    for (let i = 0; i < 8; i++) await startSignIn(gw, `/p${i}`);
    const pending = gw.jar.names().filter((n) => n.startsWith('__Host-edgegate-tx-'));
    expect(pending.length).toBe(3);
  });

  it('issues a new session id on every sign-in and ends the previous session', async () => {
    const gw = gateway();
    await signIn(gw, { user: 'alice' });
    const before = gw.jar.get('__Host-edgegate');
    await signIn(gw, { user: 'bob' });
    const after = gw.jar.get('__Host-edgegate');
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(header(await upstreamSees(gw, '/'), 'x-user')).toBe('bob');
    // The old cookie no longer opens a session.
    const old = await gw.fetch('/', { headers: { ...API, cookie: `__Host-edgegate=${before}` }, store: false });
    expect(old.status).toBe(401);
  });
});

describe('return path after sign-in (no open redirects)', () => {
  const hostile = [
    'https://evil.example/',
    '//evil.example/',
    '/\\evil.example/',
    '\\\\evil.example',
    'javascript:alert(1)',
    '/\t/evil.example',
    'http:evil.example',
    '/_auth/logout',
  ];
  for (const rd of hostile) {
    it(`replaces rd=${JSON.stringify(rd)} with /`, async () => {
      const gw = gateway();
      const res = await signIn(gw, { rd });
      expect(res.headers.get('location')).toBe('/');
    });
  }

  it('keeps encoded CR/LF encoded: a same-origin path, no header injection', async () => {
    const gw = gateway();
    const res = await signIn(gw, { rd: '/%0d%0aSet-Cookie:x=1' });
    expect(res.headers.get('location')).toBe('/%0d%0aSet-Cookie:x=1');
    expect(res.headers.get('set-cookie')).not.toContain('x=1');
  });

  it('keeps a same-origin path with its query', async () => {
    const gw = gateway();
    const res = await signIn(gw, { rd: '/a/b?c=d&e=%2F' });
    expect(res.headers.get('location')).toBe('/a/b?c=d&e=%2F');
  });
});

describe('API-style requests without a session', () => {
  for (const [label, headers] of [
    ['Accept: application/json', { accept: 'application/json' }],
    ['Sec-Fetch-Mode: cors', { 'sec-fetch-mode': 'cors', accept: '*/*' }],
    ['X-Requested-With: XMLHttpRequest', { 'x-requested-with': 'XMLHttpRequest' }],
  ] as const) {
    it(`get 401 JSON with WWW-Authenticate, not a redirect (${label})`, async () => {
      const gw = gateway();
      const res = await gw.fetch('/api/orders?id=1', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="edgegate"/);
      expect(res.headers.get('content-type')).toContain('application/json');
      const body = (await res.json()) as Record<string, string>;
      expect(body.error).toBe('unauthenticated');
      expect(body.login_url).toBe('/_auth/login?rd=%2Fapi%2Forders%3Fid%3D1');
      expect(body.request_id).toBeTruthy();
    });
  }

  it('answers a POST without a session with 401 instead of redirecting away its body', async () => {
    const gw = gateway();
    const res = await gw.fetch('/form', { method: 'POST', body: 'a=1', headers: { ...NAVIGATE, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('text/html');
  });
});

describe('/_auth/userinfo', () => {
  it('answers the signed-in user’s claims as JSON, without tokens', async () => {
    const gw = gateway();
    await signIn(gw, { user: 'alice' });
    const res = await gw.fetch('/_auth/userinfo', { headers: API });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const claims = (await res.json()) as Record<string, unknown>;
    expect(claims.sub).toBe('alice');
    expect(claims.email).toBe('alice@example.com');
    expect(claims.groups).toEqual(['admins', 'staff']);
    expect(JSON.stringify(claims)).not.toMatch(/eyJ|access_token|id_token|refresh_token|nonce/);
  });

  it('answers 401 JSON when not signed in', async () => {
    const res = await gateway().fetch('/_auth/userinfo', { headers: API });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('unauthenticated');
  });
});

describe('unknown gateway paths', () => {
  it('answers 404 for /_auth/* paths it does not serve, and never forwards them', async () => {
    const gw = gateway();
    await signIn(gw);
    for (const path of ['/_auth/nope', '/%5fauth/x', '/%5Fauth/userinfo2']) {
      const res = await gw.fetch(path, { headers: API });
      expect(res.status, path).toBe(404);
    }
    // An encoded spelling of a real endpoint is still the gateway's endpoint, not the upstream's.
    const login = await gw.fetch('/_auth/%6cogin', { headers: NAVIGATE });
    expect(login.status).toBe(302);
    expect(new URL(login.headers.get('location')!).origin).toBe(inject('idpIssuer'));
  });
});
