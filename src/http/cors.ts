/**
 * CORS headers for the gateway's own refusals (401/403) on a rule with `cors_origins`, so that a
 * single-page app on another origin can read the answer (`login_url`, the challenge) instead of
 * seeing an opaque network error. Fetch Standard 3.2.3: with credentials the allowed origin must be
 * the request's exact `Origin`, never `*`; `Vary: Origin` keeps a shared cache from handing one
 * origin's answer to another. An origin not listed gets no CORS header at all (the browser then hides
 * the answer from its script, as without this feature).
 */

/** Response headers page script may read besides the CORS-safelisted ones: the challenge, and the nonce a DPoP client retries with. */
const EXPOSED = 'WWW-Authenticate, DPoP-Nonce';

export function corsRefusalHeaders(origin: string | null, allowed: readonly string[] | undefined): Record<string, string> {
  if (!allowed) return {};
  if (origin === null || !allowed.includes(origin)) return { vary: 'Origin' };
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': EXPOSED,
    vary: 'Origin',
  };
}
