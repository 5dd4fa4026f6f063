// ROUTES parsing: every mistake is reported by rule index and key, with what is expected.
import { describe, expect, it } from 'vitest';
import { parseRoutes, type RouteProblem, type RouteRule } from '../../src/policy/rules';

function rulesOf(raw: unknown): RouteRule[] {
  const result = parseRoutes(raw);
  if ('problems' in result) throw new Error(JSON.stringify(result.problems));
  return result.rules;
}

function problemsOf(raw: unknown): RouteProblem[] {
  const result = parseRoutes(raw);
  if (!('problems' in result)) throw new Error('expected problems, got valid rules');
  return result.problems;
}

/** One rule's problems, after `before` valid rules so the index is not always 0. */
function problemsOfRule(rule: Record<string, unknown>, before = 0): RouteProblem[] {
  const valid = Array.from({ length: before }, (_, i) => ({ path: `/ok${i}`, auth: 'public' }));
  return problemsOf([...valid, rule]);
}

const base = { path: '/x', auth: 'session' };

describe('the ROUTES value', () => {
  it('absent or empty means no rules', () => {
    expect(rulesOf(undefined)).toEqual([]);
    expect(rulesOf('')).toEqual([]);
    expect(rulesOf('  ')).toEqual([]);
    expect(rulesOf([])).toEqual([]);
  });

  it('accepts a TOML array of tables and the same as a JSON string', () => {
    const fromToml = rulesOf([{ path: '/a/*', auth: 'public' }]);
    const fromJson = rulesOf('[{"path":"/a/*","auth":"public"}]');
    expect(fromJson.map(({ matchPath, matchFolded, ...rest }) => rest)).toEqual(fromToml.map(({ matchPath, matchFolded, ...rest }) => rest));
  });

  it.each([
    ['not JSON', '[{"path":', /not valid JSON/],
    ['an object', { path: '/x', auth: 'public' }, /expected a list of rules/],
    ['a JSON object string', '{"path":"/x"}', /expected a list of rules/],
    ['a number', 42, /expected a list of rules/],
  ])('refuses %s', (_name, raw, message) => {
    expect(problemsOf(raw)).toEqual([{ key: 'ROUTES', message: expect.stringMatching(message) }]);
  });

  it('refuses a rule that is not a table', () => {
    expect(problemsOf([42])).toEqual([{ key: 'ROUTES[0]', message: expect.stringMatching(/expected a table/) }]);
    expect(problemsOf(['/admin'])).toEqual([{ key: 'ROUTES[0]', message: expect.stringMatching(/expected a table/) }]);
  });

  it('reports problems of several rules at once', () => {
    const problems = problemsOf([{ path: '/a', auth: 'nobody' }, { path: '/ok', auth: 'public' }, { auth: 'api', hots: 'x' }]);
    expect(problems.map((p) => p.key)).toEqual(['ROUTES[0].auth', 'ROUTES[2].path', 'ROUTES[2].hots']);
  });
});

describe('rule keys: each mistake names index and key', () => {
  const cases: [name: string, rule: Record<string, unknown>, key: string, message: RegExp][] = [
    ['unknown key', { ...base, pathh: '/x' }, 'ROUTES[1].pathh', /is not a rule key; expected one of: path, host/],
    ['missing path', { auth: 'public' }, 'ROUTES[1].path', /is required/],
    ['missing auth', { path: '/x' }, 'ROUTES[1].auth', /is required/],
    ['unknown auth', { path: '/x', auth: 'private' }, 'ROUTES[1].auth', /"public", "session" or "api"/],
    ['path not a string', { ...base, path: 5 }, 'ROUTES[1].path', /expected a path pattern/],
    ['path without /', { ...base, path: 'admin/**' }, 'ROUTES[1].path', /must start with "\/"/],
    ['empty path', { ...base, path: '' }, 'ROUTES[1].path', /must start with "\/"/],
    ['** inside a segment', { ...base, path: '/a**' }, 'ROUTES[1].path', /whole segment/],
    ['** before text', { ...base, path: '/**.css' }, 'ROUTES[1].path', /whole segment/],
    ['***', { ...base, path: '/a/***' }, 'ROUTES[1].path', /whole segment/],
    ['query in path', { ...base, path: '/a?x=1' }, 'ROUTES[1].path', /query string/],
    ['fragment in path', { ...base, path: '/a#top' }, 'ROUTES[1].path', /query string or fragment/],
    ['.. segment', { ...base, path: '/a/../b' }, 'ROUTES[1].path', /"\." or "\.\." segments/],
    ['. segment', { ...base, path: '/a/./b' }, 'ROUTES[1].path', /segments/],
    ['encoded .. segment', { ...base, path: '/a/%2E%2e/b' }, 'ROUTES[1].path', /segments/],
    ['encoded slash', { ...base, path: '/a%2Fb' }, 'ROUTES[1].path', /encoded slash/],
    ['malformed escape', { ...base, path: '/a%zz' }, 'ROUTES[1].path', /malformed percent-encoding/],
    ['encoded NUL', { ...base, path: '/a%00' }, 'ROUTES[1].path', /control character/],
    ['invalid UTF-8', { ...base, path: '/a%C3' }, 'ROUTES[1].path', /invalid UTF-8/],
    ['backslash', { ...base, path: '/a\\b' }, 'ROUTES[1].path', /backslash/],
    ['empty segment', { ...base, path: '/a//b' }, 'ROUTES[1].path', /empty segment "\/\/": requests are judged with empty segments merged too/],
    ['path_case not a case', { ...base, path_case: 'ignore' }, 'ROUTES[1].path_case', /"sensitive" or "insensitive"/],
    ['path_case as a boolean', { ...base, path_case: false }, 'ROUTES[1].path_case', /"sensitive" or "insensitive"/],
    ['wildcard host', { ...base, host: '*.example.com' }, 'ROUTES[1].host', /wildcard hosts are not supported/],
    ['host with port', { ...base, host: 'example.com:8443' }, 'ROUTES[1].host', /must not include a port/],
    ['host with default port', { ...base, host: 'example.com:443' }, 'ROUTES[1].host', /must not include a port/],
    ['host as URL', { ...base, host: 'https://example.com' }, 'ROUTES[1].host', /bare host name/],
    ['host with space', { ...base, host: 'exa mple.com' }, 'ROUTES[1].host', /bare host name/],
    ['host with an escape', { ...base, host: 'exa%41mple.com' }, 'ROUTES[1].host', /bare host name/],
    ['empty host', { ...base, host: '' }, 'ROUTES[1].host', /bare host name/],
    ['methods as a string', { ...base, methods: 'GET' }, 'ROUTES[1].methods', /expected a list of HTTP methods/],
    ['lower-case method', { ...base, methods: ['GET', 'post'] }, 'ROUTES[1].methods[1]', /case-sensitive: write "POST"/],
    ['method with space', { ...base, methods: ['GE T'] }, 'ROUTES[1].methods[0]', /HTTP method/],
    ['empty methods', { ...base, methods: [] }, 'ROUTES[1].methods', /is empty/],
    ['upstream not a URL', { ...base, upstream: 'legacy.internal' }, 'ROUTES[1].upstream', /absolute URL/],
    ['upstream ftp', { ...base, upstream: 'ftp://legacy.internal' }, 'ROUTES[1].upstream', /http:\/\/ or https:\/\//],
    ['upstream with query', { ...base, upstream: 'https://legacy.internal/?a=1' }, 'ROUTES[1].upstream', /query or fragment/],
    ['upstream with empty query', { ...base, upstream: 'https://legacy.internal/?' }, 'ROUTES[1].upstream', /query or fragment/],
    ['upstream with credentials', { ...base, upstream: 'https://u:p@legacy.internal' }, 'ROUTES[1].upstream', /user name or password/],
    ['allow not a table', { ...base, allow: ['admins'] }, 'ROUTES[1].allow', /expected a table/],
    ['empty allow', { ...base, allow: {} }, 'ROUTES[1].allow', /is empty/],
    ['unknown allow key', { ...base, allow: { group: ['admins'] } }, 'ROUTES[1].allow.group', /is not an allow key; expected one of: emails, email_domains, groups, claims/],
    ['email_domains as a string', { ...base, allow: { email_domains: 'example.com' } }, 'ROUTES[1].allow.email_domains', /^expected a list of domain names$/],
    ['email_domains empty', { ...base, allow: { email_domains: [] } }, 'ROUTES[1].allow.email_domains', /is empty/],
    ['domain with @', { ...base, allow: { email_domains: ['@example.com'] } }, 'ROUTES[1].allow.email_domains[0]', /without "@"/],
    ['wildcard domain', { ...base, allow: { email_domains: ['*.example.com'] } }, 'ROUTES[1].allow.email_domains[0]', /wildcards are not supported/],
    ['domain with trailing dot', { ...base, allow: { email_domains: ['example.com.'] } }, 'ROUTES[1].allow.email_domains[0]', /trailing dot/],
    ['domain with space', { ...base, allow: { email_domains: ['ok.com', 'exa mple.com'] } }, 'ROUTES[1].allow.email_domains[1]', /domain name/],
    ['domain as email', { ...base, allow: { email_domains: ['a@example.com'] } }, 'ROUTES[1].allow.email_domains[0]', /domain name/],
    ['email with two @', { ...base, allow: { emails: ['a@b@example.com'] } }, 'ROUTES[1].allow.emails[0]', /exactly one "@"/],
    ['email without @', { ...base, allow: { emails: ['alice'] } }, 'ROUTES[1].allow.emails[0]', /email address/],
    ['email with trailing dot', { ...base, allow: { emails: ['alice@example.com.'] } }, 'ROUTES[1].allow.emails[0]', /email address/],
    ['emails empty', { ...base, allow: { emails: [] } }, 'ROUTES[1].allow.emails', /is empty/],
    ['groups empty', { ...base, allow: { groups: [] } }, 'ROUTES[1].allow.groups', /is empty/],
    ['empty group name', { ...base, allow: { groups: [''] } }, 'ROUTES[1].allow.groups[0]', /non-empty/],
    ['group as number', { ...base, allow: { groups: [7] } }, 'ROUTES[1].allow.groups[0]', /group name/],
    ['claims not a table', { ...base, allow: { claims: 'dept=eng' } }, 'ROUTES[1].allow.claims', /expected a table of claim = value/],
    ['claims empty', { ...base, allow: { claims: {} } }, 'ROUTES[1].allow.claims', /is empty/],
    ['claim with empty list', { ...base, allow: { claims: { dept: [] } } }, 'ROUTES[1].allow.claims.dept', /is empty/],
    ['claim null', { ...base, allow: { claims: { dept: null } } }, 'ROUTES[1].allow.claims.dept', /string, number or boolean/],
    ['claim table', { ...base, allow: { claims: { dept: { a: 1 } } } }, 'ROUTES[1].allow.claims.dept', /string, number or boolean/],
    ['claim NaN', { ...base, allow: { claims: { level: [Number.NaN] } } }, 'ROUTES[1].allow.claims.level', /string, number or boolean/],
    ['odd claim name', { ...base, allow: { claims: { 'https://x/roles': [{}] } } }, 'ROUTES[1].allow.claims["https://x/roles"]', /string, number or boolean/],
    ['acr_values number', { ...base, acr_values: 2 }, 'ROUTES[1].acr_values', /list of acr values/],
    ['acr_values empty list', { ...base, acr_values: [] }, 'ROUTES[1].acr_values', /is empty/],
    ['acr_values blank string', { ...base, acr_values: '  ' }, 'ROUTES[1].acr_values', /is empty/],
    ['acr value with space', { ...base, acr_values: ['a b'] }, 'ROUTES[1].acr_values[0]', /without spaces/],
    ['max_age negative', { ...base, max_age: -1 }, 'ROUTES[1].max_age', /must not be negative/],
    ['max_age fraction', { ...base, max_age: 1.5 }, 'ROUTES[1].max_age', /whole number/],
    ['max_age string', { ...base, max_age: '300' }, 'ROUTES[1].max_age', /number of seconds/],
    ['scopes on a session rule', { ...base, scopes: ['read'] }, 'ROUTES[1].scopes', /only to auth = "api"/],
    ['scope with space', { path: '/x', auth: 'api', scopes: ['read write'] }, 'ROUTES[1].scopes[0]', /no spaces/],
    ['scopes empty', { path: '/x', auth: 'api', scopes: [] }, 'ROUTES[1].scopes', /is empty/],
    ['cors_preflight other value', { ...base, cors_preflight: 'allow' }, 'ROUTES[1].cors_preflight', /only accepted value is "pass"/],
    ['cors_preflight true', { ...base, cors_preflight: true }, 'ROUTES[1].cors_preflight', /"pass"/],
    ['allow on public', { path: '/x', auth: 'public', allow: { groups: ['a'] } }, 'ROUTES[1].allow', /means nothing on a public rule/],
    ['acr_values on public', { path: '/x', auth: 'public', acr_values: 'mfa' }, 'ROUTES[1].acr_values', /means nothing on a public rule/],
    ['max_age on public', { path: '/x', auth: 'public', max_age: 60 }, 'ROUTES[1].max_age', /means nothing on a public rule/],
    ['cors_preflight on public', { path: '/x', auth: 'public', cors_preflight: 'pass' }, 'ROUTES[1].cors_preflight', /preflights already pass/],
  ];
  it.each(cases)('%s', (_name, rule, key, message) => {
    const problems = problemsOfRule(rule, 1);
    expect(problems).toContainEqual({ key, message: expect.stringMatching(message) });
  });

  it('names the index given in the contract example', () => {
    const problems = problemsOfRule({ path: '/admin/**', auth: 'session', allow: { email_domains: 'example.com' } }, 2);
    expect(problems).toEqual([{ key: 'ROUTES[2].allow.email_domains', message: 'expected a list of domain names' }]);
  });

  it('keeps claim conditions named like Object.prototype members (valibot record would drop them)', () => {
    const [rule] = rulesOf('[{"path":"/x","auth":"session","allow":{"claims":{"constructor":"a","__proto__":"b","toString":1}}}]');
    expect(Object.keys(rule!.allow!.claims!).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(rule!.allow!.claims!['__proto__']).toEqual(['b']);
  });
});

describe('rules that can never match', () => {
  it('refuses an identical rule', () => {
    const rule = { path: '/admin/**', auth: 'session', methods: ['GET', 'POST'], allow: { groups: ['a', 'b'] } };
    const twin = { ...rule, methods: ['POST', 'GET'], allow: { groups: ['b', 'a'] } };
    expect(problemsOf([rule, twin])).toEqual([{ key: 'ROUTES[1]', message: 'is identical to ROUTES[0]; remove one' }]);
  });

  it.each([
    ['same path', { path: '/admin/**', auth: 'session' }, { path: '/admin/**', auth: 'public' }],
    ['inside an earlier /prefix/**', { path: '/admin/**', auth: 'session' }, { path: '/admin/public/*', auth: 'public' }],
    ['the prefix itself', { path: '/admin/**', auth: 'session' }, { path: '/admin', auth: 'public' }],
    ['after a catch-all', { path: '/**', auth: 'session' }, { path: '/x', auth: 'public' }],
    ['earlier covers the methods', { path: '/x', auth: 'session', methods: ['GET', 'POST'] }, { path: '/x', auth: 'public', methods: ['HEAD'] }],
    ['earlier has no host', { path: '/x', auth: 'session' }, { path: '/x', auth: 'public', host: 'a.example' }],
  ])('refuses a rule shadowed by an earlier one: %s', (_name, first, second) => {
    expect(problemsOf([first, second])).toEqual([{ key: 'ROUTES[1]', message: expect.stringMatching(/^can never match: ROUTES\[0\]/) }]);
  });

  it.each([
    ['narrower earlier host', { path: '/x', auth: 'session', host: 'a.example' }, { path: '/x', auth: 'public' }],
    ['narrower earlier methods', { path: '/x', auth: 'session', methods: ['GET'] }, { path: '/x', auth: 'public' }],
    ['earlier methods miss one', { path: '/x', auth: 'session', methods: ['GET'] }, { path: '/x', auth: 'public', methods: ['GET', 'POST'] }],
    ['later takes preflights', { path: '/x', auth: 'api', methods: ['POST'] }, { path: '/x', auth: 'api', methods: ['POST'], cors_preflight: 'pass' }],
    ['prefix is not a segment prefix', { path: '/admin/**', auth: 'session' }, { path: '/administrator', auth: 'public' }],
    ['wildcard earlier', { path: '/a/*', auth: 'session' }, { path: '/a/b', auth: 'public' }],
  ])('accepts a later rule that can still match: %s', (_name, first, second) => {
    expect(rulesOf([first, second])).toHaveLength(2);
  });
});

describe('parsed rules', () => {
  it('carry their index, canonical values and a compiled matcher', () => {
    const [pub, admin, api] = rulesOf([
      { path: '/assets/*', auth: 'public' },
      {
        path: '/admin/**',
        host: 'Admin.Example.COM.',
        methods: ['GET', 'POST', 'GET'],
        auth: 'session',
        upstream: 'https://legacy.internal/base',
        allow: { emails: ['Alice@Example.COM'], email_domains: ['Example.COM'], groups: ['admins'], claims: { dept: 'eng', level: [1, 2] } },
        acr_values: ' mfa  phr ',
        max_age: 0,
      },
      { path: '/api/**', auth: 'api', scopes: ['read:orders'], cors_preflight: 'pass' },
    ]);
    expect(pub).toMatchObject({ index: 0, path: '/assets/*', auth: 'public' });
    expect(pub!.host).toBeUndefined();
    expect(admin).toMatchObject({
      index: 1,
      host: 'admin.example.com',
      methods: ['GET', 'POST'],
      allow: { emails: ['Alice@example.com'], email_domains: ['example.com'], groups: ['admins'], claims: { dept: ['eng'], level: [1, 2] } },
      acr_values: ['mfa', 'phr'],
      max_age: 0,
    });
    expect(admin!.upstream?.href).toBe('https://legacy.internal/base');
    expect(api).toMatchObject({ index: 2, scopes: ['read:orders'], cors_preflight: 'pass' });
    expect(admin!.matchPath('/admin/x')).toBe(true);
    expect(Object.isFrozen(admin)).toBe(true);
    expect(Object.isFrozen(admin!.allow)).toBe(true);
  });

  it('path_case is kept, and every rule carries a case-folded matcher', () => {
    const [legacy, plain] = rulesOf([
      { path: '/Legacy/Café/**', auth: 'public', path_case: 'insensitive' },
      { path: '/x', auth: 'public' },
    ]);
    expect(legacy!.path_case).toBe('insensitive');
    expect(plain!.path_case).toBeUndefined();
    expect(legacy!.matchPath('/legacy/caf%C3%A9/x')).toBe(false);
    expect(legacy!.matchFolded('/legacy/caf%c3%a9/x')).toBe(true);
  });

  it('stores patterns percent-encoded the way request paths arrive', () => {
    const [rule] = rulesOf([{ path: '/café/%7euser/**', auth: 'public' }]);
    expect(rule!.path).toBe('/caf%C3%A9/~user/**');
  });
});
