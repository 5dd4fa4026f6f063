#!/usr/bin/env node
// npx node bench/coordinator-cost.mjs  (Node 22 from devDependencies; ≈2 min, everything on 127.0.0.1)
//
// What revocation checks cost: the gateway (src/index.ts) in three Miniflare (workerd) processes —
// KV-only; with the COORDINATOR Durable Object and a check on every protected request (the source's
// REVOCATION_CHECK_WINDOW_MS rewritten to 0 for this bundle only); with the shipped 1 s window — each
// with one signed-in session and the default SESSION_CACHE_TTL, so a steady-state request reads no KV
// and the check is its only I/O. Rounds rotate between variants; reported: workerd CPU per request
// (/proc; the Durable Object runs in the same process, so its side is included), latency with one
// connection, throughput with eight. docs/sessions.md "Revocation: what a check costs" quotes this.
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

import { WORKERD_BUILD } from './lib/build.mjs';
import { scratchDir, startStubUpstream, withCleanups } from './lib/harness.mjs';
import { closedLoop } from './lib/load.mjs';
import { cpuMicros } from './lib/procstat.mjs';
import { freePort, startWorker } from './lib/runtime.mjs';
import { signIn } from './lib/signin.mjs';
import { round } from './lib/stats.mjs';
import { gatewayClient, startIdp } from '../scripts/idp.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const ROUND_MS = Number(process.env.ROUND_MS ?? 3000);
const CLIENT_ID = 'edgegate-cost';
const CLIENT_SECRET = 'edgegate-cost-client-secret-not-a-secret-0123';
const SESSION_SECRET = 'ZWRnZWdhdGUtY29zdC1vbmx5LW5vdC1hLXNlY3JldCE';

await withCleanups(main);

/** @param {(() => Promise<unknown>)[]} cleanups */
async function main(cleanups) {
  console.log(`load average at start: ${loadavg()[0].toFixed(2)}`);
  const work = await scratchDir('edgegate-cost-', cleanups);
  const bundle = (name, windowMs) =>
    build({
      entryPoints: [join(ROOT, 'src/index.ts')],
      outfile: join(work, name),
      plugins: windowMs === undefined ? [] : [windowOverride(windowMs)],
      absWorkingDir: ROOT,
      ...WORKERD_BUILD,
      minify: true,
    });
  await bundle('shipped.mjs');
  await bundle('per-request.mjs', 0);

  const upstreamPort = await startStubUpstream(cleanups);

  const ports = [await freePort(), await freePort(), await freePort()];
  const origins = ports.map((port) => `http://127.0.0.1:${port}`);
  const idp = await startIdp({
    clients: [gatewayClient(CLIENT_ID, CLIENT_SECRET, origins)],
  });
  cleanups.push(() => idp.close());

  const bindings = { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET, SESSION_SECRET, UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`, DEV_ALLOW_HTTP: 'true' };
  const variants = [];
  const setups = [
    ['KV-only (no COORDINATOR binding)', 'shipped.mjs', false],
    ['coordinator, a check on every request', 'per-request.mjs', true],
    ['coordinator, 1 s isolate window (shipped)', 'shipped.mjs', true],
  ];
  for (const [i, [name, file, withCoordinator]] of setups.entries()) {
    const rt = await startWorker({ name: `variant-${i}`, script: join(work, file), port: ports[i], bindings, kv: ['SESSIONS'], coordinator: withCoordinator });
    cleanups.push(() => rt.mf.dispose());
    const { cookie } = await signIn(rt.origin, 'alice');
    variants.push({ name, origin: rt.origin, pid: rt.pid, headers: { accept: 'text/html', cookie }, serial: [], parallel: [] });
  }

  const check = (res) => res.statusCode === 200 && res.headers['x-bench-user'] === 'alice';
  for (const v of variants) await closedLoop({ url: `${v.origin}/warm`, headers: v.headers, connections: 2, durationMs: 1000, check });
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of [...variants.slice(round % variants.length), ...variants.slice(0, round % variants.length)]) {
      const cpuBefore = cpuMicros(v.pid);
      const serial = await closedLoop({ url: `${v.origin}/page`, headers: v.headers, connections: 1, durationMs: ROUND_MS, check });
      const cpu = (cpuMicros(v.pid) - cpuBefore) / serial.requests;
      const parallel = await closedLoop({ url: `${v.origin}/page`, headers: v.headers, connections: 8, durationMs: ROUND_MS, check });
      if (serial.failedChecks + serial.errors + parallel.failedChecks + parallel.errors > 0) throw new Error(`${v.name}: failed answers`);
      v.serial.push({ p50: serial.latencyMs.median, p99: serial.latencyMs.p99, cpu });
      v.parallel.push({ rps: parallel.rps });
    }
  }

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`\n${ROUNDS} rounds × ${ROUND_MS} ms per variant; load average at end ${loadavg()[0].toFixed(2)}\n`);
  console.log('| variant | workerd CPU µs/req | p50 ms (1 conn) | p99 ms (1 conn) | req/s (8 conns) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const v of variants) {
    console.log(`| ${v.name} | ${round(median(v.serial.map((s) => s.cpu)))} | ${round(median(v.serial.map((s) => s.p50)))} | ${round(median(v.serial.map((s) => s.p99)))} | ${round(median(v.parallel.map((p) => p.rps)))} |`);
  }
}

/** Rewrites the window constant in src/lifecycle/revocation.ts for one bundle; src/ stays untouched. */
function windowOverride(ms) {
  return {
    name: 'revocation-window',
    setup(b) {
      b.onLoad({ filter: /src[\\/]lifecycle[\\/]revocation\.ts$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const rewritten = source.replace(/const REVOCATION_CHECK_WINDOW_MS = \d+;/, `const REVOCATION_CHECK_WINDOW_MS = ${ms};`);
        if (rewritten === source) throw new Error('REVOCATION_CHECK_WINDOW_MS not found in src/lifecycle/revocation.ts');
        return { contents: rewritten, loader: 'ts' };
      });
    },
  };
}
