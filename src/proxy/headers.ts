import { log } from '../http/log';
import { isGatewayCookie } from '../session/cookie-names';
import { METHOD_OVERRIDE_HEADERS } from '../policy/readings';

/**
 * Identity headers a legacy app may trust, in any case and with `_` for `-` (some servers, e.g. via
 * CGI, map both to the same variable). Removed from every request before anything is forwarded.
 */
const IDENTITY_EXACT = new Set([
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'remote-user',
  'remote-email',
  'remote-groups',
  'remote-name',
  'x-forwarded-id-token',
  // Other front ends' identity headers a legacy app moved behind edgegate may still trust: Grafana's
  // auth proxy, generic reverse-proxy auth, Google IAP's signed assertion.
  'x-remote-user',
  'x-remote-email',
  'x-remote-groups',
  'x-webauth-user',
  'x-webauth-email',
  'x-webauth-name',
  'x-authenticated-user',
  'x-goog-iap-jwt-assertion',
]);
/**
 * Azure App Service auth (X-MS-CLIENT-PRINCIPAL*, X-MS-TOKEN-*), Google IAP
 * (X-Goog-Authenticated-User-*), AWS ALB (X-Amzn-Oidc-*) and mod_auth_openidc (OIDC_CLAIM_*,
 * OIDC_access_token, OIDC_id_token…) — what an app that used one of them reads as "who is this".
 */
const IDENTITY_PREFIXES = ['x-user', 'x-auth-request-', 'x-ms-client-principal', 'x-ms-token-', 'x-goog-authenticated-user-', 'x-amzn-oidc-', 'oidc-'];

/**
 * Set by the gateway from what it knows, or removed: a client's own values would be spoofable. Besides
 * the usual forwarding headers, the client address that nginx (`X-Real-IP`), Akamai and Cloudflare
 * Enterprise (`True-Client-IP`), Rails / Symfony / Express (`X-Client-IP`, `Client-IP`,
 * `X-Cluster-Client-IP`) trust for IP allow-lists and rate limits, and the host, port and scheme that
 * Rack, Symfony, Django and IIS build absolute URLs from (password-reset links, redirects, "is this
 * HTTPS?"). Nobody in front of the gateway sets these legitimately.
 */
const GATEWAY_SET = new Set([
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-for',
  'forwarded',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'client-ip',
  'x-cluster-client-ip',
  'fastly-client-ip',
  'x-forwarded',
  'forwarded-for',
  'x-original-host',
  'x-host',
  'x-forwarded-server',
  'x-forwarded-port',
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'x-url-scheme',
  'front-end-https',
]);

/**
 * Headers that override the request URL at the origin: IIS (URL Rewrite), older Symfony and Zend
 * route on `X-Original-URL` / `X-Rewrite-URL`; `X-Original-URI`, `X-Forwarded-Uri` and
 * `X-Forwarded-Prefix` are read by nginx/Traefik-era apps and Spring / ASP.NET Core path-base
 * handling. The rules judged the request's own path, so a client's `/assets/x` with
 * `X-Original-URL: /admin` would be served the admin page. The gateway is the edge: nobody in
 * front of it sets these legitimately.
 */
const URL_OVERRIDE = new Set(['x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-forwarded-uri', 'x-forwarded-prefix']);

/** RFC 9110 7.6.1: meaningful for one connection only. `upgrade` is kept for WebSockets (below). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function canonical(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

/** Every exact name the gateway removes from a client's request, whatever the request. */
const ALWAYS_STRIPPED: ReadonlySet<string> = new Set([...IDENTITY_EXACT, ...GATEWAY_SET, ...URL_OVERRIDE, ...HOP_BY_HOP]);

function hasIdentityPrefix(n: string): boolean {
  // Every prefix starts with "x" or "o": most names are settled by their first letter.
  const first = n.charCodeAt(0);
  if (first !== 0x78 /* x */ && first !== 0x6f /* o */) return false;
  for (const prefix of IDENTITY_PREFIXES) if (n.startsWith(prefix)) return true;
  return false;
}
const EMPTY: ReadonlySet<string> = new Set();

export interface ForwardContext {
  /** The host and scheme the client used (before any rewrite to the upstream). */
  publicUrl: URL;
  clientIp: string | null;
  /** Identity (and token pass-through) headers the gateway sets, lower-case names, values already sanitized. */
  identityHeaders: readonly (readonly [string, string])[];
  /** CLAIM_HEADERS names: stripped from the client's request like the built-in identity headers. */
  alsoStrip?: ReadonlySet<string>;
  /** The gateway consumed the client's `Authorization` (a bearer token on an api rule): do not pass it on. */
  dropAuthorization?: boolean;
}

/** Whether a client header, by its canonical name (lower case, `_` as `-`), never reaches the upstream. */
function stripped(n: string, ctx: ForwardContext): boolean {
  return ALWAYS_STRIPPED.has(n) || hasIdentityPrefix(n) || (ctx.alsoStrip?.has(n) ?? false) || (n === 'authorization' && ctx.dropAuthorization === true);
}

/**
 * Builds the headers the upstream receives: client headers minus everything spoofable, plus ours.
 *
 * Cost (bench/RESULTS.md, "Where the remaining microseconds go"): in workerd every Headers call crosses
 * into native code, so the whole set is copied in one call and only the few names to drop are deleted;
 * the names come from one walk (names from a `Headers` iterator are already lower case, Fetch standard
 * "sort and combine"). What the gateway adds is appended, not set: each of those names was
 * removed by the walk (or never sent), and `set` costs a search of the list that `append` does not.
 */
export function upstreamHeaders(incoming: Headers, ctx: ForwardContext): Headers {
  const headers = new Headers(incoming);
  const connection = incoming.get('connection');
  const connectionListed = connection ? new Set(connection.split(',').map((t) => canonical(t.trim())).filter(Boolean)) : EMPTY;
  let isWebSocket = false;
  // keys(), not entries(): the cheapest walk in workerd (no [name, value] array per header).
  for (const name of incoming.keys()) {
    const n = name.includes('_') ? name.replace(/_/g, '-') : name;
    if (n === 'cookie') {
      const kept = stripGatewayCookies(incoming.get(name)!);
      if (kept) headers.set('cookie', kept);
      else headers.delete('cookie');
    } else if (
      stripped(n, ctx) ||
      connectionListed.has(n) ||
      // A method override spelt with `_` reaches CGI-style origins as the real thing, but the rules
      // judged only the `-` spelling (policy/readings.ts): not passed on.
      (n !== name && METHOD_OVERRIDE_HEADERS.has(n))
    ) {
      if (name === 'upgrade') isWebSocket = incoming.get(name)!.toLowerCase() === 'websocket';
      headers.delete(name);
    }
  }
  if (isWebSocket) headers.append('upgrade', 'websocket');

  const scheme = ctx.publicUrl.protocol.replace(':', '');
  headers.append('x-forwarded-host', ctx.publicUrl.host);
  headers.append('x-forwarded-proto', scheme);
  headers.append('x-forwarded-scheme', scheme);
  headers.append('x-forwarded-ssl', scheme === 'https' ? 'on' : 'off');
  headers.append('x-forwarded-port', ctx.publicUrl.port || (scheme === 'https' ? '443' : '80'));
  if (ctx.clientIp) {
    headers.append('x-forwarded-for', ctx.clientIp);
    headers.append('x-real-ip', ctx.clientIp);
    headers.append('true-client-ip', ctx.clientIp);
  }

  // Identity names are stripped from the client's headers above, so appending cannot leave a
  // client's value beside ours. A name that was not stripped, that the lines above set, or that an
  // earlier identity header used (a CLAIM_HEADERS name can be any unreserved one) is set instead:
  // the last value wins, as it always has.
  const identity = ctx.identityHeaders;
  for (let i = 0; i < identity.length; i++) {
    const [name, value] = identity[i]!;
    if (stripped(name, ctx) && !SET_ABOVE.has(name) && !usedBefore(identity, i, name)) headers.append(name, value);
    else headers.set(name, value);
  }
  return headers;
}

/** The names `upstreamHeaders` writes before the identity headers. */
const SET_ABOVE: ReadonlySet<string> = new Set(['cookie', 'upgrade', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-scheme', 'x-forwarded-ssl', 'x-forwarded-port', 'x-forwarded-for', 'x-real-ip', 'true-client-ip']);

function usedBefore(pairs: readonly (readonly [string, string])[], end: number, name: string): boolean {
  for (let i = 0; i < end; i++) if (pairs[i]![0] === name) return true;
  return false;
}

/**
 * Keeps every cookie but the gateway's own, byte for byte. Pieces are also looked at between commas:
 * a client that sends two `Cookie` header fields (allowed in HTTP/2, RFC 9113 8.2.3) reaches the Worker
 * as one value joined with ", ", and RFC 2109-era servers split cookies on commas too — so
 * `a=1, __Host-edgegate=…` would otherwise carry the session credential to the upstream inside "a".
 */
export function stripGatewayCookies(header: string): string {
  let kept = '';
  for (const raw of header.split(';')) {
    const part = raw.includes(',') ? raw.split(',').filter((piece) => !isGatewayCookie(cookieName(piece))).join(',') : raw;
    const name = cookieName(part);
    if (name === '' || isGatewayCookie(name)) continue;
    kept += kept === '' ? part.trim() : `; ${part.trim()}`;
  }
  return kept;
}

function cookieName(piece: string): string {
  const eq = piece.indexOf('=');
  return (eq === -1 ? piece : piece.slice(0, eq)).trim();
}

/**
 * The upstream's answer without `Set-Cookie` for the gateway's own cookies. An upstream (or a per-rule
 * `upstream`) that could set them would plant its own session in the browser (fixation), overwrite a
 * sign-in in progress, or end the session. Dropped in every spelling a browser might read as ours:
 * prefixes are compared case-insensitively (RFC 6265bis 4.1.3.1-2), `__Secure-` like `__Host-`, and a
 * name-less cookie (no "=") whose value is one of our names. Logged by name, never by value.
 * The response is rebuilt only when something was dropped: the common answer streams on untouched.
 */
export function withoutGatewaySetCookies(response: Response): Response {
  if (!response.headers.has('set-cookie')) return response;
  const all = response.headers.getSetCookie();
  const kept = all.filter((cookie) => {
    const name = setCookieName(cookie);
    if (!isGatewayCookieInAnyForm(name)) return true;
    log('warn', 'upstream_set_gateway_cookie', { name: name.slice(0, 64) });
    return false;
  });
  if (kept.length === all.length) return response;
  const headers = new Headers(response.headers);
  headers.delete('set-cookie');
  for (const cookie of kept) headers.append('set-cookie', cookie);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers, webSocket: response.webSocket });
}

/** RFC 6265bis 5.6 step 3-4: the name is what precedes the first "="; without one, the whole pair (an empty name) — which the next request sends back as if it were a name. */
function setCookieName(header: string): string {
  const pair = header.split(';', 1)[0]!;
  const eq = pair.indexOf('=');
  return (eq === -1 ? pair : pair.slice(0, eq)).trim();
}

function isGatewayCookieInAnyForm(name: string): boolean {
  return isGatewayCookie(name.toLowerCase().replace(/^(__host-|__secure-)+/, ''));
}
