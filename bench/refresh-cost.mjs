#!/usr/bin/env node
// npx node bench/refresh-cost.mjs  (Node 22 from devDependencies; ≈1 min, everything on 127.0.0.1)
//
// What a refresh costs in each mode: the gateway (src/index.ts) in two Miniflare (workerd) processes —
// KV-only, and with the COORDINATOR Durable Object, where the object redeems the refresh token itself —
// in front of the local IdP issuing 4-second access tokens, so every request made a little over two
// seconds after the last refresh renews the session. Reported: the wall time of a request that
// refreshes (median and p90 of ROUNDS), of a steady request for comparison, and the IdP's token
// requests per refresh (1 = no second redemption). Durable Object calls per refresh are counted by
// test/coordinator/calls.test.ts (1). docs/sessions.md "One refresh per session across the edge" quotes this.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

import { WORKERD_BUILD } from './lib/build.mjs';
import { scratchDir, startStubUpstream, withCleanups } from './lib/harness.mjs';
import { freePort, startWorker } from './lib/runtime.mjs';
import { signIn } from './lib/signin.mjs';
import { round } from './lib/stats.mjs';
import { gatewayClient, startIdp } from '../scripts/idp.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 12);
const CLIENT_ID = 'edgegate-refresh-cost';
const CLIENT_SECRET = 'edgegate-refresh-cost-secret-not-a-secret-01';
const SESSION_SECRET = 'ZWRnZWdhdGUtcmVmcmVzaC1jb3N0LW9ubHktbm90LWE';
const TOKEN_TTL_S = 4;

await withCleanups(main);

/** @param {(() => Promise<unknown>)[]} cleanups */
async function main(cleanups) {
  console.log(`load average at start: ${loadavg()[0].toFixed(2)}`);
  const work = await scratchDir('edgegate-refresh-cost-', cleanups);
  await build({ entryPoints: [join(ROOT, 'src/index.ts')], outfile: join(work, 'gateway.mjs'), absWorkingDir: ROOT, ...WORKERD_BUILD, minify: true });

  const upstreamPort = await startStubUpstream(cleanups);

  const ports = [await freePort(), await freePort()];
  const origins = ports.map((port) => `http://127.0.0.1:${port}`);
  let tokenRequests = 0;
  const idp = await startIdp({
    clients: [gatewayClient(CLIENT_ID, CLIENT_SECRET, origins)],
    ttl: { AccessToken: TOKEN_TTL_S, IdToken: 3600 },
  });
  cleanups.push(() => idp.close());
  idp.provider.on('grant.success', () => tokenRequests++);

  const bindings = { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET, SESSION_SECRET, OIDC_SCOPES: 'openid offline_access', UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`, DEV_ALLOW_HTTP: 'true' };
  const setups = [
    ['KV-only: the isolate redeems', false],
    ['coordinated: the object redeems', true],
  ];
  const results = [];
  for (const [i, [name, withCoordinator]] of setups.entries()) {
    const rt = await startWorker({ name: `refresh-${i}`, script: join(work, 'gateway.mjs'), port: ports[i], bindings, kv: ['SESSIONS'], coordinator: withCoordinator });
    cleanups.push(() => rt.mf.dispose());
    const url = new URL(rt.origin);
    const { cookie } = await signIn(url.origin, 'alice');
    const get = async () => {
      const started = performance.now();
      const res = await fetch(`${url.origin}/page`, { headers: { accept: 'text/html', cookie }, redirect: 'manual' });
      await res.arrayBuffer();
      if (res.status !== 200 || res.headers.get('x-bench-user') !== 'alice') throw new Error(`${name}: answered ${res.status}`);
      return performance.now() - started;
    };
    await get(); // warm (discovery is done at sign-in; this is the first steady request)
    const refreshing = [];
    const steady = [];
    const tokensBefore = tokenRequests;
    for (let r = 0; r < ROUNDS; r++) {
      // Due once less than half the token lifetime is left (REFRESH_MARGIN is capped at half of it).
      await new Promise((resolve) => setTimeout(resolve, (TOKEN_TTL_S / 2) * 1000 + 150));
      refreshing.push(await get());
      steady.push(await get());
    }
    results.push({ name, refreshing, steady, tokenRequests: tokenRequests - tokensBefore });
  }

  const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
  console.log(`\n${ROUNDS} refreshes per mode; ${TOKEN_TTL_S} s access tokens; load average at end ${loadavg()[0].toFixed(2)}\n`);
  console.log('| mode | refreshing request p50 ms | p90 ms | steady request p50 ms | IdP token requests per refresh |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of results) {
    const perRefresh = r.tokenRequests > 0 ? round(r.tokenRequests / ROUNDS) : 'n/a';
    console.log(`| ${r.name} | ${round(q(r.refreshing, 0.5))} | ${round(q(r.refreshing, 0.9))} | ${round(q(r.steady, 0.5))} | ${perRefresh} |`);
  }
}
