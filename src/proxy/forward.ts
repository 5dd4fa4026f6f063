import { GatewayError } from '../http/errors';
import { upstreamHeaders, type ForwardContext } from './headers';

/**
 * Sends the request on to the origin: body streamed, redirects passed back untouched (the browser
 * must see the upstream's Location), response streamed back as is.
 */
export async function forward(request: Request, upstream: URL | undefined, ctx: ForwardContext): Promise<Response> {
  const target = upstreamUrl(ctx.publicUrl, upstream);
  const init: RequestInit = {
    method: request.method,
    headers: upstreamHeaders(request.headers, ctx),
    redirect: 'manual',
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') init.body = request.body;
  try {
    return await fetch(target, init);
  } catch (error) {
    const timeout = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    throw new GatewayError(timeout ? 'upstream_timeout' : 'upstream_unreachable', 'The site behind the gateway cannot be reached right now.', {
      detail: `upstream fetch failed: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`,
      cause: error,
    });
  }
}

/**
 * Path and query are kept as the client sent them (already checked by the gateway); UPSTREAM_URL may
 * add a base path. Without UPSTREAM_URL the request goes to the zone's own origin at the same URL.
 */
export function upstreamUrl(publicUrl: URL, upstream: URL | undefined): URL {
  if (!upstream) return new URL(publicUrl.href);
  const target = new URL(upstream.href);
  const base = target.pathname.endsWith('/') ? target.pathname.slice(0, -1) : target.pathname;
  target.pathname = base + publicUrl.pathname;
  target.search = publicUrl.search;
  return target;
}
