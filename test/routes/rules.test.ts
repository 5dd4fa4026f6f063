// ROUTES through the worker's HTTP interface (docs/routes.md "Per-route protection"): first match wins, the default
// rule, public / session / api, methods, host, per-rule upstream and CORS preflights, against the
// local IdP and the echo upstream.
import { describe, expect, inject, it } from 'vitest';
import type { EchoBody } from '../setup/protocol';
import type { Gateway } from '../support/gateway';
import { API, NAVIGATE, echoOf, identityHeaders, refusal, sessionCookieOf, signedInAs, withRoutes } from './helpers';

const idp = inject('idpIssuer');
const upstream = inject('upstreamUrl');

const ROUTES = [
  { path: '/open/public/**', auth: 'public' },
  { path: '/open/**', auth: 'session' },
  { path: '/assets/*', auth: 'public' },
  { path: '/api/**', auth: 'api' },
  { path: '/docs/**', methods: ['GET'], auth: 'public' },
  { path: '/legacy/**', auth: 'public', upstream: `${upstream}/base` },
  { path: '/cors/**', auth: 'api', methods: ['POST'], cors_preflight: 'pass' },
  { path: '/**', host: 'admin.localhost', auth: 'session', allow: { groups: ['admins'] } },
];

const SPOOFED = {
  'x-user': 'mallory',
  'x-user-email': 'mallory@evil.example',
  'x-user-groups': 'admins',
  x_user: 'mallory',
  'x-forwarded-user': 'mallory',
  'remote-user': 'mallory',
  'x-auth-request-email': 'mallory@evil.example',
};

function expectSentToIdp(res: Response) {
  expect(res.status).toBe(302);
  expect(res.headers.get('location')!.startsWith(`${idp}/`)).toBe(true);
}

describe('order and default', () => {
  it('the first matching rule decides: /open/public/** (public) before /open/** (session)', async () => {
    const gw = withRoutes(ROUTES);
    const echo = await echoOf(await gw.fetch('/open/public/page', { headers: NAVIGATE }));
    expect(echo.path).toBe('/open/public/page');
    expectSentToIdp(await gw.fetch('/open/page', { headers: NAVIGATE }));
    expectSentToIdp(await gw.fetch('/open/publicity', { headers: NAVIGATE }));
  });

  it('a path no rule matches needs a session: browsers sign in, programs get 401, a session gets through', async () => {
    const gw = withRoutes(ROUTES);
    expectSentToIdp(await gw.fetch('/unlisted/page', { headers: NAVIGATE }));
    const r = await refusal(await gw.fetch('/unlisted/page', { headers: API }));
    expect([r.status, r.error]).toEqual([401, 'unauthenticated']);

    const bob = await signedInAs('bob', ROUTES);
    const echo = await echoOf(await bob.fetch('/unlisted/page', { headers: NAVIGATE }));
    expect(identityHeaders(echo)['x-user']).toBe('bob');
  });

  it('takes ROUTES as a JSON string too (.dev.vars / --var)', async () => {
    const gw = withRoutes(JSON.stringify(ROUTES));
    expect((await echoOf(await gw.fetch('/open/public/x', { headers: NAVIGATE }))).path).toBe('/open/public/x');
    expectSentToIdp(await gw.fetch('/open/x', { headers: NAVIGATE }));
  });

  it('with ROUTES unset or empty, every path needs a session', async () => {
    for (const routes of [undefined, [], '[]', '']) {
      const gw = withRoutes(routes);
      expectSentToIdp(await gw.fetch('/assets/app.css', { headers: NAVIGATE }));
    }
  });
});

describe('public rules', () => {
  it('are reachable without a session, forward no identity, and still strip spoofed identity headers', async () => {
    const gw = withRoutes(ROUTES);
    const res = await gw.fetch('/assets/app.css', { headers: { ...NAVIGATE, ...SPOOFED } });
    const echo = await echoOf(res);
    expect(identityHeaders(echo)).toEqual({});
    expect(echo.rawHeaders.join('\n')).not.toMatch(/mallory|evil\.example/i);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('`*` stays within one segment: /assets/js/app.js is not public', async () => {
    const gw = withRoutes(ROUTES);
    expectSentToIdp(await gw.fetch('/assets/js/app.js', { headers: NAVIGATE }));
  });

  it('forward the identity when a valid session happens to be present (and replace spoofed values)', async () => {
    const gw = await signedInAs('bob', ROUTES);
    const echo = await echoOf(await gw.fetch('/assets/app.css', { headers: { ...NAVIGATE, ...SPOOFED } }));
    const id = identityHeaders(echo);
    expect(id['x-user']).toBe('bob');
    expect(id['x-user-email']).toBe('bob@example.com');
    expect(id['x-user-groups']).toBe('staff');
    expect(echo.rawHeaders.join('\n')).not.toMatch(/mallory|evil\.example/i);
    // The gateway's cookie never reaches the upstream.
    expect(echo.headers['cookie']).toBeUndefined();
  });

  it('treat a garbage or stale session cookie as no session: still reachable, no identity', async () => {
    const gw = withRoutes(ROUTES);
    for (const cookie of ['__Host-edgegate=garbage', `__Host-edgegate=${'A'.repeat(22)}.${'B'.repeat(43)}`]) {
      const echo = await echoOf(await gw.fetch('/assets/app.css', { headers: { ...NAVIGATE, cookie }, cookies: false }));
      expect(identityHeaders(echo)).toEqual({});
      expect(echo.headers['cookie']).toBeUndefined();
    }
  });
});

describe('session rules', () => {
  it('redirect navigations to sign in and answer programs and non-GET requests with 401', async () => {
    const gw = withRoutes(ROUTES);
    const nav = await gw.fetch('/open/report?y=2026', { headers: NAVIGATE });
    expectSentToIdp(nav);

    const fetchLike = await refusal(await gw.fetch('/open/report', { headers: { accept: '*/*', 'sec-fetch-mode': 'cors' } }));
    expect(fetchLike.status).toBe(401);
    expect(fetchLike.body['login_url']).toBe('/_auth/login?rd=%2Fopen%2Freport');

    const post = await gw.fetch('/open/report', { method: 'POST', headers: { ...NAVIGATE, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    expect(post.status).toBe(401);
    expect(post.headers.get('location')).toBeNull();
  });

  it('pass a non-bearer Authorization header through to the upstream unchanged', async () => {
    const gw = await signedInAs('alice', ROUTES);
    const echo = await echoOf(await gw.fetch('/open/x', { headers: { ...NAVIGATE, authorization: 'Basic dXNlcjpwYXNz' } }));
    expect(echo.headers['authorization']).toBe('Basic dXNlcjpwYXNz');
    expect(identityHeaders(echo)['x-user']).toBe('alice');
  });
});

describe('api rules', () => {
  it('never redirect: a browser navigation without a session gets 401 JSON and a Bearer challenge', async () => {
    const gw = withRoutes(ROUTES);
    for (const headers of [NAVIGATE, API, { accept: 'text/html' }, {}] as Record<string, string>[]) {
      const res = await gw.fetch('/api/orders', { headers });
      expect(res.headers.get('location')).toBeNull();
      const r = await refusal(res);
      expect(r.status).toBe(401);
      expect(r.challenge).toMatch(/^Bearer realm="edgegate"/);
    }
  });

  it('accept a session cookie and forward the identity', async () => {
    const gw = await signedInAs('bob', ROUTES);
    const echo = await echoOf(await gw.fetch('/api/orders', { headers: NAVIGATE }));
    expect(identityHeaders(echo)['x-user']).toBe('bob');
  });
});

describe('methods', () => {
  it('a GET rule covers GET and HEAD; other methods fall through to the next rule (here: the default)', async () => {
    const gw = withRoutes(ROUTES);
    expect((await echoOf(await gw.fetch('/docs/guide', { headers: NAVIGATE }))).method).toBe('GET');
    const head = await gw.fetch('/docs/guide', { method: 'HEAD', headers: NAVIGATE });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/json');

    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const res = await gw.fetch('/docs/guide', { method, headers: API });
      expect(res.status, method).toBe(401);
    }
    const bob = await signedInAs('bob', ROUTES);
    const echo = await echoOf(await bob.fetch('/docs/guide', { method: 'POST', headers: API, body: 'x' }));
    expect([echo.method, echo.body, identityHeaders(echo)['x-user']]).toEqual(['POST', 'x', 'bob']);
  });
});

describe('host', () => {
  it('a host rule applies only to that host name (any case, trailing dot, any port)', async () => {
    const bob = await signedInAs('bob', ROUTES);
    const alice = await signedInAs('alice', ROUTES);
    const bobCookie = sessionCookieOf(bob);
    const aliceCookie = sessionCookieOf(alice);

    // On localhost the admin-host rule does not apply: the default rule lets any session in.
    expect(identityHeaders(await echoOf(await bob.fetch('https://localhost/dashboard', { headers: NAVIGATE })))['x-user']).toBe('bob');

    for (const origin of ['https://admin.localhost', 'https://ADMIN.localhost', 'https://admin.localhost.', 'https://admin.localhost:8443']) {
      const url = `${origin}/dashboard`;
      const anonymous = await bob.fetch(url, { headers: NAVIGATE, cookies: false });
      expectSentToIdp(anonymous);
      expect(new URL(anonymous.headers.get('location')!).searchParams.get('redirect_uri')).toBe(`${new URL(url).origin}/_auth/callback`);

      const denied = await bob.fetch(url, { headers: { ...NAVIGATE, cookie: bobCookie }, cookies: false });
      expect(denied.status, url).toBe(403);
      expect(await denied.text()).toContain('membership in admins');

      const echo = await echoOf(await alice.fetch(url, { headers: { ...NAVIGATE, cookie: aliceCookie }, cookies: false }));
      expect(identityHeaders(echo)['x-user']).toBe('alice');
      expect(echo.path).toBe('/dashboard');
    }
  });

  it('another host name is not the rule’s host (no suffix or prefix matching)', async () => {
    const bob = await signedInAs('bob', ROUTES);
    const cookie = sessionCookieOf(bob);
    for (const origin of ['https://xadmin.localhost', 'https://admin.localhost.evil.localhost', 'https://sub.admin.localhost']) {
      const echo = await echoOf(await bob.fetch(`${origin}/dashboard`, { headers: { ...NAVIGATE, cookie }, cookies: false }));
      expect(identityHeaders(echo)['x-user'], origin).toBe('bob');
    }
  });
});

describe('per-rule upstream', () => {
  it('sends the rule’s traffic to its own origin and base path, query kept; other rules use UPSTREAM_URL', async () => {
    const gw = withRoutes(ROUTES);
    const legacy = await echoOf(await gw.fetch('/legacy/page?q=1&q=2', { headers: { ...NAVIGATE, ...SPOOFED } }));
    expect(legacy.url).toBe('/base/legacy/page?q=1&q=2');
    expect(legacy.headers['x-forwarded-host']).toBe('localhost');
    expect(identityHeaders(legacy)).toEqual({});

    const other = await echoOf(await gw.fetch('/assets/app.css', { headers: NAVIGATE }));
    expect(other.url).toBe('/assets/app.css');
  });
});

/**
 * What the upstream received for a passed preflight: the answer carries no body (test/attacks/
 * read-through-cors-preflight), so the echo upstream keeps it under the request's `?remember=` id.
 */
async function preflightSeen(gw: Gateway, path: string, headers: Record<string, string>): Promise<EchoBody> {
  const id = crypto.randomUUID();
  const res = await gw.fetch(`${path}?remember=${id}`, { method: 'OPTIONS', headers });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(await res.text()).toBe('');
  const kept = await fetch(`${upstream}/remembered?id=${id}`);
  expect(kept.status).toBe(200);
  return (await kept.json()) as EchoBody;
}

describe('CORS preflight pass', () => {
  const PREFLIGHT = { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' };

  it('lets OPTIONS with Origin and Access-Control-Request-Method through without a session or identity', async () => {
    const gw = withRoutes(ROUTES);
    const echo = await preflightSeen(gw, '/cors/orders', { ...PREFLIGHT, ...SPOOFED });
    expect(echo.method).toBe('OPTIONS');
    expect(echo.headers['origin']).toBe('https://app.example');
    expect(identityHeaders(echo)).toEqual({});
  });

  it('forwards no identity on a preflight even with a session cookie, and drops that cookie', async () => {
    const gw = await signedInAs('alice', ROUTES);
    const echo = await preflightSeen(gw, '/cors/orders', PREFLIGHT);
    expect(identityHeaders(echo)).toEqual({});
    expect(echo.headers['cookie']).toBeUndefined();
  });

  it('a plain OPTIONS, or one without Access-Control-Request-Method or Origin, is not a preflight', async () => {
    const gw = withRoutes(ROUTES);
    for (const headers of [{}, { origin: 'https://app.example' }, { 'access-control-request-method': 'POST' }] as Record<string, string>[]) {
      const r = await refusal(await gw.fetch('/cors/orders', { method: 'OPTIONS', headers: { ...API, ...headers } }));
      expect(r.status, JSON.stringify(headers)).toBe(401);
    }
  });

  it('only rules with cors_preflight = "pass" let preflights through; the actual request still needs auth', async () => {
    const gw = withRoutes(ROUTES);
    expect((await gw.fetch('/api/orders', { method: 'OPTIONS', headers: PREFLIGHT })).status).toBe(401);
    expect((await gw.fetch('/cors/orders', { method: 'POST', headers: { ...API, origin: 'https://app.example' }, body: '{}' })).status).toBe(401);
    const bob = await signedInAs('bob', ROUTES);
    const echo = await echoOf(await bob.fetch('/cors/orders', { method: 'POST', headers: API, body: '{}' }));
    expect(identityHeaders(echo)['x-user']).toBe('bob');
  });
});
