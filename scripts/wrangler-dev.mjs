// Starts `wrangler dev` for a local stack (the demo, the browser test) in a way that can be stopped
// cleanly: its own process group, no terminal input, Node 22 from the `node` package on PATH.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, 'node_modules', '.bin');

/**
 * @param {{ host: string, port: number, vars: Record<string, string>, args?: string[], stdio: 'inherit' | 'pipe' }} options
 * @returns {import('node:child_process').ChildProcess}
 */
export function spawnWranglerDev({ host, port, vars, args = [], stdio }) {
  // Own process group (detached), so that one signal to the group reaches wrangler's own node child
  // and workerd too. stdin is not inherited: a background process group reading the terminal would
  // be stopped (SIGTTIN), hence also no interactive hotkeys.
  return spawn(
    join(binDir, 'wrangler'),
    [
      'dev',
      '--ip', host,
      '--port', String(port),
      ...args,
      '--show-interactive-dev-session=false',
      ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
    ],
    {
      cwd: root,
      detached: true,
      stdio: ['ignore', stdio, stdio],
      env: {
        ...process.env,
        // wrangler's `#!/usr/bin/env node` must find the Node 22 from the `node` package even
        // when the caller was started without npm.
        PATH: `${binDir}:${process.env.PATH ?? ''}`,
        WRANGLER_SEND_METRICS: 'false',
        // Stops a (harmless, but noisy) failing download of cf.json while offline.
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      },
    },
  );
}

/** Children whose process group is known dead: a recycled group id must never be signalled. */
const reaped = new WeakSet();

/**
 * Signals wrangler's whole process group (wrangler's node child and workerd included), if it may
 * still exist. Synchronous, so it can run in a process `exit` handler.
 * @param {import('node:child_process').ChildProcess | undefined} child
 * @param {NodeJS.Signals} signal
 */
export function killWranglerGroup(child, signal) {
  if (child?.pid === undefined || reaped.has(child)) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Stops wrangler politely (SIGTERM), then outright after `graceMs`; workerd may outlive wrangler's
 * node process by a moment, so the group gets a final SIGKILL either way.
 * @param {import('node:child_process').ChildProcess | undefined} child
 * @param {number} graceMs
 */
export async function stopWranglerDev(child, graceMs) {
  if (!child) return;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    killWranglerGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killWranglerGroup(child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  killWranglerGroup(child, 'SIGKILL');
  reaped.add(child);
}
