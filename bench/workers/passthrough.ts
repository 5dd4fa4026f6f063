/**
 * The yardstick: a bare pass-through Worker. Same upstream, same request, no gateway: the URL is
 * rebased onto UPSTREAM_URL and method, headers and body go on as they came (redirects untouched, as
 * the gateway does). Whatever this costs is the floor any proxy Worker pays.
 */
export interface PassThroughEnv {
  UPSTREAM_URL: string;
}

let upstream: { raw: string; url: URL } | undefined;

export function passThrough(request: Request, upstreamUrl: URL): Promise<Response> {
  const url = new URL(request.url);
  const target = new URL(url.pathname + url.search, upstreamUrl);
  return fetch(target, {
    method: request.method,
    headers: request.headers,
    body: request.method === 'GET' || request.method === 'HEAD' ? null : request.body,
    redirect: 'manual',
  });
}

export default {
  fetch(request: Request, env: PassThroughEnv): Promise<Response> {
    if (upstream?.raw !== env.UPSTREAM_URL) upstream = { raw: env.UPSTREAM_URL, url: new URL(env.UPSTREAM_URL) };
    return passThrough(request, upstream.url);
  },
};
