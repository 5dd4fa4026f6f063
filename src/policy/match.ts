import { foldCase, patternCovers } from './glob';
import type { PathCase, RouteRule } from './rule';

/**
 * Which rule decides a request: the first whose host, methods and path all match (docs/routes.md
 * "Per-route protection"). Runs on every request, so it only compares strings and calls the matchers compiled by
 * `parseRoutes`.
 */

export interface RouteRequest {
  /** The request's host; a port and a trailing dot are ignored. Pass `url.hostname` (already IDNA-mapped). */
  host: string;
  method: string;
  /** Normalized by `normalizePath`: the same string the upstream receives (or another reading of it, readings.ts). */
  path: string;
  /** The site's `PATH_CASE`, for rules without their own `path_case` [sensitive]. */
  pathCase?: PathCase;
  /** Match every rule case-insensitively: the reading of a case-insensitive origin (readings.ts). */
  foldAll?: boolean;
}

/** What applies when no rule matches: a signed-in session, on every path (secure by default). */
export const DEFAULT_RULE: RouteRule = Object.freeze({
  index: -1,
  path: '/**',
  auth: 'session',
  matchPath: () => true,
  matchFolded: () => true,
});

export function matchRoute(rules: readonly RouteRule[], req: RouteRequest): RouteRule | undefined {
  let host: string | undefined;
  let folded: string | undefined;
  const siteInsensitive = req.pathCase === 'insensitive';
  for (const rule of rules) {
    if (rule.host !== undefined && rule.host !== (host ??= bareHost(req.host))) continue;
    if (rule.methods !== undefined && !methodMatches(rule, req.method)) continue;
    const insensitive = req.foldAll || (rule.path_case === undefined ? siteInsensitive : rule.path_case === 'insensitive');
    if (insensitive ? rule.matchFolded((folded ??= foldCase(req.path))) : rule.matchPath(req.path)) return rule;
  }
  return undefined;
}

/** `matchRoute`, falling back to `DEFAULT_RULE`. */
export function routeFor(rules: readonly RouteRule[], req: RouteRequest): RouteRule {
  return matchRoute(rules, req) ?? DEFAULT_RULE;
}

/**
 * True when `earlier` matches every request `later` would, so `later` (coming after it) is dead.
 * Used by `parseRoutes` to refuse rules that read as protection but never apply.
 */
export function alwaysWinsOver(earlier: RouteRule, later: RouteRule): boolean {
  if (earlier.host !== undefined && earlier.host !== later.host) return false;
  if (earlier.methods !== undefined) {
    if (later.methods === undefined) return false;
    const taken = [...later.methods];
    if (later.methods.includes('GET')) taken.push('HEAD');
    if (later.cors_preflight) taken.push('OPTIONS');
    if (!taken.every((method) => methodMatches(earlier, method))) return false;
  }
  // Case: an earlier case-insensitive rule covers a later one when it covers it folded; an earlier
  // rule that may be case-sensitive cannot be shown to cover a later one that may match other cases
  // (a rule without `path_case` follows PATH_CASE, which parsing the rules does not know).
  if (earlier.path_case === 'insensitive') return patternCovers(foldCase(earlier.path), foldCase(later.path));
  if (later.path_case === 'insensitive' || (earlier.path_case === 'sensitive' && later.path_case === undefined)) return false;
  return patternCovers(earlier.path, later.path);
}

/**
 * HEAD is GET without a body (RFC 9110 9.3.2), so a rule for GET covers it. A rule that lets CORS
 * preflights pass also takes OPTIONS: the preflight for a `methods = ["POST"]` API asks with OPTIONS,
 * and must reach the rule that knows to let it through.
 */
function methodMatches(rule: RouteRule, method: string): boolean {
  const methods = rule.methods!;
  if (methods.includes(method)) return true;
  if (method === 'HEAD') return methods.includes('GET');
  if (method === 'OPTIONS') return rule.cors_preflight !== undefined;
  return false;
}

/** Lower-case, without port or trailing dot: `App.Example.com.:8443` → `app.example.com`. */
function bareHost(host: string): string {
  let end = host.length;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close !== -1) end = close + 1;
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) end = colon;
  }
  if (end > 0 && host.charCodeAt(end - 1) === 0x2e) end--;
  const bare = end === host.length ? host : host.slice(0, end);
  return /[A-Z]/.test(bare) ? bare.replace(/[A-Z]+/g, (run) => run.toLowerCase()) : bare;
}
