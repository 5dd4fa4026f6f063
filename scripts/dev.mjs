// `npm run dev`: the whole demo on this machine, offline — a local IdP, a legacy site with no
// auth code, and the gateway (wrangler dev) in front of it.
//
// Every secret below is a DEMO-ONLY value, public in this repository. Never reuse one.


import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemoSite } from './demo-site.mjs';
import { gatewayClient, startIdp } from './idp.mjs';
import { killWranglerGroup, spawnWranglerDev, stopWranglerDev } from './wrangler-dev.mjs';

const HOST = '127.0.0.1';
const IDP_PORT = port('IDP_PORT', 9400);
const DEMO_PORT = port('DEMO_PORT', 9401);
const GATEWAY_PORT = port('PORT', 8787);

const CLIENT_ID = 'edgegate-demo';
const CLIENT_SECRET = 'edgegate-demo-client-secret-not-for-production'; // DEMO ONLY
// 32 bytes, base64url: they spell "edgegate-demo-only-not-a-secret!". DEMO ONLY.
const SESSION_SECRET = 'ZWRnZWdhdGUtZGVtby1vbmx5LW5vdC1hLXNlY3JldCE';

// How long wrangler gets to stop (and stop workerd) before it is killed outright.
const STOP_GRACE_MS = 5000;

const gatewayOrigins = [`http://${HOST}:${GATEWAY_PORT}`, `http://localhost:${GATEWAY_PORT}`];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** wrangler's process group of the last `npm run dev`, so that a hard-killed run leaves no orphan behind. */
const PID_FILE = join(ROOT, '.wrangler', 'edgegate-dev.pid');
stopOrphan();

const idp = await startIdp({
  port: IDP_PORT,
  host: HOST,
  clients: [
    gatewayClient(CLIENT_ID, CLIENT_SECRET, gatewayOrigins, { backchannel_logout_uri: `${gatewayOrigins[0]}/_auth/backchannel-logout` }),
  ],
}).catch((error) => fail(`local IdP could not start on ${HOST}:${IDP_PORT}`, error));

const site = await startDemoSite({ port: DEMO_PORT, host: HOST }).catch(async (error) => {
  await idp.close();
  return fail(`demo site could not start on ${HOST}:${DEMO_PORT}`, error);
});

/** What the demo needs; a value set in `.dev.vars` wins (wrangler's `--var` would silently override it). */
/** @type {Record<string, string>} */
const demoVars = {
  OIDC_ISSUER: idp.issuer,
  OIDC_CLIENT_ID: CLIENT_ID,
  OIDC_CLIENT_SECRET: CLIENT_SECRET,
  SESSION_SECRET,
  UPSTREAM_URL: site.url,
  DEV_ALLOW_HTTP: 'true',
};
const own = devVarsKeys();
/** @type {Record<string, string>} */
const vars = Object.fromEntries(Object.entries(demoVars).filter(([name]) => !own.has(name)));

console.log(`local IdP   ${idp.issuer}  (client ${CLIENT_ID})`);
console.log(`demo site   ${site.url}`);
console.log(`dev sets    ${Object.keys(vars).join(', ') || 'nothing'} (demo values)`);
if (own.size > 0) console.log(`.dev.vars   ${[...own].join(', ')} (yours, respected)`);
console.log(`gateway     starting wrangler dev on http://${HOST}:${GATEWAY_PORT}/ …`);

const wrangler = spawnWranglerDev({ host: HOST, port: GATEWAY_PORT, vars, stdio: 'inherit' });
rememberGroup(wrangler.pid);

let stopping = false;

wrangler.on('error', (error) => shutdown(1, `could not run wrangler: ${error.message}`));
wrangler.on('exit', (code, signal) => {
  if (!stopping) shutdown(code ?? 1, `wrangler exited (${signal ?? `code ${code}`})`);
});
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(signal, () => shutdown(0));
}
// Last resort if this process dies some other way: never leave workerd behind.
process.on('exit', () => killWranglerGroup(wrangler, 'SIGKILL'));

announceWhenReady();

/**
 * The banner goes out once the gateway answers, so it is the last thing on screen.
 */
async function announceWhenReady() {
  const url = `http://${HOST}:${GATEWAY_PORT}/`;
  while (!stopping && wrangler.exitCode === null) {
    try {
      await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(1000) });
      console.log(`\n  Open ${url} — sign in as alice / bob / carol (any password)\n  Ctrl-C stops everything.\n`);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

/**
 * Stops wrangler (and its workerd), then the IdP and the site, and exits with `code`.
 * @param {number} code
 * @param {string} [reason]
 */
async function shutdown(code, reason) {
  if (stopping) return;
  stopping = true;
  if (reason) console.error(`dev: ${reason}; stopping.`);
  await stopWranglerDev(wrangler, STOP_GRACE_MS);
  rmSync(PID_FILE, { force: true });
  await Promise.allSettled([idp.close(), site.close()]);
  process.exit(code);
}

/** Names set in `.dev.vars` (KEY=VALUE lines, as wrangler reads them). */
function devVarsKeys() {
  const file = join(ROOT, '.dev.vars');
  if (!existsSync(file)) return new Set();
  const names = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((line) => /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1])
    .filter((name) => name !== undefined);
  return new Set(names);
}

/** @param {number | undefined} pid */
function rememberGroup(pid) {
  if (pid === undefined) return;
  mkdirSync(dirname(PID_FILE), { recursive: true });
  writeFileSync(PID_FILE, String(pid));
}

/**
 * A previous `npm run dev` killed outright (SIGKILL, a closed terminal) cannot stop its wrangler: its
 * process group is ended here, if it still runs wrangler, before the port is taken again.
 */
function stopOrphan() {
  if (!existsSync(PID_FILE)) return;
  const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
  rmSync(PID_FILE, { force: true });
  if (!Number.isInteger(pid) || pid <= 1) return;
  let command = '';
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // gone (or no /proc: nothing to check it against, so nothing is signalled)
  }
  if (!command.includes('wrangler')) return;
  try {
    process.kill(-pid, 'SIGKILL');
    console.log(`dev: stopped wrangler left running by an earlier npm run dev (process group ${pid})`);
  } catch {
    // Already gone.
  }
}

/**
 * @param {string} name
 * @param {number} fallback
 */
function port(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) fail(`${name}=${raw} is not a TCP port`);
  return value;
}

/**
 * @param {string} message
 * @param {unknown} [error]
 * @returns {never}
 */
function fail(message, error) {
  console.error(`dev: ${message}${error instanceof Error ? `: ${error.message}` : ''}`);
  process.exit(1);
}
