// Tests run inside workerd (@cloudflare/vitest-plugin) against real servers on 127.0.0.1 that
// test/setup/global.ts starts in Node: the local IdP, an echo upstream and a scriptable test issuer.
// Their URLs reach the worker's bindings through the function form of cloudflareTest (`inject`).
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { CLIENT_ID, CLIENT_SECRET, SESSION_SECRET } from './test/setup/constants.ts';

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          OIDC_ISSUER: inject('idpIssuer'),
          OIDC_CLIENT_ID: CLIENT_ID,
          OIDC_CLIENT_SECRET: CLIENT_SECRET,
          SESSION_SECRET,
          UPSTREAM_URL: inject('upstreamUrl'),
          DEV_ALLOW_HTTP: 'true',
          TEST_ISSUER_URL: inject('testIssuerUrl'),
          // Tests play "another isolate" by changing KV directly, which the isolate session cache would
          // hide for its TTL; test/gateway/session-cache.test.ts covers the cache with its default.
          SESSION_CACHE_TTL: '0',
        },
        // Miniflare's own Rate Limiting simulation, under another name so that no test is limited by
        // accident: test/edge/rate-limit.test.ts hands it to a gateway as RATE_LIMITER.
        ratelimits: { TEST_RATE_LIMITER: { namespace_id: '1001', simple: { limit: 3, period: 60 } } },
      },
    })),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/setup/global.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // One test file at a time: files share the local IdP (its sessions, grants and refresh tokens) and
    // the test issuer's "last token request"; sequential files cannot see each other's traffic. It
    // also keeps a single workerd (Miniflare) instance alive at a time on a 2-core machine.
    fileParallelism: false,
    // Each file gets a fresh pool worker = a fresh Miniflare, so KV/DO state never leaks between files.
    isolate: true,
    outputFile: { json: 'test-results/vitest.json' },
  },
});
