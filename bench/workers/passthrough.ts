/**
 * The yardstick: a bare pass-through Worker. Same upstream, same request, no gateway: the URL is
 * rebased onto UPSTREAM_URL and method, headers and body go on as they came (redirects untouched, as
 * the gateway does). Whatever this costs is the floor any proxy Worker pays.
 */
export interface PassThroughEnv {
  UPSTREAM_URL: string;
  /**
   * End to end only: also send the headers the gateway adds for the bench's user (5 X-Forwarded-*,
   * 4 X-User*), so what the local runtime charges for carrying them shows apart from the gateway's work.
   */
  BENCH_ADD_HEADERS?: string;
  /**
   * Cold start only: read one KV key before forwarding, as the gateway's first signed-in request reads
   * the session — the first use of the local KV binding in a fresh isolate has a cost of its own.
   */
  BENCH_KV?: KVNamespace;
}

const ADDED: [string, string][] = [
  ['x-forwarded-host', 'bench.local'], ['x-forwarded-proto', 'http'], ['x-forwarded-scheme', 'http'], ['x-forwarded-ssl', 'off'], ['x-forwarded-port', '80'],
  ['x-user', 'alice'], ['x-user-email', 'alice@example.com'], ['x-user-name', 'Alice Admin'], ['x-user-groups', 'admins,staff'],
];

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
  async fetch(request: Request, env: PassThroughEnv): Promise<Response> {
    if (upstream?.raw !== env.UPSTREAM_URL) upstream = { raw: env.UPSTREAM_URL, url: new URL(env.UPSTREAM_URL) };
    if (env.BENCH_KV) await env.BENCH_KV.get('session:bench');
    if (env.BENCH_ADD_HEADERS !== 'true') return passThrough(request, upstream.url);
    const headers = new Headers(request.headers);
    for (const [name, value] of ADDED) headers.append(name, value);
    return passThrough(new Request(request, { headers }), upstream.url);
  },
};
