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
