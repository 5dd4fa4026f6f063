// `npm run bench`: what the gateway costs per request, measured on this machine in one run.
//
//   1. in-process CPU per request, gateway vs. a bare pass-through, in workerd and in Node
//   2. end to end through plain Miniflare (workerd): req/s and latency, as ratios to the pass-through
//   3. per request type: KV reads/writes (counting KV wrapper), IdP calls (counted at the local IdP),
//      upstream calls (counted at the stub upstream)
//   4. a bounded concurrent sign-in + signed-in-request load: errors and lost sessions
//   5. bundle size (wrangler deploy --dry-run), raw and gzipped
// and the closest peer, @hono/oidc-auth (bench/workers/peer.ts), beside the gateway in 1 (in-process), in
// cold start and in 5 (bundle), with its IdP and upstream calls per steady signed-in request counted as in 3.
//
// Writes bench/results.json and bench/RESULTS.md. Everything listens on 127.0.0.1 only; every load
// is bounded in time and count and stops by itself. BENCH_QUICK=1 shortens every phase (smoke run).
//
// Every secret below is a BENCH-ONLY value, public in this repository.

import { fork, spawn } from 'node:child_process';
import dc from 'node:diagnostics_channel';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { gatewayClient, startIdp } from '../scripts/idp.mjs';
import { buildColdBundles, buildWorkers, bundleComposition, peerBundleSize } from './lib/build.mjs';
import { closedLoop } from './lib/load.mjs';
import { cpuMicros } from './lib/procstat.mjs';
import { profileWorker } from './lib/profile.mjs';
import { renderConsole, renderMarkdown } from './lib/report.mjs';
import { freePort, startWorker } from './lib/runtime.mjs';
import { signIn, signInPeer } from './lib/signin.mjs';
import { summarize } from './lib/stats.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.env.BENCH_QUICK === '1';
/** Hard stop for the whole run: a hung phase must not keep CI busy. */
const RUN_DEADLINE_MS = 8 * 60 * 1000;

const CLIENT_ID = 'edgegate-bench';
const REFRESH_CLIENT_ID = 'edgegate-bench-refresh';
const CLIENT_SECRET = 'edgegate-bench-client-secret-not-a-secret'; // BENCH ONLY
// base64url of the 32 bytes "edgegate-bench-only-not-secret!!". BENCH ONLY.
const SESSION_SECRET = 'ZWRnZWdhdGUtYmVuY2gtb25seS1ub3Qtc2VjcmV0ISE';
/** The peer's session JWT key (HS256; it wants ≥ 32 characters). BENCH ONLY. */
const PEER_AUTH_SECRET = 'hono-oidc-auth-bench-only-not-a-secret-at-all';
/** The peer's subject in the in-process bench (bench/workers/subjects.ts PEER_SUBJECT). */
const PEER_SUBJECT = 'peer (@hono/oidc-auth): signed-in GET';
/**
 * The refresh probe's access tokens live this long. Far below REFRESH_MARGIN (60 s), so a refresh is
 * due at once under a plain margin rule, and after half the lifetime under a "margin or half the
 * lifetime" rule: the probe waits REFRESH_PROBE_WAIT_MS after sign-in before its request.
 */
const REFRESH_PROBE_TOKEN_TTL = 2;
const REFRESH_PROBE_WAIT_MS = 1200;
const PUBLIC_PATH = '/assets/style.css';
const GATEWAY_SUBJECT = 'gateway: signed-in GET';
/** End to end: the pass-through also sending the headers the gateway adds (what carrying them costs locally). */
const PASS_WITH_HEADERS = "pass-through + the gateway's 9 added headers";

const PLAN = QUICK
  ? { e2e: { connections: 8, warmupMs: 500, roundMs: 1000, rounds: 2 }, workerd: { rounds: 8, targetMs: 10, componentRounds: 4, cpuRounds: 1, cpuMs: 300 }, node: { rounds: 3, perRound: 200 }, load: { signIns: 10, requestsPerSession: 10 }, cold: { node: 3, workerd: 1 } }
  : { e2e: { connections: 8, warmupMs: 1000, roundMs: 2000, rounds: 6 }, workerd: { rounds: 40, targetMs: 20, componentRounds: 15, cpuRounds: 4, cpuMs: 500 }, node: { rounds: 10, perRound: 400 }, load: { signIns: 50, requestsPerSession: 40 }, cold: { node: 7, workerd: 9 } };

const browser = JSON.parse(await readFile(join(ROOT, 'bench/fixtures/browser-request.json'), 'utf8'));

/** @type {(() => Promise<unknown>)[]} */
const cleanups = [];
const deadline = setTimeout(() => {
  console.error(`bench: still running after ${RUN_DEADLINE_MS / 1000} s; giving up.`);
  void cleanup().finally(() => process.exit(2));
}, RUN_DEADLINE_MS);
deadline.unref();
// Ctrl-C or a CI stop: stop every server and workerd this run started before going.
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    console.error(`bench: ${signal}; stopping.`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function cleanup() {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
}

/** @param {string} message */
function step(message) {
  console.log(`· ${message}`);
}

try {
  const results = await main();
  const problems = results.checks.filter((c) => !c.ok);
  await writeFile(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(ROOT, 'bench/RESULTS.md'), renderMarkdown(results));
  console.log(`\n${renderConsole(results)}`);
  console.log('wrote bench/results.json and bench/RESULTS.md');
  if (problems.length > 0) {
    console.error(`bench: ${problems.length} correctness check(s) failed: ${problems.map((c) => c.name).join('; ')}`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(deadline);
}

async function main() {
  const startedAt = new Date();
  // Other work on this machine (a test run, a build) skews every number: recorded, and warned about.
  const loadAtStart = loadavg().map((x) => Math.round(x * 100) / 100);
  if (loadAtStart[0] > 0.5) step(`note: load average ${loadAtStart[0]} at start; something else is using the CPU, numbers will be noisier`);
  const work = await mkdtemp(join(tmpdir(), 'edgegate-bench-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  /** @type {{ name: string, ok: boolean, detail: string }[]} */
  const checks = [];

  step('bundling the workers (esbuild)');
  const bundles = await buildWorkers(ROOT, join(work, 'bundles'));

  // ---- servers: stub upstream (own process), local IdP (here), workers (one workerd each) ----------
  const upstream = await startUpstream();
  cleanups.push(upstream.close);
  const ports = { gateway: await freePort(), counted: await freePort(), refresh: await freePort(), memory: await freePort(), peer: await freePort(), coldSignIn: await freePort() };
  const origin = (port) => `http://127.0.0.1:${port}`;

  step('starting the local IdP (oidc-provider)');
  const idp = await startIdp({
    clients: [
      gatewayClient(CLIENT_ID, CLIENT_SECRET, [origin(ports.gateway), origin(ports.counted), origin(ports.memory), origin(ports.peer), origin(ports.coldSignIn)]),
      gatewayClient(REFRESH_CLIENT_ID, CLIENT_SECRET, [origin(ports.refresh)]),
    ],
    ttl: { AccessToken: (_ctx, token) => (token?.clientId === REFRESH_CLIENT_ID ? REFRESH_PROBE_TOKEN_TTL : 3600) },
  });
  cleanups.push(idp.close);
  const idpCalls = countIdpCalls(idp.port);
  const endpoints = await idpEndpointNames(idp.issuer);

  const bindings = {
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    SESSION_SECRET,
    UPSTREAM_URL: upstream.url,
    DEV_ALLOW_HTTP: 'true',
    ROUTES: [{ path: '/assets/**', auth: 'public' }],
  };
  // The peer's settings: the same IdP, client and upstream. Its callback at /_auth/callback, the path
  // gatewayClient() registers for every origin; the gateway's default scopes (the peer would ask for every
  // scope the IdP lists); a refresh due only after an hour, far beyond RUN_DEADLINE_MS, so no signed-in
  // request of this run is due one (its default, 15 minutes, would do too).
  const peerBindings = {
    UPSTREAM_URL: upstream.url,
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    OIDC_AUTH_SECRET: PEER_AUTH_SECRET,
    OIDC_REDIRECT_URI: '/_auth/callback',
    OIDC_SCOPES: 'openid profile email',
    OIDC_AUTH_REFRESH_INTERVAL: '3600',
  };
  step('starting workerd (Miniflare) for: gateway, pass-through, gateway on in-memory KV, counted gateway ×2, peer, in-process bench');
  const gw = await startWorker({ name: 'gateway', script: bundles.gateway, port: ports.gateway, bindings, kv: ['SESSIONS'] });
  cleanups.push(() => gw.mf.dispose());
  const pt = await startWorker({ name: 'passthrough', script: bundles.passthrough, port: await freePort(), bindings: { UPSTREAM_URL: upstream.url } });
  cleanups.push(() => pt.mf.dispose());
  const pth = await startWorker({ name: 'passthrough-headers', script: bundles.passthrough, port: await freePort(), bindings: { UPSTREAM_URL: upstream.url, BENCH_ADD_HEADERS: 'true' } });
  cleanups.push(() => pth.mf.dispose());
  const mem = await startWorker({ name: 'memory-kv', script: bundles.counted, port: ports.memory, bindings: { ...bindings, BENCH_MEMORY_KV: 'true' } });
  cleanups.push(() => mem.mf.dispose());
  const ct = await startWorker({ name: 'counted', script: bundles.counted, port: ports.counted, bindings, kv: ['SESSIONS'] });
  cleanups.push(() => ct.mf.dispose());
  const ctr = await startWorker({
    name: 'counted-refresh',
    script: bundles.counted,
    port: ports.refresh,
    bindings: { ...bindings, OIDC_CLIENT_ID: REFRESH_CLIENT_ID, OIDC_SCOPES: 'openid profile email offline_access' },
    kv: ['SESSIONS'],
  });
  cleanups.push(() => ctr.mf.dispose());
  const pr = await startWorker({ name: 'peer', script: bundles.peer, port: ports.peer, bindings: peerBindings });
  cleanups.push(() => pr.mf.dispose());
  const ip = await startWorker({ name: 'inprocess', script: bundles.inprocess, port: await freePort(), kv: ['REAL_KV'] });
  cleanups.push(() => ip.mf.dispose());
  // The peer in-process in a workerd of its own (bench/workers/subjects.ts `group`): in one isolate with
  // the gateway, each one's compiled code and garbage would weigh on the other's timings.
  const ipPeer = await startWorker({ name: 'inprocess-peer', script: bundles.inprocess, port: await freePort(), kv: ['REAL_KV'] });
  cleanups.push(() => ipPeer.mf.dispose());

  // ---- 3. per request type: KV, IdP, upstream ---------------------------------------------------
  step('counting KV, IdP and upstream calls per request type');
  const perType = await countPerType(ct, ctr, idpCalls, endpoints, upstream);

  // ---- sign in for the timed runs --------------------------------------------------------------
  step('signing in through the gateway at the local IdP');
  const session = await signIn(gw.origin, 'alice');
  const sessionKey = `session:${session.cookie.split('=')[1].split('.')[0]}`;
  const sealed = await (await gw.mf.getKVNamespace('SESSIONS')).get(sessionKey, 'text');
  if (!sealed) throw new Error(`the session ${sessionKey} is not in the gateway's KV after sign-in`);
  const signedInHeaders = { ...Object.fromEntries(browser.headers), cookie: `${session.cookie}; ${browser.siteCookie}` };
  const memorySession = await signIn(mem.origin, 'alice');
  const memoryHeaders = { ...Object.fromEntries(browser.headers), cookie: `${memorySession.cookie}; ${browser.siteCookie}` };
  const anonymousHeaders = { ...Object.fromEntries(browser.headers), cookie: browser.siteCookie };

  step('signing in through the peer (@hono/oidc-auth) at the local IdP; counting its steady signed-in requests');
  const peerSession = await signInPeer(pr.origin, 'alice');
  const peerHeaders = { ...Object.fromEntries(browser.headers), cookie: `${peerSession.cookie}; ${browser.siteCookie}` };
  const peerSteady = await countPeerSteady(pr, peerHeaders, idpCalls, upstream);
  perType.rows.push(peerSteady);
  checks.push({
    name: 'peer: a steady signed-in request makes no IdP call and reaches the upstream',
    ok: peerSteady.idpCalls === 0 && peerSteady.upstreamCalls === 1,
    detail: `${peerSteady.idpCalls} IdP calls and ${peerSteady.upstreamCalls} upstream calls per request`,
  });

  // ---- 1. in-process CPU ----------------------------------------------------------------------
  const setup = { origin: gw.origin, sessionCookie: session.cookie, kv: { [sessionKey]: sealed }, bindings, upstreamUrl: upstream.url, publicPath: PUBLIC_PATH, user: 'alice', peerCookie: peerSession.cookie, peerBindings };
  step('in-process CPU in workerd (batches, interleaved)');
  const inWorkerd = await inProcessWorkerd(ip, setup);
  step('in-process CPU in Node 22 (per call, interleaved)');
  const inNode = await inProcessNode(bundles.subjects, setup, work);
  step('in-process CPU of the peer, beside a pass-through of its own (workerd, then Node)');
  withPeer(inWorkerd, await inProcessWorkerd(ipPeer, { ...setup, group: 'peer' }, { subjectsOnly: true }));
  withPeer(inNode, await inProcessNode(bundles.subjects, { ...setup, group: 'peer' }, work));
  step(`cold start: ${PLAN.cold.node} fresh Node processes and ${PLAN.cold.workerd} fresh workerd processes per subject`);
  const cold = {
    node: await coldStartNode(setup, work),
    workerd: await coldStartWorkerd(bundles, setup, { gateway: signedInHeaders, peer: peerHeaders }, bindings, peerBindings),
    signIn: await firstSignIn(bundles, bindings, ports.coldSignIn),
  };
  step('CPU profile of the signed-in GET in workerd (V8 inspector)');
  // Diagnostic only: a failure here (no inspector) leaves the profile out instead of failing the run.
  const profile = await profileSignedIn(bundles.inprocess, setup).catch((error) => ({ error: error instanceof Error ? error.message : String(error) }));

  // ---- 2. end to end --------------------------------------------------------------------------
  step(`end to end: ${PLAN.e2e.rounds} × ${PLAN.e2e.roundMs / 1000} s per variant, ${PLAN.e2e.connections} connections, interleaved`);
  const e2e = await endToEnd(
    [
      { name: 'pass-through', runtime: pt, url: `${pt.origin}/`, headers: signedInHeaders, user: '' },
      { name: PASS_WITH_HEADERS, runtime: pth, url: `${pth.origin}/`, headers: signedInHeaders, user: 'alice' },
      { name: 'gateway: signed-in GET', runtime: gw, url: `${gw.origin}/`, headers: signedInHeaders, user: 'alice' },
      { name: 'gateway: signed-in GET, in-memory KV', runtime: mem, url: `${mem.origin}/`, headers: memoryHeaders, user: 'alice' },
      { name: 'gateway: public GET', runtime: gw, url: `${gw.origin}${PUBLIC_PATH}`, headers: anonymousHeaders, user: '' },
      { name: 'gateway: public GET + session cookie', runtime: gw, url: `${gw.origin}${PUBLIC_PATH}`, headers: signedInHeaders, user: 'alice' },
    ],
    idpCalls,
    upstream,
  );
  for (const v of e2e.variants) {
    checks.push({
      name: `end to end "${v.name}": every answer 200 from the upstream as the right user`,
      ok: v.errors === 0 && v.failedChecks === 0 && Object.keys(v.statuses).every((s) => s === '200'),
      detail: `statuses ${JSON.stringify(v.statuses)}, errors ${v.errors}, wrong/missing user ${v.failedChecks}`,
    });
  }
  checks.push({ name: 'end to end: no IdP call during steady-state load', ok: e2e.idpCalls === 0, detail: `${e2e.idpCalls} IdP calls` });

  // ---- 4. concurrent sign-ins + signed-in requests -------------------------------------------
  step(`load: ${PLAN.load.signIns} concurrent sign-ins, then ${PLAN.load.requestsPerSession} signed-in requests each, all at once`);
  const load = await concurrentLoad(ct, idpCalls);
  checks.push({ name: 'load: no sign-in failed', ok: load.signIns.failed === 0, detail: load.signIns.errors.slice(0, 3).join('; ') });
  checks.push({ name: 'load: no request error', ok: load.requests.errors === 0, detail: `${load.requests.errors} errors` });
  checks.push({ name: 'load: no lost session', ok: load.requests.lostSessions === 0 && load.finalCheck.lost === 0, detail: `${load.requests.lostSessions} during, ${load.finalCheck.lost} after` });
  checks.push({ name: 'load: no answer for the wrong user', ok: load.requests.wrongUser === 0, detail: `${load.requests.wrongUser}` });

  // ---- 5. bundle -------------------------------------------------------------------------------
  step('bundle size: wrangler deploy --dry-run (as configured, and with --minify)');
  const bundle = { ...(await bundleSize(work)), peer: await peerBundleSize(ROOT) };

  const logs = [gw, pt, pth, mem, ct, ctr, pr, ip].flatMap((r) => r.logs.filter((l) => /error|warn/i.test(l.level)).map((l) => ({ worker: r.name, ...l })));

  return {
    startedAt: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    quick: QUICK,
    machine: { loadAverage: { atStart: loadAtStart, atEnd: loadavg().map((x) => Math.round(x * 100) / 100) }, node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', workerd: await workerdVersion(), git: await gitDescribe() },
    plan: PLAN,
    inProcess: { workerd: inWorkerd, node: inNode, profile },
    cold,
    endToEnd: e2e,
    perType,
    load,
    bundle,
    workerLogs: logs.slice(0, 20),
    checks,
  };
}

// ---- servers ---------------------------------------------------------------------------------------

async function startUpstream() {
  const child = fork(join(ROOT, 'bench/lib/upstream.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(/** @type {{ port: number }} */ (m).port));
    child.once('exit', (code) => reject(new Error(`stub upstream exited (${code})`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const control = async (path) => (await fetch(`${url}/__bench/${path}`)).json();
  return {
    url,
    /** @returns {Promise<{ requests: number, withUser: number }>} */
    stats: () => control('stats'),
    reset: () => control('reset'),
    close: async () => {
      child.kill('SIGTERM');
    },
  };
}

/**
 * Every request that reaches the IdP's HTTP server, by path (node:http's diagnostics channel, so
 * scripts/idp.mjs stays as it is). The bench's own browser steps are kept out by counting only in
 * windows that contain gateway requests alone.
 * @param {number} port
 */
function countIdpCalls(port) {
  /** @type {string[]} */
  let paths = [];
  dc.subscribe('http.server.request.start', (message) => {
    const { request, socket } = /** @type {{ request: http.IncomingMessage, socket: import('node:net').Socket }} */ (message);
    if (socket.localPort === port) paths.push(new URL(request.url ?? '/', 'http://idp.invalid').pathname);
  });
  return {
    reset() {
      paths = [];
    },
    /** @returns {string[]} */
    take() {
      const out = paths;
      paths = [];
      return out;
    },
  };
}

/** Path → endpoint name, from the IdP's discovery document. @param {string} issuer */
async function idpEndpointNames(issuer) {
  const metadata = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  /** @type {Record<string, string>} */
  const names = { '/.well-known/openid-configuration': 'discovery' };
  for (const [key, name] of [['token_endpoint', 'token'], ['jwks_uri', 'jwks'], ['userinfo_endpoint', 'userinfo'], ['introspection_endpoint', 'introspection'], ['revocation_endpoint', 'revocation'], ['authorization_endpoint', 'authorize'], ['end_session_endpoint', 'end_session']]) {
    if (typeof metadata[key] === 'string') names[new URL(metadata[key]).pathname] = name;
  }
  return names;
}

// ---- 3. counts per request type ----------------------------------------------------------------------

/**
 * @param {import('./lib/runtime.mjs').Runtime} ct  counted gateway, untouched so far (cold isolate)
 * @param {import('./lib/runtime.mjs').Runtime} ctr  counted gateway for the refresh probe
 */
async function countPerType(ct, ctr, idpCalls, endpoints, upstream) {
  const control = async (rt, path) => (await fetch(`${rt.origin}/__bench/${path}`)).json();
  /**
   * Counts what `action` makes the gateway do: KV calls, IdP calls (by endpoint), upstream calls.
   * @param {import('./lib/runtime.mjs').Runtime} rt
   * @param {number} n  requests made by `action` (counts are divided by it)
   * @param {() => Promise<void>} action
   */
  const measure = async (rt, n, action) => {
    await control(rt, 'reset');
    await upstream.reset();
    idpCalls.reset();
    await action();
    const { kv } = await control(rt, 'counts');
    const idp = idpCalls.take();
    const up = await upstream.stats();
    /** @type {Record<string, number>} */
    const byEndpoint = {};
    for (const path of idp) {
      const name = endpoints[path] ?? path;
      byEndpoint[name] = (byEndpoint[name] ?? 0) + 1 / n;
    }
    const reads = (kv.get ?? 0) + (kv.getWithMetadata ?? 0) + (kv.list ?? 0);
    const writes = (kv.put ?? 0) + (kv.delete ?? 0);
    return { requests: n, kvReads: reads / n, kvWrites: writes / n, kvByMethod: kv, idpCalls: idp.length / n, idpByEndpoint: byEndpoint, upstreamCalls: up.requests / n };
  };

  /** One sign-in, counting its two gateway requests separately. */
  const countedSignIn = async (rt, user) => {
    /** @type {Record<string, any>} */
    const out = {};
    let stop = async () => {};
    const begin = (label) => async () => {
      await stop();
      await control(rt, 'reset');
      await upstream.reset();
      idpCalls.reset();
      stop = async () => {
        const { kv } = await control(rt, 'counts');
        const idp = idpCalls.take();
        const up = await upstream.stats();
        const byEndpoint = {};
        for (const path of idp) byEndpoint[endpoints[path] ?? path] = (byEndpoint[endpoints[path] ?? path] ?? 0) + 1;
        out[label] = {
          requests: 1,
          kvReads: (kv.get ?? 0) + (kv.getWithMetadata ?? 0) + (kv.list ?? 0),
          kvWrites: (kv.put ?? 0) + (kv.delete ?? 0),
          kvByMethod: kv,
          idpCalls: idp.length,
          idpByEndpoint: byEndpoint,
          upstreamCalls: up.requests,
        };
        stop = async () => {};
      };
    };
    const result = await signIn(rt.origin, user, {
      beforeLogin: begin('login'),
      // The browser's own steps at the IdP fall between the two windows.
      afterLogin: async () => stop(),
      beforeCallback: begin('callback'),
    });
    await stop();
    return { ...out, cookie: result.cookie };
  };

  const cold = await countedSignIn(ct, 'alice'); // first requests this isolate sees: discovery, JWKS
  const warm = await countedSignIn(ct, 'bob');
  const headers = (cookie) => ({ ...Object.fromEntries(browser.headers), cookie: `${cookie}; ${browser.siteCookie}` });
  const get = async (rt, path, h) => {
    const res = await fetch(`${rt.origin}${path}`, { headers: h, redirect: 'manual' });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`counting: GET ${path} answered ${res.status}`);
  };
  const N = 20;
  const repeat = (fn) => async () => {
    for (let i = 0; i < N; i++) await fn();
  };
  const signedIn = await measure(ct, N, repeat(() => get(ct, '/', headers(warm.cookie))));
  const publicAnon = await measure(ct, N, repeat(() => get(ct, PUBLIC_PATH, { ...Object.fromEntries(browser.headers), cookie: browser.siteCookie })));
  const publicCookie = await measure(ct, N, repeat(() => get(ct, PUBLIC_PATH, headers(warm.cookie))));
  const userinfo = await measure(ct, N, repeat(() => get(ct, '/_auth/userinfo', headers(warm.cookie))));

  // Refresh: the probe's access tokens expire within REFRESH_MARGIN at once, so a gateway that
  // refreshes must do it on the first signed-in request.
  const probe = await signIn(ctr.origin, 'alice');
  await new Promise((resolve) => setTimeout(resolve, REFRESH_PROBE_WAIT_MS));
  const refresh = await measure(ctr, 1, () => get(ctr, '/', headers(probe.cookie)));
  const refreshed = (refresh.idpByEndpoint.token ?? 0) > 0;
  const afterRefresh = refreshed ? await measure(ctr, 1, () => get(ctr, '/', headers(probe.cookie))) : null;

  return {
    rows: [
      { type: 'signed-in GET (steady state)', ...signedIn },
      { type: 'public GET (no session cookie)', ...publicAnon },
      { type: 'public GET with a session cookie', ...publicCookie },
      { type: 'sign-in start /_auth/login (warm isolate)', ...warm.login },
      { type: 'callback /_auth/callback (warm isolate)', ...warm.callback },
      { type: 'sign-in start, first request of an isolate', ...cold.login },
      { type: 'callback, first of an isolate', ...cold.callback },
      { type: '/_auth/userinfo', ...userinfo },
      refreshed
        ? { type: 'signed-in GET that refreshes the tokens', ...refresh }
        : { type: 'refresh', skipped: true, note: `no refresh seen: a signed-in GET ${REFRESH_PROBE_WAIT_MS / 1000} s into a ${REFRESH_PROBE_TOKEN_TTL} s access token (offline_access granted) made no token-endpoint call (KV writes: ${refresh.kvWrites}); not implemented yet?`, ...refresh },
      ...(afterRefresh ? [{ type: 'the next signed-in GET after a refresh', ...afterRefresh }] : []),
    ],
  };
}

/**
 * The peer's steady signed-in GET, counted like the gateway's (IdP calls at the IdP, upstream calls at
 * the stub upstream): its session is the cookie alone, so there is no KV to count.
 * @param {import('./lib/runtime.mjs').Runtime} pr
 * @param {Record<string, string>} headers  the browser request with the peer's cookie
 */
async function countPeerSteady(pr, headers, idpCalls, upstream) {
  const N = 20;
  await upstream.reset();
  idpCalls.reset();
  for (let i = 0; i < N; i++) {
    const res = await fetch(`${pr.origin}/`, { headers, redirect: 'manual' });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`peer: a signed-in GET answered ${res.status} ${res.headers.get('location') ?? ''}`);
  }
  const idp = idpCalls.take();
  const up = await upstream.stats();
  return { type: 'peer @hono/oidc-auth: steady signed-in GET', requests: N, kvReads: 0, kvWrites: 0, idpCalls: idp.length / N, idpByEndpoint: {}, upstreamCalls: up.requests / N };
}

// ---- 1. in-process -----------------------------------------------------------------------------------

/**
 * Adds the peer's subject, measured in a process of its own, to the gateway's results; its
 * `passThroughMedian` (and `passThroughCpuMicrosPerCall`) are the pass-through's in that same process,
 * which the peer's overhead is taken against.
 */
function withPeer(results, peerRun) {
  const peer = peerRun.subjects[PEER_SUBJECT];
  const pass = peerRun.subjects['pass-through'];
  if (!peer || !pass) return;
  results.subjects[PEER_SUBJECT] = { ...peer, passThroughMedian: pass.median, passThroughCpuMicrosPerCall: pass.cpuMicrosPerCall ?? null };
}

/**
 * @param {import('./lib/runtime.mjs').Runtime} ip
 * @param {{ subjectsOnly?: boolean }} [options]  subjects only: no building blocks, counts or KV latency
 */
async function inProcessWorkerd(ip, setup, options = {}) {
  const call = async (path, body) => {
    const res = await ip.mf.dispatchFetch(`http://bench.local${path}`, { method: 'POST', body: JSON.stringify(body ?? {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`in-process (workerd) ${path}: ${res.status} ${text.slice(0, 500)}`);
    return JSON.parse(text);
  };
  const ready = await call('/setup', setup);
  const main = await call('/run', { names: ready.subjects, rounds: PLAN.workerd.rounds, targetMs: PLAN.workerd.targetMs });
  // The same subjects by CPU time: workerd's own run time (/proc schedstat) over a stretch of calls,
  // divided by the calls. A mean only, but unlike the wall clock it ignores time the core spent on
  // other processes — what matters on a busy machine.
  /** @type {Record<string, { cpuMicros: number, calls: number }>} */
  const cpuTotals = Object.fromEntries(ready.subjects.map((n) => [n, { cpuMicros: 0, calls: 0 }]));
  for (let round = 0; round < PLAN.workerd.cpuRounds; round++) {
    for (const name of ready.subjects) {
      const before = cpuMicros(ip.pid);
      const { calls } = await call('/loop', { name, ms: PLAN.workerd.cpuMs });
      const after = cpuMicros(ip.pid);
      if (before === null || after === null) continue;
      cpuTotals[name].cpuMicros += after - before;
      cpuTotals[name].calls += calls;
    }
  }
  const summarizeAll = (run) => Object.fromEntries(Object.entries(run.samples).map(([name, values]) => [name, { ...summarize(values), perSample: run.perSample[name] }]));
  const subjects = Object.fromEntries(
    Object.entries(summarizeAll(main)).map(([name, stats]) => [name, { ...stats, cpuMicrosPerCall: cpuTotals[name].calls ? cpuTotals[name].cpuMicros / cpuTotals[name].calls : null }]),
  );
  if (options.subjectsOnly) return { subjects };
  const parts = await call('/run', { names: ready.components, rounds: PLAN.workerd.componentRounds, targetMs: PLAN.workerd.targetMs / 2, components: true });
  const counts = await call('/count', { name: 'gateway: signed-in GET', n: 200 });
  const cpu0 = cpuMicros(ip.pid);
  const kvLatency = await call('/kv-latency');
  const cpu1 = cpuMicros(ip.pid);
  const kvGets = kvLatency.single.length + kvLatency.batch;
  return {
    method: `batches: each sample times n back-to-back calls (n sized to ~${PLAN.workerd.targetMs} ms), minus the cost of a timer tick (${main.tickMs.toFixed(3)} ms); ${PLAN.workerd.rounds} samples per subject, interleaved. median/p99 are of per-call means of samples.`,
    subjects,
    components: summarizeAll(parts),
    facts: ready.facts,
    stubCountsPerSignedInRequest: counts,
    localKvGetMs: { single: summarize(kvLatency.single), meanOfBatch: kvLatency.meanOfBatchMs },
    // workerd CPU (all threads) per get of Miniflare's local KV simulator: part of every end-to-end
    // signed-in request here, and nothing like production KV's cost to the Worker.
    localKvGetCpuMicros: cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / kvGets : null,
  };
}

/**
 * Where the signed-in GET's CPU goes inside workerd: a separate instance with the V8 inspector on
 * (so the timed runs never had a debugger port), sampled every 100 µs while the subject loops.
 */
async function profileSignedIn(bundle, setup) {
  const inspectorPort = await freePort();
  const rt = await startWorker({ name: 'profile', script: bundle, port: await freePort(), kv: ['REAL_KV'], inspectorPort });
  try {
    const res = await rt.mf.dispatchFetch('http://bench.local/setup', { method: 'POST', body: JSON.stringify(setup) });
    if (!res.ok) throw new Error(`profile setup: ${res.status} ${await res.text()}`);
    const warm = await rt.mf.dispatchFetch('http://bench.local/loop', { method: 'POST', body: JSON.stringify({ name: GATEWAY_SUBJECT, ms: 500 }) });
    await warm.text();
    let calls = 0;
    const profile = await profileWorker({
      inspectorPort,
      worker: 'profile',
      bundlePath: bundle,
      workload: async () => {
        const r = await rt.mf.dispatchFetch('http://bench.local/loop', { method: 'POST', body: JSON.stringify({ name: GATEWAY_SUBJECT, ms: QUICK ? 1000 : 3000 }) });
        calls = (await r.json()).calls;
      },
    });
    return { subject: GATEWAY_SUBJECT, calls, ...profile };
  } finally {
    await rt.mf.dispose();
  }
}

async function inProcessNode(modulePath, setup, work) {
  const setupPath = join(work, 'inprocess-setup.json');
  await writeFile(setupPath, JSON.stringify(setup));
  // --expose-gc: the heap is read after full collections (memory after 10 000 bad cookies).
  const child = spawn(process.execPath, ['--expose-gc', join(ROOT, 'bench/lib/inprocess-node.mjs'), modulePath, setupPath, String(PLAN.node.rounds), String(PLAN.node.perRound)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const code = await new Promise((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`in-process (Node) exited with ${code}`);
  const parsed = JSON.parse(out);
  return {
    method: `every call timed alone with performance.now(); ${PLAN.node.rounds} rounds × ${PLAN.node.perRound} calls per subject, interleaved, after 2000 warm-up calls each.`,
    ...parsed,
  };
}

// ---- cold start --------------------------------------------------------------------------------------

/**
 * The first request of a fresh isolate, in Node: one new process per sample (lib/cold-node.mjs) loads the
 * minified bundle and serves two requests; gateway, pass-through, peer and config validation alone, interleaved.
 * Medians of the samples, in ms.
 */
async function coldStartNode(setup, work) {
  const bundles = await buildColdBundles(ROOT, join(work, 'cold'));
  const setupPath = join(work, 'cold-setup.json');
  await writeFile(setupPath, JSON.stringify(setup));
  /** @type {Record<string, { loadMs: number[], firstMs: number[], secondMs: number[] }>} */
  const samples = {};
  for (let i = 0; i < PLAN.cold.node; i++) {
    for (const kind of /** @type {const} */ (['gateway', 'passthrough', 'peer', 'config'])) {
      const child = spawn(process.execPath, [join(ROOT, 'bench/lib/cold-node.mjs'), bundles[kind], setupPath, kind], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      if (code !== 0) throw new Error(`cold start (${kind}) exited with ${code}`);
      const r = JSON.parse(out);
      samples[kind] ??= { loadMs: [], firstMs: [], secondMs: [] };
      for (const key of /** @type {const} */ (['loadMs', 'firstMs', 'secondMs'])) samples[kind][key].push(r[key]);
    }
  }
  const median = (xs) => summarize(xs).median;
  return {
    method: `a fresh Node ${process.version} process per sample, ${PLAN.cold.node} per subject, interleaved; medians. Minified bundles (esbuild), in-memory KV and upstream stubs.`,
    bundleBytes: { gateway: (await readFile(bundles.gateway)).length, passthrough: (await readFile(bundles.passthrough)).length, peer: (await readFile(bundles.peer)).length },
    ...Object.fromEntries(Object.entries(samples).map(([kind, s]) => [kind, { loadMs: median(s.loadMs), firstMs: median(s.firstMs), secondMs: median(s.secondMs) }])),
  };
}

/**
 * The same in workerd: a fresh Miniflare (one workerd process) per sample. workerd compiles and
 * evaluates the worker's module while it starts, so the gateway's start-up CPU minus the pass-through's
 * is loading its module; then the CPU of the first and the second signed-in request (the session in
 * Miniflare's local KV, whose simulator runs in the same workerd process and costs the same CPU in every
 * sample). `gatewayMemory` is the same gateway on an in-memory KV seeded inside the worker on its first
 * use (bench/workers/memory-gateway.ts): its first request is the first the isolate sees, and its CPU is
 * the gateway's own, without the simulator's. The peer's first signed-in request carries its own cookie
 * (`headers.peer`); it has no KV. Every answer must be 200, and the gateway's for the signed-in user.
 * µs of workerd CPU, medians.
 * @param {{ gateway: Record<string, string>, peer: Record<string, string> }} headers  the signed-in browser request for each
 */
async function coldStartWorkerd(bundles, setup, headers, bindings, peerBindings) {
  const kinds = /** @type {const} */ (['gateway', 'gatewayMemory', 'passthrough', 'passthroughKv', 'peer']);
  /** @type {Record<string, { startCpu: number[], firstCpu: number[], secondCpu: number[] }>} */
  const samples = Object.fromEntries(kinds.map((kind) => [kind, { startCpu: [], firstCpu: [], secondCpu: [] }]));
  /** @type {Record<(typeof kinds)[number], { script: string, bindings: Record<string, unknown>, kv: string[] }>} */
  const workers = {
    gateway: { script: bundles.gateway, bindings, kv: ['SESSIONS'] },
    // The sealed session as a JSON var, copied into the worker's Map by its first request.
    gatewayMemory: { script: bundles.memoryGateway, bindings: { ...bindings, BENCH_KV_SEED: setup.kv }, kv: [] },
    passthrough: { script: bundles.passthrough, bindings: { UPSTREAM_URL: bindings.UPSTREAM_URL }, kv: [] },
    // The pass-through reading one KV key first, as the gateway reads the session.
    passthroughKv: { script: bundles.passthrough, bindings: { UPSTREAM_URL: bindings.UPSTREAM_URL }, kv: ['BENCH_KV'] },
    peer: { script: bundles.peer, bindings: peerBindings, kv: [] },
  };
  for (let i = 0; i < PLAN.cold.workerd; i++) {
    for (const kind of kinds) {
      const rt = await startWorker({ name: `cold-${kind}`, port: await freePort(), ...workers[kind] });
      try {
        const started = cpuMicros(rt.pid);
        if (kind === 'gateway') {
          const kv = await rt.mf.getKVNamespace('SESSIONS');
          for (const [key, value] of Object.entries(setup.kv)) await kv.put(key, value);
        }
        const user = kind === 'gateway' || kind === 'gatewayMemory' ? setup.user : null;
        const timed = async () => {
          const before = cpuMicros(rt.pid);
          const res = await fetch(`${rt.origin}/`, { headers: kind === 'peer' ? headers.peer : headers.gateway, redirect: 'manual' });
          await res.arrayBuffer();
          const after = cpuMicros(rt.pid);
          if (res.status !== 200) throw new Error(`cold start (${kind}, workerd): ${res.status}`);
          if (user !== null && res.headers.get('x-bench-user') !== user) throw new Error(`cold start (${kind}, workerd): the upstream saw user "${res.headers.get('x-bench-user')}", not "${user}"`);
          return before === null || after === null ? NaN : after - before;
        };
        const first = await timed();
        const second = await timed();
        if (started === null) continue;
        samples[kind].startCpu.push(started);
        samples[kind].firstCpu.push(first);
        samples[kind].secondCpu.push(second);
      } finally {
        await rt.mf.dispose();
      }
    }
  }
  const median = (xs) => (xs.length ? summarize(xs).median : null);
  return {
    method: `a fresh Miniflare (one workerd process) per sample, ${PLAN.cold.workerd} per subject; workerd CPU (/proc schedstat, all threads), medians.`,
    ...Object.fromEntries(Object.entries(samples).map(([kind, s]) => [kind, { startCpuMicros: median(s.startCpu), firstCpuMicros: median(s.firstCpu), secondCpuMicros: median(s.secondCpu) }])),
  };
}

/**
 * The first sign-in of a fresh isolate in workerd (discovery at /_auth/login; token, JWKS, UserInfo and the
 * session's KV writes at the callback), against the same two requests of a second sign-in in that isolate.
 * A fresh Miniflare per sample on one port the bench's IdP client knows. µs of workerd CPU, medians; the
 * IdP's own work happens in this process and is not counted.
 * @param {number} port
 */
async function firstSignIn(bundles, bindings, port) {
  /** @type {Record<string, number[]>} */
  const samples = { firstLogin: [], firstCallback: [], secondLogin: [], secondCallback: [] };
  for (let i = 0; i < PLAN.cold.workerd; i++) {
    const rt = await startWorker({ name: 'cold-sign-in', script: bundles.gateway, port, bindings, kv: ['SESSIONS'] });
    try {
      for (const which of /** @type {const} */ (['first', 'second'])) {
        let mark = 0;
        await signIn(rt.origin, `cold-${i}-${which}`, {
          beforeLogin: async () => void (mark = cpuMicros(rt.pid) ?? NaN),
          afterLogin: async () => void samples[`${which}Login`].push((cpuMicros(rt.pid) ?? NaN) - mark),
          beforeCallback: async () => void (mark = cpuMicros(rt.pid) ?? NaN),
        });
        samples[`${which}Callback`].push((cpuMicros(rt.pid) ?? NaN) - mark);
      }
    } finally {
      await rt.mf.dispose();
    }
  }
  const median = (xs) => (xs.length && xs.every(Number.isFinite) ? summarize(xs).median : null);
  return {
    method: `a fresh Miniflare (one workerd process) per sample, ${PLAN.cold.workerd} samples; two real sign-ins at the local IdP each; workerd CPU around the gateway's two requests, medians.`,
    ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [`${k}CpuMicros`, median(v)])),
  };
}

// ---- 2. end to end -----------------------------------------------------------------------------------

/**
 * @param {{ name: string, runtime: import('./lib/runtime.mjs').Runtime, url: string, headers: Record<string, string>, user: string }[]} variants
 */
async function endToEnd(variants, idpCalls, upstream) {
  const { connections, warmupMs, roundMs, rounds } = PLAN.e2e;
  const check = (user) => (res) => res.statusCode === 200 && res.headers['x-bench-user'] === user;
  for (const v of variants) await closedLoop({ url: v.url, headers: v.headers, connections, durationMs: warmupMs, maxRequests: 100_000 });
  idpCalls.reset();
  await upstream.reset();
  /** @type {Record<string, any[]>} */
  const runs = Object.fromEntries(variants.map((v) => [v.name, []]));
  let requests = 0;
  for (let round = 0; round < rounds; round++) {
    // Rotated order: no variant always runs right after the same other one.
    const order = variants.map((_, i) => variants[(i + round) % variants.length]);
    for (const v of order) {
      const cpu0 = cpuMicros(v.runtime.pid);
      const r = await closedLoop({ url: v.url, headers: v.headers, connections, durationMs: roundMs, maxRequests: 200_000, check: check(v.user) });
      const cpu1 = cpuMicros(v.runtime.pid);
      requests += r.requests;
      runs[v.name].push({ ...r, workerdCpuMicros: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null });
    }
  }
  const idp = idpCalls.take().length;
  const up = await upstream.stats();
  const base = runs['pass-through'];
  const merged = variants.map((v) => {
    const rs = runs[v.name];
    const total = rs.reduce((s, r) => s + r.requests, 0);
    const seconds = rs.reduce((s, r) => s + r.seconds, 0);
    const cpuPerRequest = (r) => (r.workerdCpuMicros === null ? null : r.workerdCpuMicros / r.requests);
    /** @type {Record<string, number>} */
    const statuses = {};
    for (const r of rs) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
    const mid = (values) => summarize(values).median;
    // Each round's ratio is to the pass-through's run in the same round, so load that comes and goes
    // on the machine (other processes) cancels out; the median over rounds is reported.
    const ratios = rs.map((r, i) => r.rps / base[i].rps);
    const cpuGaps = rs.map((r, i) => (cpuPerRequest(r) === null || cpuPerRequest(base[i]) === null ? NaN : cpuPerRequest(r) - cpuPerRequest(base[i])));
    return {
      name: v.name,
      requests: total,
      rps: total / seconds,
      rpsPerRound: rs.map((r) => r.rps),
      ratio: mid(ratios),
      ratioRange: [Math.min(...ratios), Math.max(...ratios)],
      latencyMs: { median: mid(rs.map((r) => r.latencyMs.median)), p99: mid(rs.map((r) => r.latencyMs.p99)) },
      workerdCpuMicrosPerRequest: rs.every((r) => cpuPerRequest(r) !== null) ? mid(rs.map(cpuPerRequest)) : null,
      cpuOverheadMicros: cpuGaps.some(Number.isNaN) ? null : mid(cpuGaps),
      statuses,
      errors: rs.reduce((s, r) => s + r.errors, 0),
      failedChecks: rs.reduce((s, r) => s + r.failedChecks, 0),
    };
  });
  return {
    method: `closed loop on node:http, ${connections} keep-alive connections; per variant ${rounds} rounds × ${roundMs / 1000} s after a ${warmupMs / 1000} s warm-up, variants interleaved round by round in rotating order. ratio = median over rounds of (req/s ÷ the pass-through's req/s in the same round); latency = median over rounds of each round's p50/p99; workerd CPU = on-CPU time of that variant's workerd process (/proc schedstat) over the round, per request, median over rounds.`,
    variants: merged,
    idpCalls: idp,
    upstreamRequests: up.requests,
    totalRequests: requests,
  };
}

// ---- 4. concurrent load -------------------------------------------------------------------------------

/** @param {import('./lib/runtime.mjs').Runtime} ct */
async function concurrentLoad(ct, idpCalls) {
  const { signIns, requestsPerSession } = PLAN.load;
  const control = async (path) => (await fetch(`${ct.origin}/__bench/${path}`)).json();
  const users = Array.from({ length: signIns }, (_, i) => `load-${String(i + 1).padStart(2, '0')}`);

  await control('reset');
  idpCalls.reset();
  const t0 = performance.now();
  const settled = await Promise.allSettled(users.map((user) => signIn(ct.origin, user)));
  const signInSeconds = (performance.now() - t0) / 1000;
  const idpDuringSignIn = idpCalls.take().length;
  const signInKv = (await control('counts')).kv;
  /** @type {{ cookie: string, user: string }[]} */
  const sessions = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const errors = settled.flatMap((s) => (s.status === 'rejected' ? [String(s.reason?.message ?? s.reason).slice(0, 200)] : []));

  // Every session at once, each sending its requests one after another: the gateway sees
  // `sessions.length` users interleaved, and every answer must carry that user's identity.
  await control('reset');
  const agent = new http.Agent({ keepAlive: true, maxSockets: sessions.length || 1 });
  const tally = { ok: 0, errors: 0, lostSessions: 0, wrongUser: 0, other: 0 };
  /** @type {number[]} */
  const latencies = [];
  const requestDeadline = performance.now() + 60_000;
  const one = (s) =>
    new Promise((resolve) => {
      const start = performance.now();
      const req = http.request(`${ct.origin}/`, { agent, headers: { ...Object.fromEntries(browser.headers), cookie: `${s.cookie}; ${browser.siteCookie}` } }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - start);
          if (res.statusCode === 200 && res.headers['x-bench-user'] === s.user) tally.ok++;
          else if (res.statusCode === 200) tally.wrongUser++;
          else if (res.statusCode === 302 || res.statusCode === 401) tally.lostSessions++;
          else tally.other++;
          resolve(undefined);
        });
      });
      req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        tally.errors++;
        resolve(undefined);
      });
      req.end();
    });
  const t1 = performance.now();
  await Promise.all(
    sessions.map(async (s) => {
      for (let i = 0; i < requestsPerSession && performance.now() < requestDeadline; i++) await one(s);
    }),
  );
  const requestSeconds = (performance.now() - t1) / 1000;
  agent.destroy();
  const requestKv = (await control('counts')).kv;
  const idpDuringRequests = idpCalls.take().length;

  // Afterwards: each session still exists in KV and still opens.
  const kv = await ct.mf.getKVNamespace('SESSIONS');
  let lost = 0;
  for (const s of sessions) {
    const id = s.cookie.split('=')[1].split('.')[0];
    const present = (await kv.get(`session:${id}`, 'text')) !== null;
    const res = await fetch(`${ct.origin}/_auth/userinfo`, { headers: { cookie: s.cookie, accept: 'application/json' } });
    const body = res.ok ? await res.json() : null;
    if (!present || body?.sub !== s.user) lost++;
  }
  const total = latencies.length;
  return {
    signIns: {
      attempted: users.length,
      succeeded: sessions.length,
      failed: errors.length,
      errors,
      seconds: signInSeconds,
      perSecond: sessions.length / signInSeconds,
      idpCallsPerSignIn: idpDuringSignIn / users.length,
      kv: signInKv,
    },
    requests: {
      sent: total + tally.errors,
      ok: tally.ok,
      errors: tally.errors,
      lostSessions: tally.lostSessions,
      wrongUser: tally.wrongUser,
      otherStatus: tally.other,
      seconds: requestSeconds,
      rps: total / requestSeconds,
      latencyMs: summarize(latencies),
      kvReadsPerRequest: ((requestKv.get ?? 0) + (requestKv.getWithMetadata ?? 0)) / (total || 1),
      kvWritesPerRequest: ((requestKv.put ?? 0) + (requestKv.delete ?? 0)) / (total || 1),
      idpCalls: idpDuringRequests,
    },
    finalCheck: { sessions: sessions.length, lost },
  };
}

// ---- 5. bundle --------------------------------------------------------------------------------------

async function bundleSize(work) {
  const dry = async (extra, outdir) => {
    const args = ['deploy', '--dry-run', '--outdir', outdir, ...extra];
    const { code, output } = await run(join(ROOT, 'node_modules/.bin/wrangler'), args);
    if (code !== 0) throw new Error(`wrangler ${args.join(' ')} failed:\n${output.slice(-2000)}`);
    const match = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(output);
    const file = join(outdir, 'index.js');
    const raw = await readFile(file);
    return {
      rawBytes: raw.length,
      gzipBytes: gzipSync(raw, { level: 9 }).length,
      wrangler: match ? { totalKiB: Number(match[1]), gzipKiB: Number(match[2]) } : null,
    };
  };
  const asConfigured = await dry([], join(work, 'deploy'));
  const minified = await dry(['--minify'], join(work, 'deploy-min'));
  const composition = await bundleComposition(ROOT);
  // What-if, not a recommendation by itself: src/ alone with every library left out (the floor no
  // choice of libraries can go below).
  const whatIfs = [
    { change: 'src/ alone (jose, oauth4webapi, valibot left out)', alias: {}, external: ['jose', 'oauth4webapi', 'valibot'] },
  ];
  const whatIf = [];
  for (const w of whatIfs) {
    const c = await bundleComposition(ROOT, w.alias, w.external).catch(() => null);
    if (c) whatIf.push({ change: w.change, minifiedBytes: c.minifiedBytes, gzipBytes: c.gzipBytes, baselineGzipBytes: composition.gzipBytes });
  }
  return { asConfigured, minified, esbuild: { minifiedBytes: composition.minifiedBytes, gzipBytes: composition.gzipBytes }, composition: composition.parts, whatIf };
}

/** @param {string} cmd @param {string[]} args */
function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' },
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function workerdVersion() {
  try {
    return JSON.parse(await readFile(join(ROOT, 'node_modules/workerd/package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

async function gitDescribe() {
  const { code, output } = await run('git', ['describe', '--always', '--dirty']);
  return code === 0 ? output.trim() : 'unknown';
}
