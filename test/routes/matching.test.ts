// Matching on what is forwarded: traversal and encoding tricks against a public /assets/** and an
// admins-only /admin/**, end to end. Bob (staff) must never get a path under /admin to the upstream;
// alice (admins) must. Rules see exactly the path the upstream receives, never the query, a
// client-sent URL header or the User-Agent; a path whose plausible readings fall under different rules is a 400.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../support/gateway';
import { API, NAVIGATE, echoOf, identityHeaders, refusal, signedInAs, withRoutes } from './helpers';

const ROUTES = [
  { path: '/assets/**', auth: 'public' },
  { path: '/admin/**', auth: 'session', allow: { groups: ['admins'] } },
];

let anon: Gateway;
let bob: Gateway;
let alice: Gateway;
beforeAll(async () => {
  anon = withRoutes(ROUTES);
  bob = await signedInAs('bob', ROUTES);
  alice = await signedInAs('alice', ROUTES);
});

/**
 * What happens to a request line:
 * - `admin`: the /admin/** rule decides; the upstream receives `path` (alice) — bob 403, anonymous sent to sign in
 * - `public`: the /assets/** rule; forwarded as `path` without identity, for anyone
 * - `default`: no rule; any session, forwarded as `path` — which is NOT under /admin
 * - `invalid`: 400 path_invalid for everyone, nothing forwarded
 */
type Outcome = { kind: 'admin' | 'public' | 'default'; path: string } | { kind: 'invalid' };
const admin = (path = '/admin/x'): Outcome => ({ kind: 'admin', path });
const pub = (path: string): Outcome => ({ kind: 'public', path });
const other = (path: string): Outcome => ({ kind: 'default', path });
const invalid: Outcome = { kind: 'invalid' };

const CASES: [request: string, outcome: Outcome, why: string][] = [
  ['/admin/x', admin(), 'the plain path'],
  ['/admin', admin('/admin'), '/admin/** covers /admin itself'],
  ['/admin/', admin('/admin/'), 'and /admin/'],
  ['/assets/../admin/x', admin(), 'dot-segments are resolved by the URL parser before matching'],
  ['/assets/%2e%2e/admin/x', admin(), 'also when percent-encoded'],
  ['/assets/.%2E/admin/x', admin(), 'also half-encoded'],
  ['/assets/./../admin/x', admin(), 'single dots too'],
  ['/admin/./x', admin(), 'a "." segment inside the rule'],
  ['/assets\\..\\admin\\x', admin(), 'a raw backslash is a slash to the URL parser'],
  ['/%61dmin/x', admin(), 'encoded unreserved characters are decoded: the upstream receives /admin/x'],
  ['/adm%69n/x', admin(), 'anywhere in the segment'],
  ['/ad\tmin/x', admin(), 'tabs and newlines are removed by the URL parser'],
  ['/assets/%2E%2E%2Fadmin', invalid, 'an encoded slash has two readings'],
  ['/assets/%2e%2e%2fadmin/x', invalid, 'in lower case too'],
  ['/admin%2fx', invalid, 'an encoded slash in the protected prefix'],
  ['/assets%2F..%2Fadmin/x', invalid, 'encoded slashes around dots'],
  ['/assets/..%5cadmin', invalid, 'an encoded backslash'],
  ['/assets/..%5Cadmin/x', invalid, 'an encoded backslash, upper case'],
  ['/admin%00/x', invalid, 'an encoded NUL (C strings end there: /admin)'],
  ['/assets/%00/../admin/x', pub('/assets/admin/x'), 'the ".." removes only the NUL segment: still under /assets'],
  ['/assets/%C0%AE%C0%AE/admin/x', invalid, 'overlong UTF-8 for ".." (invalid UTF-8)'],
  ['/assets/%c0%2e%c0%2e/admin', invalid, 'half-overlong dots'],
  ['/assets/%zz/admin', invalid, 'a malformed escape'],
  ['//admin/x', invalid, 'an empty segment: nginx (merge_slashes) and others would serve /admin/x, which no rule covers as sent'],
  ['/assets//admin/x', pub('/assets//admin/x'), 'an empty segment in the middle: both readings are public, forwarded as sent'],
  ['/admin//x', admin('/admin//x'), 'both readings are the admin area'],
  ['/assets/..;/admin/x', invalid, 'Tomcat/Jetty strip ";…" and then resolve "..": /admin/x'],
  ['/assets/.;/admin/x', invalid, 'the same with "."'],
  ['/assets/..;jsessionid=1/admin/x', invalid, 'with a parameter value'],
  ['/assets/%2e%2e;/admin/x', invalid, 'an encoded "..;"'],
  ['/assets/..%3B/admin/x', invalid, '";" encoded'],
  ['/assets/x?/admin/x', pub('/assets/x'), 'the query string is never matched'],
  ['/assets/x?path=/admin/x&../../admin', pub('/assets/x'), 'however path-like'],
  ['/assets/x#/../../admin/x', pub('/assets/x'), 'nor the fragment (not even sent on)'],
  ['/admin/x?/assets/y', admin(), 'a public-looking query does not open a protected path'],
  ['/assets/%252e%252e/admin/x', invalid, 'an origin that decodes twice reads /admin/x'],
  ['/assets/%252e%252e/x', invalid, 'decoded twice: /x, outside /assets'],
  ['/assets/100%25', pub('/assets/100%25'), 'a literal percent sign: every reading is public'],
  ['/%2561dmin/x', invalid, 'a double-encoded "a" is "a" to an origin that decodes twice'],
  ['/admin%3Bx/secret', invalid, 'servlet origins that decode first read /admin;x/secret, i.e. /admin/secret'],
  ['/admin./x', invalid, 'IIS reads /admin/x'],
  ['/ADMIN/x', other('/ADMIN/x'), 'paths are case-sensitive (RFC 3986 6.2.2.1): /ADMIN is another path, forwarded as is'],
  ['/Admin/x', other('/Admin/x'), 'likewise'],
  ['/admin;x/y', invalid, 'servlet origins read /admin/y, others a segment "admin;x": the readings fall under different rules'],
  ['/admin;jsessionid=1/x', invalid, 'likewise with a session id'],
  ['/assets/app.css;jsessionid=1', pub('/assets/app.css;jsessionid=1'), 'both readings are public: legacy ;jsessionid links keep working'],
  ['/admin/x;jsessionid=1', admin('/admin/x;jsessionid=1'), 'both readings are the admin area'],
  ['/%EF%BD%81dmin/x', other('/%EF%BD%81dmin/x'), 'a fullwidth "ａ" is not "a" (no Unicode normalization)'],
  ['/administrator', other('/administrator'), '/admin/** is not a prefix match on characters'],
];

async function expectOutcome(request: string, outcome: Outcome) {
  const anonymous = await anon.fetch(request, { headers: NAVIGATE, cookies: false });
  const asBob = await bob.fetch(request, { headers: NAVIGATE });
  const asAlice = await alice.fetch(request, { headers: NAVIGATE });

  if (outcome.kind === 'invalid') {
    for (const res of [anonymous, asBob, asAlice]) {
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('path_invalid');
    }
    const json = await refusal(await bob.fetch(request, { headers: API }));
    expect([json.status, json.error]).toEqual([400, 'path_invalid']);
    return;
  }

  if (outcome.kind === 'admin') {
    expect(anonymous.status).toBe(302);
    expect(asBob.status).toBe(403);
    await asBob.body?.cancel();
    const echo = await echoOf(asAlice);
    expect(echo.path).toBe(outcome.path);
    expect(identityHeaders(echo)['x-user']).toBe('alice');
    return;
  }

  if (outcome.kind === 'public') {
    const echo = await echoOf(anonymous);
    expect(echo.path).toBe(outcome.path);
    expect(identityHeaders(echo)).toEqual({});
  } else {
    expect(anonymous.status).toBe(302);
    await anonymous.body?.cancel();
  }
  // Bob gets through, but what the upstream receives is never under /admin.
  const echo = await echoOf(asBob);
  expect(echo.path).toBe(outcome.path);
  expect(echo.path).not.toMatch(/^\/admin(\/|$)/);
  expect(identityHeaders(echo)['x-user']).toBe('bob');
  await asAlice.body?.cancel();
}

describe('path tricks against /assets/** (public) and /admin/** (admins only)', () => {
  it.each(CASES)('%s → %j (%s)', async (request, outcome) => {
    await expectOutcome(request, outcome);
  });
});

describe('nothing but the path decides', () => {
  const URL_HEADERS = ['X-Original-URL', 'X-Rewrite-URL', 'X-Forwarded-Uri', 'X-Original-URI', 'X-Forwarded-Prefix', 'X-Forwarded-Path'];

  it('a client-sent URL header does not open /admin for bob', async () => {
    for (const name of URL_HEADERS) {
      const res = await bob.fetch('/admin/x', { headers: { ...NAVIGATE, [name]: '/assets/x' } });
      expect(res.status, name).toBe(403);
      await res.body?.cancel();
    }
  });

  it('a client-sent URL header does not make /assets protected, and IIS/Symfony-style overrides never reach the upstream', async () => {
    const headers = new Headers(NAVIGATE);
    for (const name of URL_HEADERS) headers.set(name, '/admin/x');
    headers.set('x_original_url', '/admin/x');
    const echo = await echoOf(await anon.fetch('/assets/app.css', { headers, cookies: false }));
    expect(echo.path).toBe('/assets/app.css');
    const received = echo.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const name of ['x-original-url', 'x_original_url', 'x-rewrite-url', 'x-forwarded-uri', 'x-original-uri', 'x-forwarded-prefix']) {
      expect(received, name).not.toContain(name);
    }
    // Not a URL override anywhere we know of: passed on like any other header.
    expect(received).toContain('x-forwarded-path');
  });

  it('the User-Agent changes nothing (crawlers, monitors and curl are treated alike)', async () => {
    for (const ua of ['Googlebot/2.1 (+http://www.google.com/bot.html)', 'curl/8.0', 'Mozilla/5.0', '', 'edgegate-internal']) {
      const anonymous = await anon.fetch('/admin/x', { headers: { ...NAVIGATE, 'user-agent': ua }, cookies: false });
      expect(anonymous.status, ua).toBe(302);
      const asBob = await bob.fetch('/admin/x', { headers: { ...NAVIGATE, 'user-agent': ua } });
      expect(asBob.status, ua).toBe(403);
      await asBob.body?.cancel();
    }
  });

  it('the Host header of an absolute URL cannot smuggle a path', async () => {
    const res = await bob.fetch('https://localhost/assets/x', { headers: { ...NAVIGATE, host: 'localhost/admin/x' } });
    const echo = await echoOf(res);
    expect(echo.path).toBe('/assets/x');
  });
});
