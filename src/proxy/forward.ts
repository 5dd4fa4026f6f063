import { GatewayError } from '../http/errors';
import { upstreamHeaders, withoutGatewaySetCookies, type ForwardContext } from './headers';

export interface ForwardOptions extends ForwardContext {
  /** The rule's `edge_cache = "allow"`: signed-in requests may use Cloudflare's cache (see below). */
  edgeCache?: boolean;
}

/**
 * Sends the request on to the origin: body streamed, redirects passed back untouched (the browser
 * must see the upstream's Location), response streamed back as is.
 *
 * `timeoutMs` (UPSTREAM_TIMEOUT) bounds the wait for the response *headers* only. An AbortSignal.timeout
 * on the fetch would also cut off a long download or a server-sent-events stream mid-body, so the timer
 * is cleared as soon as the headers are in; the body then streams for as long as it takes. The timer
 * races the fetch instead of aborting it through a signal: a signal on every request costs the runtime
 * a followed AbortSignal per fetch (about 25 µs of the Node in-process overhead, bench/RESULTS.md) for
 * the rare late answer, and a fetch nobody awaits any more ends with the request's I/O (workerd cancels
 * a finished request's outstanding subrequests); a late answer's body is cancelled when it comes.
 *
 * A request that carries an identity bypasses Cloudflare's cache (`cache: "no-store"`: no lookup, no
 * store). The cache key is the URL, not the X-User headers: a signed-in answer the zone's cache rules
 * (or the default for file types like `.pdf`, `.js`) would store could otherwise be served to the next
 * visitor, anonymous or another user (test/attacks/read-another-users-cached-page). Anonymous requests
 * keep the zone's caching; a rule whose signed-in answers are the same for everyone opts in with
 * `edge_cache = "allow"`.
 */
export async function forward(request: Request, upstream: URL | undefined, ctx: ForwardOptions, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Response> {
  const target = upstreamUrl(ctx.publicUrl, upstream);
  const init: RequestInit = {
    method: request.method,
    headers: upstreamHeaders(request.headers, ctx),
    redirect: 'manual',
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') init.body = request.body;
  if (ctx.identityHeaders.length > 0 && !ctx.edgeCache) init.cache = 'no-store';
  let timedOut = false;
  const pending = fetch(target, init);
  try {
    const response = withoutGatewaySetCookies(await headersWithin(pending, timeoutMs, () => (timedOut = true)));
    return isPreflight(request) ? preflightAnswer(response) : response;
  } catch (error) {
    if (timedOut) pending.then((late) => late.body?.cancel(), () => undefined);
    const timeout = timedOut || (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'));
    throw new GatewayError(
      timeout ? 'upstream_timeout' : 'upstream_unreachable',
      timeout ? 'The site behind the gateway did not answer in time.' : 'The site behind the gateway cannot be reached right now.',
      {
        detail: timeout ? `upstream sent no response headers within ${timeoutMs} ms` : `upstream fetch failed: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`,
        cause: error,
      },
    );
  }
}

/**
 * The fetch's answer, or a TimeoutError after `ms`: one promise and one timer, cleared as soon as the
 * fetch settles (cheaper per request than a Promise.race against a second promise).
 */
function headersWithin(pending: Promise<Response>, ms: number, onTimeout: () => void): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new DOMException('upstream response headers timed out', 'TimeoutError'));
    }, ms);
    pending.then(
      (response) => {
        clearTimeout(timer);
        resolve(response);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A CORS preflight (Fetch standard, "CORS protocol"): OPTIONS with Origin and Access-Control-Request-Method. */
function isPreflight(request: Request): boolean {
  return request.method === 'OPTIONS' && request.headers.has('origin') && request.headers.has('access-control-request-method');
}

/**
 * A browser reads only the status and the CORS headers of a preflight answer (Fetch standard,
 * CORS-preflight fetch), so nothing else passes back: `cors_preflight = "pass"` lets anyone send a
 * preflight without a session, and an upstream that answers OPTIONS like GET (the page) or with a
 * Set-Cookie would otherwise hand that to whoever asked (test/attacks/read-through-cors-preflight).
 * `Vary` stays, so caches keep answers for different origins apart.
 */
function preflightAnswer(upstream: Response): Response {
  const headers = new Headers();
  for (const [name, value] of upstream.headers) if (name.startsWith('access-control-') || name === 'vary') headers.append(name, value);
  void upstream.body?.cancel().catch(() => undefined);
  return new Response(null, { status: upstream.status, headers });
}

/** UPSTREAM_TIMEOUT's default, for callers without a configuration. */
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Path and query are kept as the client sent them (already checked by the gateway); UPSTREAM_URL may
 * add a base path. Without UPSTREAM_URL the request goes to the zone's own origin at the same URL.
 * A string, not a URL: `fetch` parses its input either way, and a URL built here only to be turned
 * back into a string costs a parse and two setters per request. Both parts are serialized URL parts
 * (no dot segments, nothing left to percent-encode), so joining them is what the setters would do.
 */
export function upstreamUrl(publicUrl: URL, upstream: URL | undefined): string {
  if (!upstream) return publicUrl.href;
  const { href, pathname } = upstream;
  const base = pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  // Everything before the path (scheme, any user info, host, port) as the URL serializes it.
  if (!upstream.search && !upstream.hash && href.endsWith(pathname)) return `${href.slice(0, href.length - pathname.length)}${base}${publicUrl.pathname}${publicUrl.search}`;
  const target = new URL(href);
  target.pathname = base + publicUrl.pathname;
  target.search = publicUrl.search;
  target.hash = '';
  return target.href;
}
