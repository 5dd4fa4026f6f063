import { GatewayError } from '../http/errors';

/**
 * The path rules are matched against, and the path the upstream receives: the same string, so a
 * rule can never be judged on one reading of a path while the origin acts on another.
 *
 * The URL parser has already resolved dot-segments (including `%2e` forms) and turned `\` into `/`.
 * On top of that: percent-encoded unreserved characters (RFC 3986 2.3) are decoded, remaining
 * escapes are upper-cased, and what cannot be given one meaning at all is refused: encoded `/` or
 * `\`, NUL or other control characters, malformed escapes, invalid UTF-8, and dot-segments carrying
 * path parameters (`..;`, `.;`). Paths that origins may read in more than one way (`//`, `;params`,
 * a second decoding, IIS's trailing dots…) are judged reading by reading in readings.ts.
 */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const MAX_PATH = 8192;

export function normalizePath(rawPath: string): string {
  if (rawPath.length > MAX_PATH) throw pathError('path too long');
  if (!rawPath.startsWith('/')) throw pathError('path must start with /');
  // Most paths have no escape at all: checked in place, nothing to decode (and no UTF-8 to go wrong).
  const out = rawPath.includes('%') ? decodedPath(rawPath) : plainPath(rawPath);
  // Both dot-segment patterns need "/." (the path starts with "/"): most paths are spared the tests.
  if (out.includes('/.')) {
    // Decoding `%2e` can re-create a dot-segment the URL parser did not see as one.
    if (/(^|\/)\.\.?(\/|$)/.test(out)) throw pathError('dot-segment in path');
    // `..;` and `.;` are dot-segments with a path parameter: to the URL parser (and so to the rules)
    // `/assets/..;/admin/x` lies under /assets, but Tomcat, Jetty and other servlet containers strip
    // `;params` from each segment first and then resolve `..`, serving /admin/x. `;` as `%3B` too:
    // some containers decode before splitting off parameters.
    if (/(^|\/)\.\.?(;|%3B)/.test(out)) throw pathError('dot-segment with path parameters in path');
  }
  return out;
}

/** A path without escapes: refused for a backslash or a control character, else itself. */
function plainPath(rawPath: string): string {
  for (let i = 0; i < rawPath.length; i++) {
    const code = rawPath.charCodeAt(i);
    if (code === 0x5c) throw pathError('backslash in path');
    if (code < 0x20 || code === 0x7f) throw pathError('control character in path');
  }
  return rawPath;
}

function decodedPath(rawPath: string): string {
  let out = '';
  for (let i = 0; i < rawPath.length; i++) {
    const ch = rawPath[i]!;
    if (ch === '\\') throw pathError('backslash in path');
    if (ch !== '%') {
      if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) throw pathError('control character in path');
      out += ch;
      continue;
    }
    const hex = rawPath.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw pathError('malformed percent-encoding');
    const byte = parseInt(hex, 16);
    if (byte === 0x2f || byte === 0x5c) throw pathError('encoded slash or backslash in path');
    if (byte < 0x20 || byte === 0x7f) throw pathError('encoded control character in path');
    const decoded = String.fromCharCode(byte);
    out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    i += 2;
  }
  try {
    decodeURIComponent(out);
  } catch {
    throw pathError('invalid UTF-8 in path');
  }
  return out;
}

export function pathError(detail: string): GatewayError {
  return new GatewayError('path_invalid', 'This address cannot be handled safely.', { detail });
}
