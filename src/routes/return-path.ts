/**
 * Where to send the browser after sign-in or sign-out: a path on this origin only. Anything that a
 * browser could read as another origin (`//evil`, `/\evil`, `https:`, control characters that some
 * parsers strip) is replaced by "/" rather than guessed at.
 */
const MAX_RETURN_PATH = 2048;

export function safeReturnPath(candidate: string | null | undefined, origin: string): string {
  if (!candidate || candidate.length > MAX_RETURN_PATH) return '/';
  if (!candidate.startsWith('/') || candidate.startsWith('//')) return '/';
  // eslint-disable-next-line no-control-regex
  if (/[\\\x00-\x20\x7f]/.test(candidate)) return '/';
  let resolved: URL;
  try {
    resolved = new URL(candidate, origin);
  } catch {
    return '/';
  }
  if (resolved.origin !== origin) return '/';
  if (resolved.pathname.startsWith('/_auth/')) return '/';
  const path = resolved.pathname + resolved.search;
  // Judge what goes out, not only what came in: dot-segments collapse into a scheme-relative URL —
  // `/..//evil.example` and `/.//evil.example` resolve to the path `//evil.example`, which a browser
  // reads as another host (test/attacks/open-redirect.test.ts).
  if (path.startsWith('//') || new URL(path, `${origin}/a/b`).origin !== origin) return '/';
  return path;
}
