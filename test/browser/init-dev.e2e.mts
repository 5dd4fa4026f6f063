// `npm run init` for the oidc-provider kind, end to end in Node: init writes wrangler.toml and
// .dev.vars into a temporary directory for a local IdP (scripts/idp.mjs) and the demo site;
// `npm run check -- --online` accepts it and asks the IdP; `wrangler dev` starts with exactly those
// files (no --var), and a user signs in through it and reaches the site with an identity. No browser
// needed: the local IdP's form is walked by scripts/idp-login.mjs.

import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { startDemoSite } from '../../scripts/demo-site.mjs';
import { gatewayClient, startIdp } from '../../scripts/idp.mjs';
import { createCookieJar, signInAtIdp } from '../../scripts/idp-login.mjs';
import { killWranglerGroup, spawnWranglerDev, stopWranglerDev } from '../../scripts/wrangler-dev.mjs';
import { freePort, waitForGateway } from './stack.mts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HOST = '127.0.0.1';
// Test-only values, public in this repository.
const CLIENT_ID = 'edgegate-init-test';
const CLIENT_SECRET = 'edgegate-init-test-client-secret-not-a-secret';

type Closable = { close(): Promise<void> };
const closables: Closable[] = [];
let wrangler: ChildProcess | undefined;
let dir = '';
let gatewayUrl = '';
let issuer = '';
const output: string[] = [];
const onExit = () => killWranglerGroup(wrangler, 'SIGKILL');

/** Runs a script of the repository (asynchronously: the IdP it talks to answers from this process). */
function run(script: string, args: string[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'scripts', script), ...args], { cwd: root, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ status: error ? Number((error as { code?: unknown }).code ?? 1) : 0, text: `${stdout}${stderr}` });
    });
  });
}

beforeAll(async () => {
  process.once('exit', onExit);
  const port = await freePort();
  gatewayUrl = `http://localhost:${port}`;
  const idp = await startIdp({
    port: 0,
    host: HOST,
    clients: [gatewayClient(CLIENT_ID, CLIENT_SECRET, [gatewayUrl])],
  });
  closables.push(idp);
  issuer = idp.issuer;
  const site = await startDemoSite({ port: 0, host: HOST });
  closables.push(site);
  // Inside the repository (wrangler resolves `main` from the file), away from the project's own files.
  mkdirSync(join(root, '.wrangler'), { recursive: true });
  dir = mkdtempSync(join(root, '.wrangler', 'init-test-'));
  const init = await run('init.mjs', ['--kind', 'oidc-provider', '--issuer', idp.issuer, '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--host', `localhost:${port}`, '--origin', site.url, '--dir', dir, '--yes']);
  expect(init.status, init.text).toBe(0);
  expect(init.text).toContain(`redirect URI              ${gatewayUrl}/_auth/callback`);
  wrangler = spawnWranglerDev({ host: HOST, port, vars: {}, args: ['--config', join(dir, 'wrangler.toml'), '--persist-to', join(dir, 'state')], stdio: 'pipe' });
  for (const stream of [wrangler.stdout, wrangler.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => output.push(chunk));
  }
}, 90_000);

afterAll(async () => {
  await stopWranglerDev(wrangler, 5_000);
  process.removeListener('exit', onExit);
  await Promise.allSettled(closables.reverse().map((c) => c.close()));
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});

describe('npm run init (oidc-provider) → npm run check → wrangler dev → sign-in', () => {
  test('init wrote a configuration file and .dev.vars with a fresh SESSION_SECRET and the client secret', async () => {
    const toml = readFileSync(join(dir, 'wrangler.toml'), 'utf8');
    expect(toml).toContain(`OIDC_ISSUER = "${issuer}"`);
    expect(toml).toContain('DEV_ALLOW_HTTP = "true"');
    expect(toml).not.toContain(CLIENT_SECRET);
    const devVars = readFileSync(join(dir, '.dev.vars'), 'utf8');
    expect(devVars).toMatch(/^SESSION_SECRET="[A-Za-z0-9_-]{43}"$/m);
    expect(devVars).toContain(`OIDC_CLIENT_SECRET="${CLIENT_SECRET}"`);
    // Never overwritten without --force.
    const again = await run('init.mjs', ['--kind', 'oidc-provider', '--issuer', issuer, '--client-id', CLIENT_ID, '--host', 'localhost:1', '--dir', dir, '--yes']);
    expect(again.status).toBe(2);
    expect(again.text).toContain('exists; pass --force');
  });

  test('npm run check -- --online accepts it and reports what the IdP supports', async () => {
    const check = await run('check.mjs', ['--config', join(dir, 'wrangler.toml'), '--online']);
    expect(check.status, check.text).toBe(0);
    expect(check.text).toContain('wrangler.toml + .dev.vars: valid');
    expect(check.text).toContain('✓ discovery: issuer matches exactly');
    expect(check.text).toContain('back-channel logout supported');
  });

  test('wrangler dev starts with the written files and alice signs in through it', async () => {
    await waitForGateway(wrangler!, gatewayUrl, issuer, output);
    const jar = createCookieJar();
    const go = async (url: string) => {
      const response = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', cookie: jar.header(new URL(url)) } });
      jar.store(new URL(url), response);
      return response;
    };
    // Node's fetch cannot send a navigation's Sec-Fetch-Mode, so the sign-in starts where a link would.
    const start = await go(`${gatewayUrl}/_auth/login?rd=/`);
    expect(start.status).toBe(302);
    const authorize = start.headers.get('location')!;
    expect(authorize.startsWith(`${issuer}/`)).toBe(true);
    const callback = await signInAtIdp(authorize, 'alice');
    const back = await go(callback);
    expect([302, 303], await back.clone().text()).toContain(back.status);
    expect(new URL(back.headers.get('location')!, gatewayUrl).pathname).toBe('/');
    const page = await go(`${gatewayUrl}/`);
    const body = await page.text();
    expect(page.status, body.slice(0, 300)).toBe(200);
    expect(body).toContain('alice@example.com');
  });
});

