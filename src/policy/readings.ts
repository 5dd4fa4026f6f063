import { foldCase } from './glob';
import { DEFAULT_RULE, matchRoute } from './match';
import { normalizePath, pathError } from './normalize';
import type { PathCase, RouteRule } from './rules';

/**
 * One request, one rule: the readings an origin may give a request, and whether they all fall under
 * the same rule. The gateway judges a path and forwards it; servers behind it read that path their own
 * way — nginx merges `//`, Tomcat strips `;params`, some servers decode `%25` a second time, IIS drops
 * trailing dots and ignores letter case, Rails performs a POST as the DELETE its override header names.
 * Refusing every such path would break sloppy legacy links; judging only one reading lets an attacker
 * pick the other. So every plausible reading is judged: the request is forwarded, unchanged, when all
 * fall under one rule, and refused (400 path_invalid) when they do not.
 *
 * Pure: strings and `Headers` in, readings and rules out. Used by routes/gate.ts and the check command.
 */

export interface RequestLine {
  /** `url.hostname`. */
  host: string;
  method: string;
  /** `url.pathname`: after the URL parser, before `normalizePath`. */
  rawPath: string;
  /** `url.search`, for a `_method` parameter. */
  search?: string;
  headers?: Headers;
}

export interface PathReading {
  path: string;
  /** How an origin comes to read it (for messages and the check command). */
  how: string;
}

export interface Readings {
  /** The normalized path: judged, and forwarded unchanged when the readings agree. */
  path: string;
  /** `path` as sent first, then every other reading, each once. */
  paths: PathReading[];
  /** The request's method first, then each method an override header or `_method` names. */
  methods: string[];
}

/**
 * Method override headers. Read with `Headers.get` (any letter case); spellings with `_` for `-`, which
 * CGI-style origins read as the same header, are removed before forwarding (proxy/headers.ts), so these
 * three reads see every override that reaches the origin without walking all headers on every request.
 */
export const METHOD_OVERRIDE_HEADERS: ReadonlySet<string> = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);
/** Beyond this many overridden methods a request is refused: each multiplies the readings judged. */
const MAX_OVERRIDES = 4;
/**
 * Beyond this many path readings a request is refused. A legacy link has a few (`//` and `;jsessionid`
 * and a trailing dot: 8); an attacker combining every trick on an 8 KiB path could otherwise make each
 * request cost hundreds of rule walks.
 */
const MAX_PATH_READINGS = 16;

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * Each step is a way origins read a path; applied in the order servers do (decode, split parameters,
 * map to a file name, merge slashes), to every reading found so far, so every combination is judged.
 * A step that may create a dot-segment is followed by its resolution, both before and after merging
 * empty segments (nginx merges before it resolves `..`; the URL standard the other way round).
 */
const STEPS: { how: string; applies: (path: string) => boolean; read: (path: string) => string[] }[] = [
  {
    // Servers that decode twice (old IIS, some PHP and Java stacks, a proxy decoding before the app):
    // `%252e%252e` is `..` to them, `%252F` a slash.
    how: 'decoded twice',
    applies: (path) => path.includes('%25'),
    read: (path) => resolved(path.replace(/%25([0-9A-Fa-f]{2})/g, '%$1'), 'a second percent-decoding'),
  },
  {
    // Servlet containers that decode before splitting off parameters read `%3B` as `;`.
    how: '%3B as ;',
    applies: (path) => path.includes('%3B'),
    read: (path) => [path.replace(/%3B/g, ';')],
  },
  {
    // Tomcat and Jetty strip `;params` from each segment (`/admin;x/y` is their /admin/y).
    how: 'without ;parameters',
    applies: (path) => path.includes(';'),
    read: (path) => resolved(path.replace(/;[^/]*/g, ''), 'removing ;parameters'),
  },
  {
    // IIS and Windows file names: trailing dots and spaces dropped (`/admin./x` is /admin/x), an NTFS
    // stream suffix names the file or directory itself (`/admin::$INDEX_ALLOCATION` is /admin).
    how: 'as a Windows file name',
    // The pattern needs a "./", a final ".", a "%" or a ":": most paths are spared running it.
    applies: (path) => (path.includes('./') || path.endsWith('.') || path.includes('%') || path.includes(':')) && /(?:\.|%20)(?:\/|$)|(?::|%3A).*(?:\$|%24)/i.test(path),
    read: (path) => resolved(path.split('/').map(windowsSegment).join('/'), 'reading it as a Windows file name'),
  },
  {
    // nginx (merge_slashes), Apache and most frameworks merge empty segments: `//admin/x` is /admin/x.
    how: 'empty segments merged',
    applies: (path) => path.includes('//'),
    read: (path) => [mergeSlashes(path)],
  },
];

/** Every reading of a request. Throws `path_invalid` for a path that has no safe reading at all. */
export function readingsOf(request: RequestLine): Readings {
  const path = normalizePath(request.rawPath);
  const paths: PathReading[] = [{ path, how: 'as sent' }];
  for (const step of STEPS) {
    for (let i = 0, n = paths.length; i < n; i++) {
      const from = paths[i]!;
      if (!step.applies(from.path)) continue;
      for (const next of step.read(from.path)) {
        if (!paths.some((reading) => reading.path === next)) paths.push({ path: next, how: from.how === 'as sent' ? step.how : `${from.how}, ${step.how}` });
      }
    }
    if (paths.length > MAX_PATH_READINGS) throw pathError('too many ways to read this path');
  }
  return { path, paths, methods: methodsOf(request) };
}

/**
 * The rule every reading falls under, or what two readings disagree on. Letter case is a reading of
 * its own where an origin may ignore it: with `PATH_CASE = "insensitive"`, or when the rule either
 * reading selects has `path_case = "insensitive"`, each path is also judged with every rule matched
 * case-insensitively. A reading that is a gateway endpoint (`/_auth/…`) never agrees with one that is not.
 */
export function ruleOfAllReadings(
  rules: readonly RouteRule[],
  host: string,
  readings: Readings,
  pathCase: PathCase = 'sensitive',
): { rule: RouteRule } | { conflict: string } {
  const method = readings.methods[0]!;
  const rule = matchRoute(rules, { host, method, path: readings.path, pathCase }) ?? DEFAULT_RULE;
  const insensitive = (r: RouteRule) => (r.path_case ?? pathCase) === 'insensitive';
  const caseMatters = pathCase === 'insensitive' || rules.some((r) => r.path_case === 'insensitive');
  const gatewayPath = isGatewayPath(readings.path);

  for (const reading of readings.paths) {
    for (const other of readings.methods) {
      for (const foldAll of caseMatters ? [false, true] : [false]) {
        if (reading === readings.paths[0] && other === method && !foldAll) continue;
        const under = matchRoute(rules, { host, method: other, path: reading.path, pathCase, foldAll }) ?? DEFAULT_RULE;
        // A case-folded reading counts only where some origin involved ignores case.
        const counts = !foldAll || pathCase === 'insensitive' || insensitive(rule) || insensitive(under);
        if (!counts) continue;
        const how = () => describe(reading, other !== method ? other : undefined, foldAll);
        if (isGatewayPath(foldAll ? foldCase(reading.path) : reading.path) !== gatewayPath) {
          return { conflict: `${how()} ${gatewayPath ? 'is not' : 'is'} a gateway endpoint, as sent ${gatewayPath ? 'it is' : 'not'}` };
        }
        if (under !== rule) return { conflict: `${how()} falls under ${ruleName(under)}, as sent under ${ruleName(rule)}` };
      }
    }
  }
  return { rule };
}

/** `readingsOf` and `ruleOfAllReadings` together: the path to forward and its rule, or `path_invalid`. */
export function judgeRequest(rules: readonly RouteRule[], request: RequestLine, pathCase: PathCase = 'sensitive'): { path: string; rule: RouteRule } {
  const readings = readingsOf(request);
  const verdict = ruleOfAllReadings(rules, request.host, readings, pathCase);
  if ('conflict' in verdict) throw pathError(`readings disagree on the rule: ${verdict.conflict}`);
  return { path: readings.path, rule: verdict.rule };
}

/**
 * The one entry from a request to its rule, for the worker (routes/gate.ts, routes/chooser.ts) and the
 * check command alike: both hand over the parsed `URL` and the method, never a path they cut out
 * themselves, so the check cannot read `/admin;x/y` one way and the worker another.
 */
export function judgeUrl(
  rules: readonly RouteRule[],
  request: { method: string; url: URL; headers?: Headers },
  pathCase: PathCase = 'sensitive',
): { path: string; rule: RouteRule } {
  const { method, url, headers } = request;
  return judgeRequest(rules, { host: url.hostname, method, rawPath: url.pathname, search: url.search, ...(headers ? { headers } : {}) }, pathCase);
}

// --- Methods ---------------------------------------------------------------------------------------

/**
 * Rails (Rack::MethodOverride), Laravel, Symfony, Express's method-override and ASP.NET Web API let
 * a header, or a `_method` parameter, turn a POST into another method. Most honour it on POST only;
 * it is read on every method here, as some can be configured to.
 */
function methodsOf(request: RequestLine): string[] {
  const methods = [request.method];
  const add = (value: string) => {
    for (const part of value.split(',')) {
      const method = part.trim().toUpperCase();
      if (method !== '' && !methods.includes(method)) methods.push(method);
    }
  };
  if (request.headers) {
    for (const name of METHOD_OVERRIDE_HEADERS) {
      const value = request.headers.get(name);
      if (value !== null) add(value);
    }
  }
  if (request.search && /_method|%5Fmethod/i.test(request.search)) {
    for (const value of new URLSearchParams(request.search).getAll('_method')) add(value);
  }
  if (methods.length > 1 + MAX_OVERRIDES) throw pathError('too many method overrides');
  return methods;
}

// --- Paths -----------------------------------------------------------------------------------------

function isGatewayPath(path: string): boolean {
  return path === '/_auth' || path.startsWith('/_auth/');
}

function mergeSlashes(path: string): string {
  return path.replace(/\/{2,}/g, '/');
}

/** A derived reading in canonical form, once as is and once with empty segments merged first. */
function resolved(path: string, what: string): string[] {
  const canonical = canonicalPath(path, what);
  if (!canonical.includes('//')) return [canonical];
  const merged = canonicalPath(mergeSlashes(path), what);
  return merged === canonical ? [canonical] : [canonical, merged];
}

/**
 * A derived reading in the form `normalizePath` gives a request path, so the rules can judge it:
 * unreserved escapes decoded, others upper-cased, an encoded `/` or `\` read as the separator it now
 * is to that origin, dot-segments resolved (RFC 3986 5.2.4). A control character or invalid UTF-8 in
 * a reading cannot be judged (C strings end at NUL; old IIS read overlong UTF-8 as dots): refused.
 */
function canonicalPath(path: string, what: string): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    if (ch !== '%') {
      out += ch === '\\' ? '/' : ch;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
      out += '%25';
      continue;
    }
    const byte = parseInt(hex, 16);
    if (byte < 0x20 || byte === 0x7f) throw pathError(`${what} yields a control character`);
    const decoded = String.fromCharCode(byte);
    out += byte === 0x2f || byte === 0x5c ? '/' : UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    i += 2;
  }
  try {
    decodeURIComponent(out);
  } catch {
    throw pathError(`${what} yields invalid UTF-8`);
  }
  return removeDotSegments(out);
}

/** RFC 3986 5.2.4 on a path whose escapes are already decoded where unreserved (so `%2e` is `.`). */
function removeDotSegments(path: string): string {
  if (!/(^|\/)\.\.?(\/|$)/.test(path)) return path;
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') out.pop();
      if (last) out.push('');
    } else out.push(segment);
  }
  return `/${out.join('/')}`;
}

/**
 * A segment as a Windows file name: an NTFS stream suffix (`::$DATA`, `:$i30:$INDEX_ALLOCATION`) cut
 * off, then trailing dots and spaces. A segment of only dots and spaces keeps its leading dots, taken
 * as the dot-segment they most reach (`.. ` and `...` as `..`).
 */
function windowsSegment(segment: string): string {
  const stream = /(?::|%3A).*(?:\$|%24)/i.exec(segment);
  const name = stream ? segment.slice(0, stream.index) : segment;
  const trimmed = name.replace(/(?:\.|%20)+$/, '');
  if (trimmed !== '' || name === '') return trimmed;
  const dots = /^\.+/.exec(name)?.[0].length ?? 0;
  return dots >= 2 ? '..' : dots === 1 ? '.' : '';
}

function describe(reading: PathReading, method: string | undefined, folded: boolean): string {
  const parts = [reading.how === 'as sent' ? undefined : reading.how, method ? `as method ${method}` : undefined, folded ? 'ignoring case' : undefined].filter(Boolean);
  return `the path read ${parts.join(', ') || 'as sent'} (${reading.path.slice(0, 200)})`;
}

function ruleName(rule: RouteRule): string {
  return rule.index < 0 ? 'no rule (session required)' : `ROUTES[${rule.index}]`;
}
