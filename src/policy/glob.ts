import { isGatewayError } from '../http/errors';
import { normalizePath } from './normalize';

/**
 * Path globs for route rules, compiled once when the rules are parsed and run on every request.
 *
 * Syntax (on a pattern already normalized like a request path, see `normalize.ts`):
 * - `*` matches any run of characters within one segment, including none (`/assets/*` matches
 *   `/assets/app.css` and `/assets/`, not `/assets/js/app.js`); several may share a segment (`*.min.*`).
 * - `**` is a whole segment and matches zero or more whole segments: `/api/**` matches `/api`,
 *   `/api/` and `/api/v1/users`; `/a/**\/b` matches `/a/b` and `/a/x/y/b`.
 * - Everything else matches exactly, case-sensitively (RFC 3986 6.2.2.1: paths are case-sensitive),
 *   unless the rule or site says its origin is not (`path_case = "insensitive"`, see `foldCase`).
 *
 * No regular expressions: the matcher walks the path by index, without allocating, in time bounded by
 * path length × pattern length. An attacker controls the path (up to 8 KiB), so a backtracking regex
 * built from an operator's `/**\/*a*\/**` could be driven into polynomial blow-up; this cannot.
 */

/** A pattern segment: a literal, a `*`-glob split at its stars, or `**`. */
type Segment = { kind: 'literal'; text: string } | { kind: 'star'; parts: string[] } | { kind: 'globstar' };

export type PathMatcher = (path: string) => boolean;

const MAX_PATTERN = 2048;
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)/i;

/**
 * A configured pattern, normalized like a request path and compiled, or what is wrong with it.
 * Percent-encodes what the URL parser encodes in a request path (spaces, non-ASCII…), so `/café`
 * compares with the `/caf%C3%A9` a request carries, then applies `normalizePath`; patterns it would
 * refuse as a request path are refused here too.
 */
export function compilePattern(raw: string): { path: string; matchPath: PathMatcher } | { problem: string } {
  if (!raw.startsWith('/')) return { problem: 'must start with "/", as in /admin/**' };
  if (raw.length > MAX_PATTERN) return { problem: `is longer than ${MAX_PATTERN} characters` };
  if (/[?#]/.test(raw)) return { problem: 'must not contain "?" or "#": rules match the path only, never the query string or fragment' };
  // Refused before the URL parser sees the pattern, which would silently resolve them.
  if (DOT_SEGMENT.test(raw)) return { problem: 'must not contain "." or ".." segments: request paths never do once normalized' };
  if (raw.includes('\\')) return { problem: 'must not contain a backslash' };
  // Requests are also judged with empty segments merged (readings.ts), which such a pattern never matches.
  if (raw.includes('//')) return { problem: 'is not a path the gateway would accept (empty segment "//": requests are judged with empty segments merged too)' };
  const url = new URL('http://pattern.invalid/');
  url.pathname = raw;
  let path: string;
  try {
    path = normalizePath(url.pathname);
  } catch (error) {
    if (isGatewayError(error)) return { problem: `is not a path the gateway would accept (${error.detail ?? error.message})` };
    throw error;
  }
  const syntax = globSyntaxProblem(path);
  return syntax ? { problem: syntax } : { path, matchPath: compileGlob(path) };
}

/**
 * The form in which paths and patterns are compared for a case-insensitive origin (IIS, Windows file
 * systems): letters lower-cased, non-ASCII ones too (`%C3%89` É and `%C3%A9` é fold alike), so a
 * rule for `/Admin/**` also takes `/ADMIN/x`. Applied to both sides, it only ever merges paths; the
 * escapes it re-encodes (`%21` and `!` fold alike) are ones such an origin reads alike anyway.
 */
export function foldCase(path: string): string {
  if (!path.includes('%')) return path.toLowerCase();
  return path
    .replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return encodeURIComponent(decodeURIComponent(run).toLowerCase());
      } catch {
        return run;
      }
    })
    .toLowerCase();
}

/**
 * True when every path `later` matches is matched by `earlier` too. Sound, not complete: decides the
 * cases that matter in practice (same pattern, a literal `/prefix/**` above something inside it).
 */
export function patternCovers(earlier: string, later: string): boolean {
  if (earlier === later) return true;
  if (!earlier.endsWith('/**')) return false;
  const prefix = earlier.slice(0, -3);
  return !prefix.includes('*') && (later === prefix || later.startsWith(`${prefix}/`));
}

function globSyntaxProblem(pattern: string): string | undefined {
  for (const segment of pattern.slice(1).split('/')) {
    if (segment.includes('**') && segment !== '**') {
      return `"**" must be a whole segment, as in /api/** or /a/**/b (found "${segment}"); use "*" within a segment`;
    }
  }
  return undefined;
}

/** Compiles a normalized, syntax-checked pattern into a matcher over normalized request paths. */
export function compileGlob(pattern: string): PathMatcher {
  if (!pattern.includes('*')) return (path) => path === pattern;

  // `/prefix/**` with a literal prefix: the commonest glob gets a startsWith.
  if (pattern.endsWith('/**') && !pattern.slice(0, -3).includes('*')) {
    const prefix = pattern.slice(0, -3);
    const withSlash = `${prefix}/`;
    return (path) => path === prefix || path.startsWith(withSlash);
  }
  return compileSegments(pattern);
}

/**
 * Any other glob, segment by segment. Apart from the two common shapes above, so a configuration
 * without it never compiles it (a fresh isolate compiles a function whole on its first call).
 */
function compileSegments(pattern: string): PathMatcher {
  const segments: Segment[] = pattern
    .slice(1)
    .split('/')
    .map((text) => (text === '**' ? { kind: 'globstar' } : text.includes('*') ? { kind: 'star', parts: text.split('*') } : { kind: 'literal', text }));

  // Chunks of ordinary segments between the `**`s: head ** middle… ** tail.
  const chunks: Segment[][] = [[]];
  for (const segment of segments) {
    if (segment.kind === 'globstar') {
      // `**/**` means the same as `**`.
      if (chunks.length === 1 || chunks[chunks.length - 1]!.length > 0) chunks.push([]);
    } else chunks[chunks.length - 1]!.push(segment);
  }
  const head = chunks[0]!;
  if (chunks.length === 1) return (path) => matchChunk(head, path, 0) === path.length;

  const tail = chunks[chunks.length - 1]!;
  const middle = chunks.slice(1, -1);
  return (path) => {
    let pos = matchChunk(head, path, 0);
    if (pos < 0) return false;
    const tailStart = startOfLastSegments(path, tail.length);
    if (tailStart < pos) return false;
    // Leftmost placement of each middle chunk is optimal: `**` on either side absorbs any gap.
    for (const chunk of middle) {
      let found = -1;
      for (let at = pos; at !== -1 && at < tailStart; at = path.indexOf('/', at + 1)) {
        const end = matchChunk(chunk, path, at);
        if (end >= 0 && end <= tailStart) {
          found = end;
          break;
        }
      }
      if (found < 0) return false;
      pos = found;
    }
    return matchChunk(tail, path, tailStart) === path.length;
  };
}

/**
 * Matches consecutive segments starting at `pos` (the index of a `/`, or the path's end for an empty
 * chunk). Returns the index just past the last matched segment, or -1.
 */
function matchChunk(chunk: Segment[], path: string, pos: number): number {
  for (const segment of chunk) {
    if (path.charCodeAt(pos) !== 0x2f) return -1;
    const start = pos + 1;
    let end = path.indexOf('/', start);
    if (end === -1) end = path.length;
    if (!matchSegment(segment, path, start, end)) return -1;
    pos = end;
  }
  return pos;
}

function matchSegment(segment: Segment, path: string, start: number, end: number): boolean {
  if (segment.kind === 'literal') return end - start === segment.text.length && path.startsWith(segment.text, start);
  if (segment.kind === 'globstar') return true;
  // `a*b*c`: first part anchored at the start, last at the end, the ones between found leftmost —
  // with one kind of star, leftmost placement never loses a match.
  const parts = segment.parts;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (end - start < first.length + last.length) return false;
  if (!path.startsWith(first, start)) return false;
  const lastStart = end - last.length;
  if (!path.startsWith(last, lastStart)) return false;
  let pos = start + first.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i]!;
    if (part === '') continue;
    const at = path.indexOf(part, pos);
    if (at === -1 || at + part.length > lastStart) return false;
    pos = at + part.length;
  }
  return true;
}

/** Index of the `/` that begins the last `count` segments; the path's length for `count` 0. */
function startOfLastSegments(path: string, count: number): number {
  let pos = path.length;
  for (let i = 0; i < count; i++) {
    if (pos <= 0) return -1;
    pos = path.lastIndexOf('/', pos - 1);
    if (pos < 0) return -1;
  }
  return pos;
}
