// Bad ROUTES through the gateway: a 500 at the first request that names the rule and key, for every
// path (gateway endpoints included), and never a half-configured gateway.
import { describe, expect, it } from 'vitest';
import { API, NAVIGATE, withRoutes } from './helpers';
import { configProblems } from '../support/config-errors';

/** The problems the operator is told (the log line); the public answer is generic (configProblems checks). */
async function configError(routes: unknown): Promise<string> {
  return configProblems(() => withRoutes(routes).fetch('/anything', { headers: API }));
}

const ok = { path: '/ok/**', auth: 'public' };

describe('invalid ROUTES', () => {
  const cases: [string, unknown, RegExp][] = [
    ['an unknown rule key', [ok, { path: '/a', auth: 'session', paht: '/b' }], /ROUTES\[1\]\.paht: is not a rule key; expected one of: path, host/],
    ['a misspelt allow key', [{ path: '/a', auth: 'session', allow: { group: ['admins'] } }], /ROUTES\[0\]\.allow\.group: is not an allow key/],
    ['a missing path', [{ auth: 'public' }], /ROUTES\[0\]\.path: is required/],
    ['a missing auth', [{ path: '/a' }], /ROUTES\[0\]\.auth: is required/],
    ['a bad glob ("**" inside a segment)', [ok, { path: '/api**', auth: 'api' }], /ROUTES\[1\]\.path: "\*\*" must be a whole segment/],
    ['a relative path', [{ path: 'admin/**', auth: 'session' }], /ROUTES\[0\]\.path: must start with "\/"/],
    ['a path with a query', [{ path: '/a?x=1', auth: 'session' }], /ROUTES\[0\]\.path: must not contain "\?"/],
    ['a path with dot-segments', [{ path: '/a/../admin/**', auth: 'public' }], /ROUTES\[0\]\.path: must not contain "\." or "\.\." segments/],
    ['a path with an empty segment', [{ path: '/a//b', auth: 'public' }], /ROUTES\[0\]\.path: is not a path the gateway would accept \(empty segment/],
    ['a bad auth', [ok, ok, { path: '/b', auth: 'private' }], /ROUTES\[2\]\.auth: expected "public", "session" or "api"/],
    ['auth in the wrong case', [{ path: '/b', auth: 'Public' }], /ROUTES\[0\]\.auth/],
    ['lower-case methods', [{ path: '/b', auth: 'public', methods: ['get'] }], /ROUTES\[0\]\.methods\[0\]: methods are case-sensitive: write "GET"/],
    ['a host with a port', [{ path: '/b', auth: 'public', host: 'app.example.com:443' }], /ROUTES\[0\]\.host: must not include a port/],
    ['a wildcard host', [{ path: '/b', auth: 'public', host: '*.example.com' }], /ROUTES\[0\]\.host: wildcard hosts are not supported/],
    ['an upstream that is not a URL', [{ path: '/b', auth: 'public', upstream: 'legacy.example.com' }], /ROUTES\[0\]\.upstream: expected an absolute URL/],
    ['allow on a public rule', [{ path: '/b', auth: 'public', allow: { groups: ['x'] } }], /ROUTES\[0\]\.allow: means nothing on a public rule/],
    ['scopes on a session rule', [{ path: '/b', auth: 'session', scopes: ['x'] }], /ROUTES\[0\]\.scopes: applies only to auth = "api"/],
    ['an empty allow list', [{ path: '/b', auth: 'session', allow: { emails: [] } }], /ROUTES\[0\]\.allow\.emails: is empty/],
    ['a bad email', [{ path: '/b', auth: 'session', allow: { emails: ['alice@@example.com'] } }], /ROUTES\[0\]\.allow\.emails\[0\]: expected an email address/],
    ['a domain with "@"', [{ path: '/b', auth: 'session', allow: { email_domains: ['@example.com'] } }], /ROUTES\[0\]\.allow\.email_domains\[0\]: write the domain without "@"/],
    ['max_age as a string', [{ path: '/b', auth: 'session', max_age: '300' }], /ROUTES\[0\]\.max_age: expected a number of seconds/],
    ['cors_preflight other than "pass"', [{ path: '/b', auth: 'api', cors_preflight: true }], /ROUTES\[0\]\.cors_preflight: the only accepted value is "pass"/],
    ['a rule shadowed by an earlier one', [{ path: '/a/**', auth: 'session' }, { path: '/a/public/**', auth: 'public' }], /ROUTES\[1\]: can never match: ROUTES\[0\]/],
    ['a rule that is not a table', ['/admin/**'], /ROUTES\[0\]: expected a table with at least path and auth/],
    ['ROUTES that is a table, not a list', { path: '/a', auth: 'public' }, /ROUTES: expected a list of rules/],
    ['ROUTES as JSON that does not parse', '[{"path": "/a", "auth": "public"', /ROUTES: is not valid JSON .*; expected a JSON array of rules/],
    ['ROUTES as TOML pasted into a JSON variable', '[[vars.ROUTES]]\npath = "/a"', /ROUTES: is not valid JSON/],
    ['ROUTES as a JSON string with a bad rule', JSON.stringify([ok, { path: '/x', auth: 'sesion' }]), /ROUTES\[1\]\.auth/],
  ];

  for (const [label, routes, message] of cases) {
    it(`names the problem: ${label}`, async () => {
      expect(await configError(routes)).toMatch(message);
    });
  }

  it('lists every problem of every rule at once', async () => {
    const problems = await configError([{ path: 'a', auth: 'x' }, ok, { path: '/c', auth: 'session', allow: { nope: 1 } }]);
    expect(problems).toMatch(/ROUTES\[0\]\.path/);
    expect(problems).toMatch(/ROUTES\[0\]\.auth/);
    expect(problems).toMatch(/ROUTES\[2\]\.allow\.nope/);
  });

  it('refuses every request, public paths and gateway endpoints included, with a readable page for browsers', async () => {
    const gw = withRoutes([ok, { path: '/x', auth: 'public', paht: '/y' }]);
    for (const path of ['/ok/x', '/x', '/_auth/login', '/_auth/callback?code=a&state=b']) {
      const res = await gw.fetch(path, { headers: NAVIGATE });
      expect(res.status, path).toBe(500);
      const page = await res.text();
      expect(page).toContain('ROUTES[1].paht');
    }
  });
});
