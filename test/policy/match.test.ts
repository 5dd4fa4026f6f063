// Route matching: which rule decides a request. Paths go through the same steps as in the worker
// (the URL parser, then normalizePath) before they meet the rules.
import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../src/policy/glob';
import { DEFAULT_RULE, matchRoute, routeFor } from '../../src/policy/match';
import { normalizePath } from '../../src/policy/normalize';
import { parseRoutes, type RouteRule } from '../../src/policy/rules';

function rulesOf(raw: unknown[]): RouteRule[] {
  const result = parseRoutes(raw);
  if ('problems' in result) throw new Error(JSON.stringify(result.problems));
  return result.rules;
}

/** What the worker matches for a request line: URL parser first, then normalizePath. */
function requestPath(raw: string): string {
  return normalizePath(new URL(`https://app.example.com${raw}`).pathname);
}

function matches(pattern: string, rawPath: string): boolean {
  const [rule] = rulesOf([{ path: pattern, auth: 'session' }]);
  return matchRoute([rule!], { host: 'app.example.com', method: 'GET', path: requestPath(rawPath) }) !== undefined;
}

describe('path globs', () => {
  const cases: [pattern: string, path: string, expected: boolean][] = [
    // exact
    ['/admin', '/admin', true],
    ['/admin', '/admin/', false],
    ['/admin/', '/admin', false],
    ['/admin', '/admin/x', false],
    ['/admin', '/adminx', false],
    ['/', '/', true],
    ['/', '/x', false],
    // case: paths are case-sensitive (RFC 3986 6.2.2.1)
    ['/admin', '/Admin', false],
    ['/admin/**', '/ADMIN/x', false],
    // `*`: within one segment, including an empty one
    ['/assets/*', '/assets/app.css', true],
    ['/assets/*', '/assets/', true],
    ['/assets/*', '/assets', false],
    ['/assets/*', '/assets/js/app.js', false],
    ['/assets/*.css', '/assets/app.css', true],
    ['/assets/*.css', '/assets/.css', true],
    ['/assets/*.css', '/assets/app.css.map', false],
    ['/assets/*.css', '/assets/x/app.css', false],
    ['/a/*/b', '/a/x/b', true],
    ['/a/*/b', '/a/x/y/b', false],
    ['/*.min.*', '/app.min.js', true],
    ['/*.min.*', '/app.js', false],
    ['/x*y*z', '/xyz', true],
    ['/x*y*z', '/xyyz', true],
    ['/x*y*z', '/xzy', false],
    ['/ab*ba', '/aba', false],
    // `**`: zero or more whole segments
    ['/api/**', '/api', true],
    ['/api/**', '/api/', true],
    ['/api/**', '/api/v1/users', true],
    ['/api/**', '/apix', false],
    ['/api/**', '/api-v2/x', false],
    ['/api/**', '/ap', false],
    ['/**', '/', true],
    ['/**', '/anything/at/all', true],
    ['/a/**/b', '/a/b', true],
    ['/a/**/b', '/a/x/b', true],
    ['/a/**/b', '/a/x/y/b', true],
    ['/a/**/b', '/a/b/b', true],
    ['/a/**/b', '/a/x/b/c', false],
    ['/a/**/b', '/a/bb', false],
    ['/a/**/b', '/b', false],
    ['/a/**/a', '/a', false],
    ['/a/**/**/b', '/a/b', true],
    ['/**/x.css', '/x.css', true],
    ['/**/x.css', '/a/b/x.css', true],
    ['/**/x.css', '/a/b/y.css', false],
    ['/a/**/*.js', '/a/c.js', true],
    ['/a/**/*.js', '/a/b/c.js', true],
    ['/a/**/*.js', '/a/b/c.css', false],
    ['/a/**/*.js', '/b/c.js', false],
    ['/a/**/b/**/c', '/a/b/c', true],
    ['/a/**/b/**/c', '/a/1/b/2/3/c', true],
    ['/a/**/b/**/c', '/a/c/b', false],
    ['/a/*/**', '/a/x', true],
    ['/a/*/**', '/a/x/y/z', true],
    ['/a/*/**', '/a', false],
  ];
  it.each(cases)('%s vs %s → %s', (pattern, path, expected) => {
    expect(matches(pattern, path)).toBe(expected);
  });
});

describe('encodings and traversal: rules see what the upstream will receive', () => {
  const cases: [pattern: string, path: string, expected: boolean][] = [
    ['/admin/**', '/%61dmin/x', true], // encoded unreserved characters are decoded
    ['/admin/**', '/adm%69n', true],
    ['/admin/**', '/public/../admin/x', true], // dot-segments resolved by the URL parser
    ['/admin/**', '/public/%2e%2e/admin/x', true],
    ['/admin/**', '/public/.%2E/admin/x', true],
    ['/admin/**', '/public\\..\\admin\\x', true], // backslashes are slashes to the URL parser
    ['/public/**', '/public/../admin/x', false],
    ['/public/**', '/public/%252e%252e/admin', true], // %25 stays encoded: the upstream gets this literal path
    ['/café/**', '/café/menu', true], // patterns are percent-encoded like request paths
    ['/café/**', '/caf%c3%a9/menu', true],
    ['/café/**', '/cafe%CC%81/menu', false], // NFD is another path, not normalized into NFC
    ['/my docs/*', '/my%20docs/a', true],
    ['/a%2Bb', '/a%2bb', true], // escapes compare upper-cased
    ['/a+b', '/a%2Bb', false], // "+" and "%2B" may differ to the upstream: not merged
  ];
  it.each(cases)('%s vs %s → %s', (pattern, path, expected) => {
    expect(matches(pattern, path)).toBe(expected);
  });

  it.each(['/admin%2fsecret', '/admin%5csecret', '/a%00b', '/a%zz', '/a%c3', '/%2e%2e%2fadmin', '/x/..;/admin', '/x/.;/admin', '/x/%2e%2e;/admin', '/x/..%3b/admin'])('%s cannot be normalized (400, never matched)', (path) => {
    expect(() => requestPath(path)).toThrow(expect.objectContaining({ code: 'path_invalid', status: 400 }));
  });

  it('empty segments are kept as sent (readings.ts judges them merged too)', () => {
    expect(requestPath('//admin')).toBe('//admin');
    expect(requestPath('/a//b/')).toBe('/a//b/');
    expect(matches('/a/**', '/a//b')).toBe(true);
    expect(matches('/a/**', '//a/b')).toBe(false);
  });

  it('query strings and fragments are never part of the path', () => {
    const rules = rulesOf([{ path: '/public', auth: 'public' }]);
    const path = requestPath('/public?/admin/x#/admin');
    expect(path).toBe('/public');
    expect(matchRoute(rules, { host: 'app.example.com', method: 'GET', path })?.index).toBe(0);
  });
});

describe('first match wins', () => {
  const rules = rulesOf([
    { path: '/admin/public/*', auth: 'public' },
    { path: '/admin/**', host: 'ops.example.com', auth: 'api' },
    { path: '/admin/**', auth: 'session', allow: { groups: ['admins'] } },
    { path: '/**', auth: 'public', methods: ['GET'] },
  ]);
  const at = (path: string, method = 'GET', host = 'app.example.com') => matchRoute(rules, { host, method, path })?.index;

  it('takes the earliest matching rule', () => {
    expect(at('/admin/public/logo.png')).toBe(0);
    expect(at('/admin/public/logo.png', 'GET', 'ops.example.com')).toBe(0);
    expect(at('/admin/public/a/b')).toBe(2);
    expect(at('/admin/users')).toBe(2);
    expect(at('/admin/users', 'GET', 'ops.example.com')).toBe(1);
    expect(at('/other')).toBe(3);
    expect(at('/other', 'HEAD')).toBe(3);
  });

  it('returns undefined when nothing matches; routeFor falls back to a session requirement', () => {
    expect(at('/other', 'POST')).toBeUndefined();
    const route = routeFor(rules, { host: 'app.example.com', method: 'POST', path: '/other' });
    expect(route).toBe(DEFAULT_RULE);
    expect(DEFAULT_RULE).toMatchObject({ index: -1, auth: 'session' });
    expect(DEFAULT_RULE.allow).toBeUndefined();
    expect(routeFor([], { host: 'x', method: 'GET', path: '/' }).auth).toBe('session');
  });
});

describe('host', () => {
  const rules = rulesOf([{ path: '/**', host: 'App.Example.com', auth: 'public' }]);
  const hits = (host: string) => matchRoute(rules, { host, method: 'GET', path: '/x' }) !== undefined;

  it.each([
    ['app.example.com', true],
    ['APP.EXAMPLE.COM', true],
    ['app.example.com:8443', true],
    ['app.example.com.', true],
    ['app.example.com.:443', true],
    ['other.example.com', false],
    ['evilapp.example.com', false],
    ['app.example.com.evil.net', false],
    ['sub.app.example.com', false],
    ['', false],
  ])('%s → %s', (host, expected) => {
    expect(hits(host)).toBe(expected);
  });

  it('IDNs compare as punycode, the form url.hostname has', () => {
    const [rule] = rulesOf([{ path: '/**', host: 'Bücher.example', auth: 'public' }]);
    expect(rule!.host).toBe('xn--bcher-kva.example');
    const host = new URL('https://BÜCHER.example/').hostname;
    expect(matchRoute([rule!], { host, method: 'GET', path: '/' })).toBe(rule);
  });

  it('IPv6 literals keep their brackets; the port is dropped', () => {
    const [rule] = rulesOf([{ path: '/**', host: '[::1]', auth: 'public' }]);
    expect(matchRoute([rule!], { host: '[::1]:8787', method: 'GET', path: '/' })).toBe(rule);
    expect(matchRoute([rule!], { host: '[::2]', method: 'GET', path: '/' })).toBeUndefined();
  });
});

describe('methods', () => {
  const method = (methods: string[], m: string, extra: Record<string, unknown> = {}) =>
    matchRoute(rulesOf([{ path: '/x', auth: 'api', methods, ...extra }]), { host: 'h', method: m, path: '/x' }) !== undefined;

  it('must include the request method', () => {
    expect(method(['GET', 'POST'], 'POST')).toBe(true);
    expect(method(['GET'], 'POST')).toBe(false);
    expect(method(['GET'], 'get')).toBe(false); // methods are case-sensitive (RFC 9110 9.1)
  });

  it('HEAD matches a rule listing GET, not the other way round', () => {
    expect(method(['GET'], 'HEAD')).toBe(true);
    expect(method(['HEAD'], 'GET')).toBe(false);
  });

  it('OPTIONS matches a rule with cors_preflight = "pass" even when not listed', () => {
    expect(method(['POST'], 'OPTIONS')).toBe(false);
    expect(method(['POST'], 'OPTIONS', { cors_preflight: 'pass' })).toBe(true);
    expect(method(['POST'], 'PUT', { cors_preflight: 'pass' })).toBe(false);
  });

  it('no methods list: every method', () => {
    const rules = rulesOf([{ path: '/x', auth: 'session' }]);
    for (const m of ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS', 'PROPFIND']) {
      expect(matchRoute(rules, { host: 'h', method: m, path: '/x' })?.index).toBe(0);
    }
  });
});

describe('letter case', () => {
  const rules = rulesOf([
    { path: '/Docs/**', auth: 'public', path_case: 'sensitive' },
    { path: '/Legacy/**', auth: 'public', path_case: 'insensitive' },
    { path: '/Admin/**', auth: 'session' },
  ]);
  const at = (path: string, options: { pathCase?: 'sensitive' | 'insensitive'; foldAll?: boolean } = {}) =>
    matchRoute(rules, { host: 'h', method: 'GET', path, ...options })?.index;

  it('rules follow PATH_CASE unless they say otherwise', () => {
    expect(at('/admin/x')).toBeUndefined();
    expect(at('/admin/x', { pathCase: 'insensitive' })).toBe(2);
    expect(at('/ADMIN/x', { pathCase: 'insensitive' })).toBe(2);
    expect(at('/LEGACY/x')).toBe(1);
    expect(at('/docs/x', { pathCase: 'insensitive' })).toBeUndefined();
    expect(at('/Docs/x', { pathCase: 'insensitive' })).toBe(0);
  });

  it('foldAll matches every rule case-insensitively (the reading of a case-insensitive origin)', () => {
    expect(at('/docs/x', { foldAll: true })).toBe(0);
    expect(at('/aDMIN/x', { foldAll: true })).toBe(2);
  });

  it('non-ASCII letters fold too; escapes of other characters are not letters', () => {
    const [cafe] = rulesOf([{ path: '/Café/**', auth: 'public', path_case: 'insensitive' }]);
    expect(matchRoute([cafe!], { host: 'h', method: 'GET', path: '/CAF%C3%89/x' })).toBe(cafe);
    expect(matchRoute([cafe!], { host: 'h', method: 'GET', path: '/CAFE%CC%81/x' })).toBeUndefined();
  });

  it('an earlier rule that may be case-sensitive never hides a later case-insensitive one', () => {
    expect('rules' in parseRoutes([{ path: '/a/**', auth: 'public' }, { path: '/a/b', auth: 'session', path_case: 'insensitive' }])).toBe(true);
    expect('rules' in parseRoutes([{ path: '/a/**', auth: 'public', path_case: 'sensitive' }, { path: '/a/b', auth: 'session' }])).toBe(true);
    expect(parseRoutes([{ path: '/A/**', auth: 'public', path_case: 'insensitive' }, { path: '/a/B', auth: 'session' }])).toEqual({
      problems: [expect.objectContaining({ key: 'ROUTES[1]', message: expect.stringMatching(/can never match: ROUTES\[0\]/) })],
    });
  });
});

describe('matcher cost', () => {
  it('stays linear-ish on hostile paths (no backtracking blow-up)', () => {
    const match = compileGlob('/**/*a*b*c*/**/*x*y*/**/end');
    const hostile = `/${'a/'.repeat(2000)}${'ab'.repeat(1000)}`;
    const started = performance.now();
    for (let i = 0; i < 20; i++) expect(match(hostile)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
