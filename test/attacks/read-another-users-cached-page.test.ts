// An attacker asks for a URL a signed-in user just loaded — `/reports/q3.pdf`, a file type Cloudflare
// caches by default, or any page the zone's cache rules cache — hoping Cloudflare's cache answers with
// the victim's copy: the identity headers the gateway adds are not part of the cache key. Subrequests
// that carry an identity bypass the edge cache (`cache: "no-store"`: neither read nor stored), unless a
// rule opts in with `edge_cache = "allow"`; anonymous requests keep the zone's caching.
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { signedInAs } from '../routes/helpers';
import { echoOf, NAVIGATE } from './helpers';

const upstream = new URL(inject('upstreamUrl')).origin;
const PUBLIC_ASSETS = { path: '/assets/**', auth: 'public' };

afterEach(() => {
  vi.restoreAllMocks();
});

/** The cache mode of every subrequest to the upstream. */
function watchUpstreamFetches(): { modes: (string | undefined)[] } {
  const seen = { modes: [] as (string | undefined)[] };
  const real = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation((input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (new URL(url).origin === upstream) seen.modes.push(init?.cache ?? (input instanceof Request ? input.cache : undefined));
    return real(input, init);
  });
  return seen;
}

describe('a signed-in response in Cloudflare’s cache', () => {
  it('is never stored or served: identity-bearing subrequests bypass the edge cache', async () => {
    const gw = await signedInAs('alice', [PUBLIC_ASSETS]);
    const seen = watchUpstreamFetches();
    const echo = await echoOf(await gw.fetch('/reports/q3.pdf', { headers: NAVIGATE }));
    expect(echo.headers['x-user']).toBe('alice');
    // What the runtime sends with `cache: "no-store"`: the upstream's own caches are bypassed too.
    expect(echo.headers['cache-control']).toBe('no-cache');
    expect(echo.headers['pragma']).toBe('no-cache');
    expect(seen.modes).toEqual(['no-store']);
  });

  it('keeps the zone’s caching for anonymous requests, and for a rule that opts in', async () => {
    const gw = await signedInAs('alice', [PUBLIC_ASSETS, { path: '/static/**', auth: 'session', edge_cache: 'allow' }]);
    const seen = watchUpstreamFetches();
    const anonymous = await echoOf(await gw.fetch('/assets/app.js', { headers: NAVIGATE, cookies: false }));
    expect(anonymous.headers['pragma']).toBeUndefined();
    const optedIn = await echoOf(await gw.fetch('/static/app.js', { headers: NAVIGATE }));
    expect(optedIn.headers['x-user']).toBe('alice');
    expect(optedIn.headers['pragma']).toBeUndefined();
    expect(seen.modes).toEqual([undefined, undefined]);
  });
});
