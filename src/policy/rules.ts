import * as v from 'valibot';
import { canonicalDomain, isClaimValue, parseEmail, type ClaimTest, type ClaimValue } from './allow';
import { parseCidr, type Cidr } from './cidr';
import { CONDITION_KEYS, NETWORK_KEYS, policyText } from './conditions';
import { compileGlob, compilePattern, foldCase, type PathMatcher } from './glob';
import { alwaysWinsOver } from './match';

/**
 * `ROUTES`: the ordered per-path rules of docs/routes.md "Per-route protection", parsed once per isolate. Pure: the
 * caller (config loading) caches the result and turns problems into `config_invalid`.
 *
 * Rule fields keep their wrangler.toml names (`acr_values`, `max_age`, …) so the config, an error
 * message and the code all say the same word.
 */

export { AUTH_MODES, PATH_CASES, type AuthMode, type PathCase, type RouteRule } from './rule';
import { AUTH_MODES, PATH_CASES, type RouteRule } from './rule';

export interface RouteProblem {
  /** Where, in the operator's terms: `ROUTES[2].allow.email_domains`. */
  key: string;
  message: string;
}

export const RULE_KEYS = ['path', 'host', 'methods', 'auth', 'upstream', 'allow', 'deny', 'allow_any', 'acr_values', 'max_age', 'scopes', 'cors_preflight', 'pass_access_token', 'pass_id_token', 'edge_cache', 'path_case', 'dpop', 'cors_origins', 'idps'];

export function parseRoutes(raw: unknown): { rules: RouteRule[] } | { problems: RouteProblem[] } {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return { rules: [] };
  let list = raw;
  if (typeof raw === 'string') {
    try {
      list = JSON.parse(raw);
    } catch (error) {
      return { problems: [{ key: 'ROUTES', message: `is not valid JSON (${error instanceof Error ? error.message : 'parse error'}); expected a JSON array of rules` }] };
    }
  }
  if (!Array.isArray(list)) {
    return { problems: [{ key: 'ROUTES', message: 'expected a list of rules: [[vars.ROUTES]] tables in wrangler.toml, or a JSON array' }] };
  }

  const problems: RouteProblem[] = [];
  const rules: RouteRule[] = [];
  list.forEach((item, index) => {
    const parsed = v.safeParse(ruleSchema, item, { abortEarly: false });
    if (!parsed.success) {
      for (const issue of parsed.issues) problems.push(describeIssue(index, issue));
      return;
    }
    const rule = buildRule(index, parsed.output, problems);
    if (rule) rules.push(rule);
  });
  // With fewer than two rules nothing can shadow anything: a fresh isolate need not compile the check.
  if (problems.length === 0 && rules.length > 1) findUnreachable(rules, problems);
  return problems.length > 0 ? { problems } : { rules };
}

// --- Field schemas ---------------------------------------------------------------------------------

/** A string checked (and canonicalized) by a plain function that returns the value or a `Bad`. */
class Bad {
  constructor(readonly message: string) {}
}
const checked = <T>(expected: string, parse: (value: string) => T | Bad) =>
  v.pipe(
    v.string(expected),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const result = parse(dataset.value);
      if (result instanceof Bad) {
        addIssue({ message: result.message });
        return NEVER;
      }
      return result;
    }),
  );

/** Non-empty and without duplicates: an empty list has no clear meaning (nobody? everybody?). */
const list = <T>(item: v.GenericSchema<unknown, T>, expected: string, what: string) =>
  v.pipe(
    v.array(item, expected),
    v.nonEmpty(`is empty; list at least one ${what}, or remove the key`),
    v.transform((values): T[] => [...new Set(values)]),
  );

const NO_CONTROL = /^[^\p{Cc}]+$/u;
const text = (expected: string) => checked(expected, (s) => (s !== '' && NO_CONTROL.test(s) ? s : new Bad(`${expected} (non-empty, no control characters)`)));

/** The glob, normalized and compiled (see glob.ts for the syntax). */
function parsePattern(raw: string): { path: string; matchPath: PathMatcher } | Bad {
  const compiled = compilePattern(raw);
  return 'problem' in compiled ? new Bad(compiled.problem) : compiled;
}

function parseHost(raw: string): string | Bad {
  if (raw.includes('*')) return new Bad('wildcard hosts are not supported: write one rule per host name');
  if (raw === '' || /[\s/\\?#@%]/.test(raw)) return new Bad('expected a bare host name such as app.example.com (no scheme, path or spaces)');
  if (/:\d*$/.test(raw) && !raw.endsWith(']')) return new Bad('must not include a port: rules match the host name only');
  let url: URL;
  try {
    url = new URL(`http://${raw}`);
  } catch {
    return new Bad('expected a host name such as app.example.com');
  }
  if (url.port !== '' || /\]:/.test(raw)) return new Bad('must not include a port: rules match the host name only');
  // The URL parser lower-cases and converts IDNs to punycode, as it does for the request's host.
  const host = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  return host === '' ? new Bad('expected a host name such as app.example.com') : host;
}

/** RFC 9110 5.6.2 token; methods are case-sensitive (9.1), so `get` is not `GET`. */
function parseMethod(raw: string): string | Bad {
  if (/^[A-Z][A-Z0-9!#$%&'*+.^_`|~-]*$/.test(raw)) return raw;
  if (/^[A-Za-z]+$/.test(raw)) return new Bad(`methods are case-sensitive: write "${raw.toUpperCase()}"`);
  return new Bad('expected an HTTP method such as GET');
}

function parseUpstream(raw: string): URL | Bad {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return new Bad('expected an absolute URL such as https://legacy.example.com');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return new Bad('expected an http:// or https:// URL');
  if (raw.includes('?') || raw.includes('#')) return new Bad('must not contain a query or fragment');
  if (url.username !== '' || url.password !== '') return new Bad('must not contain a user name or password');
  return url;
}

function parseEmailSetting(raw: string): string | Bad {
  const email = parseEmail(raw);
  return email ? `${email.local}@${email.domain}` : new Bad('expected an email address such as alice@example.com (exactly one "@", no spaces)');
}

function parseDomainSetting(raw: string): string | Bad {
  if (raw.startsWith('@')) return new Bad('write the domain without "@", as in example.com');
  if (raw.startsWith('*.')) return new Bad('wildcards are not supported: list each domain (subdomains match only when listed)');
  if (raw.endsWith('.')) return new Bad('write the domain without a trailing dot');
  return canonicalDomain(raw) ?? new Bad('expected a domain name such as example.com');
}

/**
 * A browser's `Origin` exactly as it sends it (RFC 6454 6.1: scheme, host, port if not the default;
 * lower case, no path, no trailing slash): the gateway compares it character for character, so a
 * spelling that can never match is refused here. `*` and `null` are never accepted: the answers carry
 * credentials (cookies), and `null` is what sandboxed frames and local files send.
 */
function parseOrigin(raw: string): string | Bad {
  if (raw === '*' || raw === 'null') return new Bad('must name one origin such as https://app.example.com (never "*" or "null")');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return new Bad('expected an origin such as https://app.example.com');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return new Bad('expected an http:// or https:// origin');
  if (url.origin !== raw) return new Bad(`expected the origin as browsers send it: "${url.origin}" (lower case, no path or trailing slash, no default port)`);
  return raw;
}

function parseIdpName(raw: string): string | Bad {
  return /^[a-z][a-z0-9-]{0,31}$/.test(raw) ? raw : new Bad('expected the name of an identity provider in IDPS, such as "corp"');
}

/** RFC 6749 3.3 scope-token. */
function parseScope(raw: string): string | Bad {
  return /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(raw) ? raw : new Bad('expected a scope such as read:orders (no spaces or quotes)');
}

const acrValue = checked('expected a string such as "mfa"', (s) =>
  /^[^\s\p{Cc}]+$/u.test(s) ? s : new Bad('expected an acr value without spaces, such as "mfa" or "urn:example:loa:2"'),
);

/** `acr_values = ["a", "b"]` or the OIDC parameter's own form, `"a b"`. */
const acrValues = v.pipe(
  v.union([v.string(), v.array(v.unknown())], 'expected a list of acr values, or a space-separated string'),
  v.transform((value) => (typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : value)),
  list(acrValue, 'expected a list of acr values', 'acr value'),
);

/**
 * `{ claim = value | [values] }`, checked by hand: valibot's `record` silently drops keys such as
 * `constructor` and `__proto__`, and a dropped condition would widen who gets in.
 */
const claimsTable = v.pipe(
  v.unknown(),
  v.rawTransform<unknown, Record<string, ClaimTest>>(({ dataset, addIssue, NEVER }) => {
    const table = dataset.value;
    if (typeof table !== 'object' || table === null || Array.isArray(table)) {
      addIssue({ message: 'expected a table of claim = value or claim = [values], e.g. { dept = "eng" }' });
      return NEVER;
    }
    const out: Record<string, ClaimTest> = Object.create(null);
    const names = Object.keys(table);
    if (names.length === 0) addIssue({ message: 'is empty; name at least one claim, or remove the key' });
    for (const name of names) {
      const value: unknown = (table as Record<string, unknown>)[name];
      const at = (message: string) =>
        addIssue({ message, path: [{ type: 'object', origin: 'value', input: table as Record<string, unknown>, key: name, value }] });
      if (!NO_CONTROL.test(name)) {
        at('claim names must not be empty or contain control characters');
        continue;
      }
      if (isTable(value)) {
        const test = claimOperator(value as Record<string, unknown>);
        if (test) out[name] = test;
        else at(`expected a string, number or boolean, a list of them, { present = true } or { min = <number> }`);
        continue;
      }
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0) at('is empty; list at least one accepted value');
      else if (!values.every(isClaimValue)) at('expected a string, number or boolean, or a list of them');
      else out[name] = [...new Set(values as ClaimValue[])];
    }
    return out;
  }),
);

/**
 * The operators safe on untrusted claim values: presence and a numeric lower bound. Regular
 * expressions are not offered (docs/routes.md, claim conditions): an unanchored one matches inside a value
 * (`admin` in `not-admin`), and a backtracking one lets a claim's author spend the worker's CPU.
 */
function claimOperator(table: Record<string, unknown>): ClaimTest | undefined {
  const keys = Object.keys(table);
  if (keys.length !== 1) return undefined;
  if (keys[0] === 'present' && table['present'] === true) return { present: true };
  const min = table['min'];
  if (keys[0] === 'min' && typeof min === 'number' && Number.isFinite(min)) return { min };
  return undefined;
}

/** `203.0.113.0/24`, `2001:db8::/32` or one address (policy/cidr.ts: strict, one reading). */
function parseRange(raw: string): Cidr | Bad {
  const range = parseCidr(raw);
  return 'problem' in range ? new Bad(range.problem) : range;
}

/** ISO 3166-1 alpha-2 as `request.cf.country` gives it (upper case), plus Cloudflare's `T1` (Tor). */
function parseCountry(raw: string): string | Bad {
  return /^(?:[A-Za-z]{2}|T1)$/.test(raw) ? raw.toUpperCase() : new Bad('expected a two-letter country code such as "DE" (ISO 3166-1 alpha-2), or "T1" for Tor');
}

/** valibot's object schemas accept arrays (keys "0", "1"…); a list where a table belongs is refused first. */
const isTable = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One condition table: `allow`, `deny`, or an entry of `allow_any` (policy/conditions.ts). */
const conditionsSchema = v.pipe(
  v.unknown(),
  v.check(isTable, 'expected a table such as { groups = ["admins"] }'),
  v.strictObject(
    {
      emails: v.optional(list(checked('expected an email address', parseEmailSetting), 'expected a list of email addresses', 'address')),
      email_domains: v.optional(list(checked('expected a domain name', parseDomainSetting), 'expected a list of domain names', 'domain')),
      groups: v.optional(list(text('expected a group name'), 'expected a list of group names', 'group')),
      claims: v.optional(claimsTable),
      ips: v.optional(list(checked('expected a CIDR range such as "203.0.113.0/24"', parseRange), 'expected a list of CIDR ranges such as ["203.0.113.0/24", "2001:db8::/32"]', 'range')),
      countries: v.optional(list(checked('expected a country code such as "DE"', parseCountry), 'expected a list of country codes such as ["DE", "AT"]', 'country')),
      asns: v.optional(
        list(
          v.pipe(v.number('expected an AS number such as 13335'), v.integer('expected a whole AS number'), v.minValue(1, 'AS numbers start at 1'), v.maxValue(4294967295, 'AS numbers are at most 4294967295')),
          'expected a list of AS numbers such as [13335]',
          'AS number',
        ),
      ),
      amr: v.optional(list(text('expected an authentication method such as "mfa"'), 'expected a list of authentication methods such as ["mfa"]', 'method')),
      acr: v.optional(list(acrValue, 'expected a list of acr values', 'acr value')),
      email_verified: v.optional(v.boolean('expected true or false')),
    },
    'expected a table such as { groups = ["admins"] }',
  ),
  v.check((table) => Object.values(table).some((value) => value !== undefined), `is empty; give at least one of ${CONDITION_KEYS.join(', ')}`),
);
const allowSchema = conditionsSchema;

const allowAnySchema = v.pipe(
  v.array(conditionsSchema, 'expected a list of condition tables, e.g. allow_any = [{ groups = ["admins"] }, { ips = ["10.0.0.0/8"] }]'),
  v.nonEmpty('is empty; list at least one condition table, or remove the key'),
);

const ruleSchema = v.pipe(
  v.unknown(),
  v.check(isTable, 'expected a table with at least path and auth'),
  v.strictObject(
    {
      path: checked('expected a path pattern such as /admin/**', parsePattern),
      host: v.optional(checked('expected a host name such as app.example.com', parseHost)),
      methods: v.optional(list(checked('expected an HTTP method such as GET', parseMethod), 'expected a list of HTTP methods such as ["GET", "POST"]', 'method')),
      auth: v.picklist(AUTH_MODES, 'expected "public", "session" or "api"'),
      upstream: v.optional(checked('expected a URL such as https://legacy.example.com', parseUpstream)),
      allow: v.optional(allowSchema),
      deny: v.optional(conditionsSchema),
      allow_any: v.optional(allowAnySchema),
      acr_values: v.optional(acrValues),
      max_age: v.optional(
        v.pipe(
          v.number('expected a number of seconds'),
          v.integer('expected a whole number of seconds'),
          v.minValue(0, 'must not be negative'),
          v.maxValue(Number.MAX_SAFE_INTEGER, 'is too large'),
        ),
      ),
      scopes: v.optional(list(checked('expected a scope', parseScope), 'expected a list of scopes such as ["read:orders"]', 'scope')),
      cors_preflight: v.optional(v.literal('pass', 'the only accepted value is "pass"')),
      pass_access_token: v.optional(v.picklist(['bearer', 'header'], 'expected "bearer" (Authorization: Bearer) or "header" (X-Forwarded-Access-Token)')),
      pass_id_token: v.optional(v.literal(true, 'expected true (or leave it out)')),
      path_case: v.optional(v.picklist(PATH_CASES, 'expected "sensitive" or "insensitive" (for origins that ignore letter case, such as IIS)')),
      edge_cache: v.optional(v.literal('allow', 'the only accepted value is "allow"')),
      // IdP names (config/idps.ts); config/index.ts checks that each is configured.
      idps: v.optional(list(checked('expected an IdP name', parseIdpName), 'expected a list of IdP names such as ["corp"]', 'IdP')),
      dpop: v.optional(v.picklist(['allowed', 'required'], 'expected "allowed" (Bearer or DPoP tokens) or "required" (DPoP-bound tokens only)')),
      cors_origins: v.optional(list(checked('expected an origin such as https://app.example.com', parseOrigin), 'expected a list of origins such as ["https://app.example.com"]', 'origin')),
    },
    'expected a table with at least path and auth',
  ),
);

type RuleInput = v.InferOutput<typeof ruleSchema>;

// --- Rules from parsed input -----------------------------------------------------------------------

function buildRule(index: number, input: RuleInput, problems: RouteProblem[]): RouteRule | undefined {
  const at = (key: string, message: string) => problems.push({ key: `ROUTES[${index}].${key}`, message });
  const before = problems.length;
  if (input.auth === 'public') {
    const pointless = 'means nothing on a public rule (everyone gets through); remove it or use auth = "session"';
    if (input.allow) at('allow', pointless);
    if (input.allow_any) at('allow_any', pointless);
    // The connection can be refused on a public rule; a user cannot be judged where nobody signs in.
    for (const key of Object.keys(input.deny ?? {})) {
      if (input.deny![key as keyof typeof input.deny] !== undefined && !NETWORK_KEYS.includes(key as (typeof NETWORK_KEYS)[number])) {
        at(`deny.${key}`, `means nothing on a public rule (nobody signs in there); only ${NETWORK_KEYS.join(', ')} can refuse here`);
      }
    }
    if (input.acr_values) at('acr_values', pointless);
    if (input.max_age !== undefined) at('max_age', pointless);
    if (input.cors_preflight) at('cors_preflight', 'is not needed on a public rule: preflights already pass');
  }
  if (input.scopes && input.auth !== 'api') at('scopes', 'applies only to auth = "api" rules (scopes a bearer token must carry)');
  if (input.dpop && input.auth !== 'api') at('dpop', 'applies only to auth = "api" rules (how access tokens must be presented)');
  if (input.cors_origins && input.auth === 'public') at('cors_origins', 'means nothing on a public rule (the gateway refuses nobody there)');
  if (problems.length > before) return undefined;

  const { path, matchPath } = input.path;
  const rule: { -readonly [K in keyof RouteRule]: RouteRule[K] } = { index, path, auth: input.auth, matchPath, matchFolded: compileGlob(foldCase(path)) };
  if (input.host !== undefined) rule.host = input.host;
  if (input.methods) rule.methods = Object.freeze(input.methods);
  if (input.upstream) rule.upstream = input.upstream;
  if (input.allow) rule.allow = Object.freeze(withoutUndefined(input.allow));
  if (input.deny) rule.deny = Object.freeze(withoutUndefined(input.deny));
  if (input.allow_any) rule.allow_any = Object.freeze(input.allow_any.map((table) => Object.freeze(withoutUndefined(table))));
  if (input.acr_values) rule.acr_values = Object.freeze(input.acr_values);
  if (input.max_age !== undefined) rule.max_age = input.max_age;
  if (input.scopes) rule.scopes = Object.freeze(input.scopes);
  if (input.cors_preflight) rule.cors_preflight = input.cors_preflight;
  if (input.pass_access_token) rule.pass_access_token = input.pass_access_token;
  if (input.pass_id_token) rule.pass_id_token = input.pass_id_token;
  if (input.path_case) rule.path_case = input.path_case;
  if (input.edge_cache) rule.edge_cache = input.edge_cache;
  if (input.idps) rule.idps = Object.freeze(input.idps);
  if (input.dpop) rule.dpop = input.dpop;
  if (input.cors_origins) rule.cors_origins = Object.freeze(input.cors_origins);
  return Object.freeze(rule);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

/**
 * A rule that an earlier rule always wins over is a mistake the operator wants to hear about: it reads
 * as protection that never applies. Detected for identical rules and for an earlier rule whose path is
 * the same pattern or a `/prefix/**` covering it, with no narrower host or methods.
 */
function findUnreachable(rules: RouteRule[], problems: RouteProblem[]): void {
  const seen = new Map<string, number>();
  for (const rule of rules) {
    const key = identity(rule);
    const twin = seen.get(key);
    if (twin !== undefined) {
      problems.push({ key: `ROUTES[${rule.index}]`, message: `is identical to ROUTES[${twin}]; remove one` });
      continue;
    }
    seen.set(key, rule.index);
    const winner = rules.find((earlier) => earlier.index < rule.index && alwaysWinsOver(earlier, rule));
    if (winner) {
      problems.push({
        key: `ROUTES[${rule.index}]`,
        message: `can never match: ROUTES[${winner.index}] (path "${winner.path}") comes first and matches every request this rule would; move this rule above it or remove it`,
      });
    }
  }
}

/** Canonical text of what a rule does, for spotting duplicates (list order aside from acr_values). */
function identity(rule: RouteRule): string {
  const sorted = (values: readonly string[] | undefined) => (values ? [...values].sort() : null);
  const claims = rule.allow?.claims;
  return JSON.stringify([
    rule.path,
    rule.host ?? null,
    sorted(rule.methods),
    rule.auth,
    rule.upstream?.href ?? null,
    sorted(rule.allow?.emails),
    sorted(rule.allow?.email_domains),
    sorted(rule.allow?.groups),
    claims ? Object.keys(claims).sort().map((name) => [name, claims[name]]) : null,
    policyText(rule),
    rule.acr_values ?? null,
    rule.max_age ?? null,
    sorted(rule.scopes),
    rule.cors_preflight ?? null,
    rule.pass_access_token ?? null,
    rule.pass_id_token ?? null,
    rule.path_case ?? null,
    rule.edge_cache ?? null,
    sorted(rule.idps),
    rule.dpop ?? null,
    sorted(rule.cors_origins),
  ]);
}

// --- Problems --------------------------------------------------------------------------------------

function describeIssue(index: number, issue: v.BaseIssue<unknown>): RouteProblem {
  const path = issue.path ?? [];
  let key = `ROUTES[${index}]`;
  for (const item of path) key += keySegment(item.key);
  const last = path[path.length - 1];
  if (issue.type === 'strict_object' && issue.expected === 'never' && last) {
    // A condition table: `allow`, `deny`, or `allow_any[i]`.
    const parent = path.length >= 2 ? path[path.length - 2]!.key : undefined;
    const table = parent === 'allow' || parent === 'deny' ? parent : typeof parent === 'number' && path.length >= 3 && path[path.length - 3]!.key === 'allow_any' ? 'allow_any' : undefined;
    if (table) return { key, message: `is not ${table === 'deny' ? 'a deny' : `an ${table}`} key; expected one of: ${CONDITION_KEYS.join(', ')}` };
    return { key, message: `is not a rule key; expected one of: ${RULE_KEYS.join(', ')}` };
  }
  if (issue.input === undefined && path.length > 0) return { key, message: `is required (${issue.message})` };
  return { key, message: issue.message };
}

function keySegment(key: unknown): string {
  if (typeof key === 'number') return `[${key}]`;
  const name = String(key);
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}
