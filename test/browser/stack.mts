// The whole demo stack for the browser test, on free ports of its own (never npm run dev's 8787,
// 9400, 9401, so a running demo does not collide): the local IdP (scripts/idp.mjs), the demo legacy
// site (scripts/demo-site.mjs), and the gateway under `wrangler dev` (the same runtime and config
// path as `npm run dev`), with its KV state in a temporary directory (never .wrangler/state).
//
// The gateway is served as http://localhost:<port> while the IdP and the site are on 127.0.0.1: the
// browser then treats the IdP as another site, as in production, so SameSite cookie rules apply to the
// sign-in round trip for real.
//
// stop() ends everything, and is safe to call more than once, after a partial start, and from an
// `exit` handler (it signals wrangler's whole process group synchronously first, so workerd never
// outlives the test even when the test process is on its way out).

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { startDemoSite } from '../../scripts/demo-site.mjs';
import { gatewayClient, startIdp } from '../../scripts/idp.mjs';
import { killWranglerGroup, spawnWranglerDev, stopWranglerDev } from '../../scripts/wrangler-dev.mjs';

// Test-only values, public in this repository.
const CLIENT_ID = 'edgegate-browser-test';
const CLIENT_SECRET = 'edgegate-browser-test-client-secret-not-a-secret';
// 32 bytes, base64url: "edgegate-browser-test-only-key!!".
const SESSION_SECRET = 'ZWRnZWdhdGUtYnJvd3Nlci10ZXN0LW9ubHkta2V5ISE';

const HOST = '127.0.0.1';
const GATEWAY_HOST = 'localhost';
/** How long wrangler dev gets to build and start workerd. */
const READY_TIMEOUT_MS = 60_000;
/** How long wrangler gets to stop (and stop workerd) before the group is killed outright. */
const STOP_GRACE_MS = 5_000;

export interface Stack {
  /** http://localhost:<port>, the gateway, what the browser opens. */
  gatewayUrl: string;
  /** http://127.0.0.1:<port>, the local IdP. */
  idpUrl: string;
  /** http://127.0.0.1:<port>, the demo site (reached only through the gateway in the test). */
  siteUrl: string;
  /** Stops wrangler (and workerd), the IdP and the site, removes the KV directory; idempotent. */
  stop(): Promise<void>;
}

export interface StackOptions {
  /** wrangler's output goes here (it is large; shown in part when the start fails). */
  logFile: string;
  /** More gateway settings (e.g. ROUTES as JSON, BRAND_*), on top of the demo's. */
  vars?: Record<string, string>;
}

type Closable = { close(): Promise<void> };

export async function startStack({ logFile, vars: extraVars = {} }: StackOptions): Promise<Stack> {
  const closables: Closable[] = [];
  let wrangler: ChildProcess | undefined;
  // wrangler's KV state lives here, away from the project's .wrangler/state.
  const workDir = mkdtempSync(join(tmpdir(), 'edgegate-browser-'));
  const removeWorkDir = () => {
    try {
      // Retries cover workerd's last writes right after it was killed.
      rmSync(workDir, { recursive: true, force: true, maxRetries: 5 });
    } catch (error) {
      console.error(`[browser test] could not remove ${workDir}:`, error);
    }
  };
  let stopped: Promise<void> | undefined;

  // Last resort when the test process ends without running afterAll (an uncaught error, Ctrl-C,
  // vitest terminating its worker): never leave wrangler and workerd behind. A signal is passed on
  // with its default effect (ending this process) unless someone else also listens for it.
  const onExit = () => {
    killWranglerGroup(wrangler, 'SIGKILL');
    removeWorkDir();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    killWranglerGroup(wrangler, 'SIGKILL');
    removeHooks();
    removeWorkDir();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const removeHooks = () => {
    process.removeListener('exit', onExit);
    for (const signal of signals) process.removeListener(signal, onSignal);
  };
  process.once('exit', onExit);
  for (const signal of signals) process.once(signal, onSignal);

  const stop = () =>
    (stopped ??= (async () => {
      await stopWranglerDev(wrangler, STOP_GRACE_MS);
      removeHooks();
      await Promise.allSettled(closables.reverse().map((c) => c.close()));
      removeWorkDir();
    })());

  try {
    // The IdP must know the gateway's redirect URIs before it starts, so the gateway's port is
    // chosen first (free now; wrangler binds it a moment later).
    const gatewayPort = await freePort();
    const gatewayUrl = `http://${GATEWAY_HOST}:${gatewayPort}`;

    const idp = await startIdp({
      port: 0,
      host: HOST,
      clients: [gatewayClient(CLIENT_ID, CLIENT_SECRET, [gatewayUrl])],
    });
    closables.push(idp);
    const site = await startDemoSite({ port: 0, host: HOST });
    closables.push(site);

    const vars: Record<string, string> = {
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      SESSION_SECRET,
      UPSTREAM_URL: site.url,
      DEV_ALLOW_HTTP: 'true',
      ...extraVars,
    };
    mkdirSync(dirname(logFile), { recursive: true });
    writeFileSync(logFile, '');

    const output: string[] = [];
    wrangler = spawnWranglerDev({ host: HOST, port: gatewayPort, vars, args: ['--persist-to', join(workDir, 'kv')], stdio: 'pipe' });
    for (const stream of [wrangler.stdout, wrangler.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        output.push(chunk);
        writeFileSync(logFile, chunk, { flag: 'a' });
      });
    }
    const spawnError = new Promise<never>((_, reject) => wrangler?.once('error', reject));
    spawnError.catch(() => {});

    await Promise.race([spawnError, waitForGateway(wrangler, gatewayUrl, idp.issuer, output)]);
    return { gatewayUrl, idpUrl: idp.issuer, siteUrl: site.url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Ready = the gateway on `gatewayUrl` answers `/_auth/login` with a redirect to this test's IdP: the
 * right process on that port, configured, and able to read the IdP's discovery document.
 */
export async function waitForGateway(child: ChildProcess, gatewayUrl: string, issuer: string, output: string[]) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`wrangler dev exited (${child.signalCode ?? `code ${child.exitCode}`}) before the gateway was ready:\n${tail(output)}`);
    }
    try {
      const response = await fetch(`${gatewayUrl}/_auth/login`, {
        redirect: 'manual',
        headers: { accept: 'text/html' },
        signal: AbortSignal.timeout(2_000),
      });
      await response.body?.cancel();
      const location = response.headers.get('location') ?? '';
      if (location.startsWith(`${issuer}/`)) return;
      last = `HTTP ${response.status}${location ? ` → ${location}` : ''}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`gateway on ${gatewayUrl} not ready after ${READY_TIMEOUT_MS / 1000} s (last: ${last}):\n${tail(output)}`);
}

function tail(output: string[]): string {
  return output.join('').split('\n').slice(-30).join('\n');
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
