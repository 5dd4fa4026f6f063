// The table of test/routes/matching.test.ts: request lines against a public /assets/** and an
// admins-only /admin/**, and what must happen to each. test/check/agreement.test.ts asks the check
// command the same questions and compares its answers with the worker's.

export const ROUTES = [
  { path: '/assets/**', auth: 'public' },
  { path: '/admin/**', auth: 'session', allow: { groups: ['admins'] } },
];

/**
 * What happens to a request line:
 * - `admin`: the /admin/** rule decides; the upstream receives `path` (alice) — bob 403, anonymous sent to sign in
 * - `public`: the /assets/** rule; forwarded as `path` without identity, for anyone
 * - `default`: no rule; any session, forwarded as `path` — which is NOT under /admin
 * - `invalid`: 400 path_invalid for everyone, nothing forwarded
 */
export type Outcome = { kind: 'admin' | 'public' | 'default'; path: string } | { kind: 'invalid' };
const admin = (path = '/admin/x'): Outcome => ({ kind: 'admin', path });
const pub = (path: string): Outcome => ({ kind: 'public', path });
const other = (path: string): Outcome => ({ kind: 'default', path });
const invalid: Outcome = { kind: 'invalid' };

export const CASES: [request: string, outcome: Outcome, why: string][] = [
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
