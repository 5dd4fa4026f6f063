// The readings of a request (policy/readings.ts), as a table: which paths and methods an origin may
// read a request as, and whether they all fall under one rule. Agreeing → the normalized path is
// forwarded unchanged; disagreeing → 400 path_invalid. test/attacks/read-path-two-ways.test.ts runs
// the same principle end to end through the worker.
import { describe, expect, it } from 'vitest';
import { judgeRequest, readingsOf, ruleOfAllReadings } from '../../src/policy/readings';
import { parseRoutes, type PathCase, type RouteRule } from '../../src/policy/rules';

function rulesOf(raw: unknown[]): RouteRule[] {
  const result = parseRoutes(raw);
  if ('problems' in result) throw new Error(JSON.stringify(result.problems));
  return result.rules;
}

/** What the worker hands over: the URL parser's pathname and search. */
function line(raw: string, method = 'GET', headers: Record<string, string> = {}) {
  const url = new URL(`https://app.example.com${raw}`);
  return { host: url.hostname, method, rawPath: url.pathname, search: url.search, headers: new Headers(headers) };
}

const paths = (raw: string) => readingsOf(line(raw)).paths.map((reading) => reading.path);

describe('readingsOf: the paths an origin may read', () => {
  const cases: [request: string, readings: string[]][] = [
    ['/plain/path', ['/plain/path']],
    ['/a/b.css', ['/a/b.css']],
    // empty segments
    ['//x', ['//x', '/x']],
    ['/a//b///c', ['/a//b///c', '/a/b/c']],
    // one more decoding
    ['/p/%252e%252e/admin/x', ['/p/%252e%252e/admin/x', '/admin/x']],
    ['/p/..%252Fadmin', ['/p/..%252Fadmin', '/admin']],
    ['/%2561dmin', ['/%2561dmin', '/admin']],
    ['/p/%2525', ['/p/%2525', '/p/%25']],
    ['/p/100%25', ['/p/100%25']],
    // %3B as ;, and ;params stripped
    ['/admin%3Bx/y', ['/admin%3Bx/y', '/admin;x/y', '/admin/y']],
    ['/admin;x/y', ['/admin;x/y', '/admin/y']],
    ['/p/a.css;jsessionid=1', ['/p/a.css;jsessionid=1', '/p/a.css']],
    // trailing dots and spaces, NTFS streams
    ['/admin./x', ['/admin./x', '/admin/x']],
    ['/admin%20/x', ['/admin%20/x', '/admin/x']],
    ['/admin.%20./x', ['/admin.%20./x', '/admin/x']],
    ['/p/..%20/admin', ['/p/..%20/admin', '/admin']],
    ['/p/.../admin', ['/p/.../admin', '/admin']],
    ['/admin::$DATA', ['/admin::$DATA', '/admin']],
    ['/admin:$i30:$INDEX_ALLOCATION/x', ['/admin:$i30:$INDEX_ALLOCATION/x', '/admin/x']],
    // combined: decoded twice, then a Windows file name, then merged
    ['/p/%252e%252e/admin%2520//x', ['/p/%252e%252e/admin%2520//x', '/admin%20//x', '/p/%252e%252e/admin%2520/x', '/admin//x', '/admin%20/x', '/admin/x']],
  ];
  it.each(cases)('%s → %j', (request, expected) => {
    const [asSent, ...others] = paths(request);
    expect(asSent).toBe(expected[0]);
    expect(others.sort()).toEqual(expected.slice(1).sort());
  });

  it('a reading that cannot be judged refuses the request', () => {
    for (const request of ['/p/%2500', '/p/%250a', '/p/%25C0%25AE']) {
      expect(() => readingsOf(line(request)), request).toThrow(expect.objectContaining({ code: 'path_invalid' }));
    }
  });

  it('a path with more readings than any legacy link has is refused (bounded work per request)', () => {
    const hostile = '/a%252e%3Bb;c./d%2520//e::$DATA/%2525x;y%3Bz./%252e%252e//f.%20';
    expect(() => readingsOf(line(hostile))).toThrow(expect.objectContaining({ code: 'path_invalid', detail: 'too many ways to read this path' }));
    // Three tricks at once is still fine.
    expect(paths('//public/a.css;jsessionid=1.').length).toBeLessThanOrEqual(8);
  });

  it('keeps the existing refusals: encoded / and \\, "..;", control characters', () => {
    for (const request of ['/a%2Fb', '/a%5cb', '/x/..;/admin', '/a%00']) {
      expect(() => readingsOf(line(request)), request).toThrow(expect.objectContaining({ code: 'path_invalid' }));
    }
  });

  it('methods: the request’s, then every overridden one (headers in any spelling, _method)', () => {
    const methods = (raw: string, method: string, headers: Record<string, string>) => readingsOf(line(raw, method, headers)).methods;
    expect(methods('/x', 'POST', {})).toEqual(['POST']);
    expect(methods('/x', 'POST', { 'X-HTTP-Method-Override': 'delete' })).toEqual(['POST', 'DELETE']);
    expect(methods('/x', 'POST', { 'X-HTTP-Method': 'PUT', 'X-Method-Override': ' PATCH ' })).toEqual(['POST', 'PUT', 'PATCH']);
    // Spelt with `_`, it is not read here but removed before forwarding (test/attacks/override-method.test.ts).
    expect(methods('/x', 'POST', { X_HTTP_Method_Override: 'DELETE' })).toEqual(['POST']);
    expect(methods('/x', 'POST', { 'X-HTTP-Method-Override': 'GET, DELETE' })).toEqual(['POST', 'GET', 'DELETE']);
    expect(methods('/x', 'POST', { 'x-http-METHOD-override': 'PUT' })).toEqual(['POST', 'PUT']);
    expect(methods('/x?_method=delete', 'POST', {})).toEqual(['POST', 'DELETE']);
    expect(methods('/x?%5Fmethod=PUT', 'POST', {})).toEqual(['POST', 'PUT']);
    expect(methods('/x', 'POST', { 'X-HTTP-Method-Override': 'POST' })).toEqual(['POST']);
    expect(() => readingsOf(line('/x', 'POST', { 'X-HTTP-Method-Override': 'A, B, C, D, E' }))).toThrow(expect.objectContaining({ code: 'path_invalid' }));
  });
});

describe('judgeRequest: forwarded unchanged when every reading agrees, 400 when not', () => {
  const RULES = rulesOf([
    { path: '/public/**', auth: 'public' },
    { path: '/admin/**', auth: 'session', allow: { groups: ['admins'] } },
    { path: '/orders/**', auth: 'public', methods: ['GET', 'POST'] },
    { path: '/orders/**', auth: 'api', methods: ['DELETE'] },
  ]);
  const PUBLIC = 0;
  const ADMIN = 1;
  const ORDERS = 2;
  const NONE = -1;
  const REFUSED = 'refused';

  const cases: [request: string, outcome: number | typeof REFUSED, headers?: Record<string, string>, method?: string][] = [
    ['/public/x', PUBLIC],
    ['/admin/x', ADMIN],
    // empty segments
    ['/public//x', PUBLIC],
    ['/admin//x', ADMIN],
    ['//public/x', REFUSED],
    ['//admin/x', REFUSED],
    ['/x//y', NONE],
    ['//_auth/login', REFUSED],
    // one more decoding
    ['/public/%252e%252e/admin/x', REFUSED],
    ['/public/%252e%252e/x', REFUSED],
    ['/%2561dmin/x', REFUSED],
    ['/public/%2541', PUBLIC],
    ['/admin/%252e%252e/x', REFUSED],
    // %3B and ;params
    ['/admin%3Bx/secret', REFUSED],
    ['/public/a%3Bb', PUBLIC],
    ['/admin;x/y', REFUSED],
    ['/public/a.css;jsessionid=1', PUBLIC],
    ['/admin/x;jsessionid=1', ADMIN],
    // trailing dots and spaces
    ['/admin./x', REFUSED],
    ['/admin%20/x', REFUSED],
    ['/public/..%20/admin/x', REFUSED],
    ['/admin::$INDEX_ALLOCATION/x', REFUSED],
    ['/public/report.', PUBLIC],
    ['/admin/x.', ADMIN],
    ['/_auth./login', REFUSED],
    // case: the default site is case-sensitive, so case is not another reading
    ['/ADMIN/x', NONE],
    // method overrides
    ['/orders/1', ORDERS, {}, 'POST'],
    ['/orders/1', REFUSED, { 'X-HTTP-Method-Override': 'DELETE' }, 'POST'],
    ['/orders/1', REFUSED, { 'x-http-method': 'delete' }, 'POST'],
    ['/orders/1', REFUSED, { 'X-Method-Override': 'DELETE' }, 'GET'],
    ['/orders/1?_method=DELETE', REFUSED, {}, 'POST'],
    ['/orders/1', ORDERS, { 'X-HTTP-Method-Override': 'GET' }, 'POST'],
    ['/public/x', PUBLIC, { 'X-HTTP-Method-Override': 'DELETE' }, 'POST'],
    // combined: a reading judged with an overridden method
    ['/public/%252e%252e/orders/1', REFUSED, {}, 'POST'],
  ];
  it.each(cases)('%s → %s %j %s', (request, outcome, headers = {}, method = 'GET') => {
    const judge = () => judgeRequest(RULES, line(request, method, headers));
    if (outcome === REFUSED) {
      expect(judge).toThrow(expect.objectContaining({ code: 'path_invalid', status: 400 }));
      return;
    }
    const { path, rule } = judge();
    expect(rule.index).toBe(outcome);
    // Forwarded as normalized, never rewritten to another reading.
    expect(path).toBe(readingsOf(line(request)).path);
  });

  it('says which readings disagree', () => {
    const verdict = ruleOfAllReadings(RULES, 'app.example.com', readingsOf(line('//admin/x')));
    expect(verdict).toEqual({ conflict: expect.stringMatching(/empty segments merged .*\/admin\/x.* ROUTES\[1\], as sent under no rule/) });
  });
});

describe('letter case', () => {
  const judged = (rules: RouteRule[], request: string, pathCase?: PathCase) => {
    try {
      return judgeRequest(rules, line(request), pathCase).rule.index;
    } catch {
      return 'refused';
    }
  };

  it('PATH_CASE = "insensitive": rules match in any case; a case-sensitive rule whose readings differ is refused', () => {
    const rules = rulesOf([
      { path: '/Admin/**', auth: 'session' },
      { path: '/Docs/**', auth: 'public', path_case: 'sensitive' },
    ]);
    expect(judged(rules, '/admin/x', 'insensitive')).toBe(0);
    expect(judged(rules, '/ADMIN/x', 'insensitive')).toBe(0);
    expect(judged(rules, '/Docs/x', 'insensitive')).toBe(1);
    expect(judged(rules, '/docs/x', 'insensitive')).toBe('refused');
    expect(judged(rules, '/_AUTH/login', 'insensitive')).toBe('refused');
    expect(judged(rules, '/ADMIN./x', 'insensitive')).toBe('refused');
    // The same rules on a case-sensitive site: case is no reading.
    expect(judged(rules, '/admin/x')).toBe(-1);
    expect(judged(rules, '/docs/x')).toBe(-1);
  });

  it('path_case = "insensitive" on a rule: readings that differ only by case must agree where that rule is involved', () => {
    const rules = rulesOf([
      { path: '/legacy/admin/**', auth: 'session' },
      { path: '/legacy/**', auth: 'public', path_case: 'insensitive' },
      { path: '/Shop/**', auth: 'public' },
    ]);
    expect(judged(rules, '/LEGACY/x')).toBe(1);
    expect(judged(rules, '/legacy/admin/x')).toBe(0);
    expect(judged(rules, '/legacy/ADMIN/x')).toBe('refused');
    // Elsewhere the origin is case-sensitive: /shop is another path, not a second reading.
    expect(judged(rules, '/shop/x')).toBe(-1);
  });
});
