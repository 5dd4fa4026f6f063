// Plain Miniflare (workerd) instances for the bundled bench workers, one workerd process each, so a
// load run against one never shares an isolate or an event loop with another.

import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';

import { workerdPids } from './procstat.mjs';

// Matches wrangler.toml; must not be newer than the workerd in node_modules.
const COMPATIBILITY_DATE = '2026-07-01';

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * @typedef {object} Runtime
 * @property {string} name
 * @property {Miniflare} mf
 * @property {string} origin  http://127.0.0.1:<port>
 * @property {number | null} pid  the workerd process (for CPU accounting), when it could be told apart
 * @property {{ level: string, message: string }[]} logs  what the worker logged
 */

/**
 * Starts one worker. Instances must be started one after another (not in parallel) so the new
 * workerd process can be told apart from the ones already running.
 * @param {{ name: string, script: string, port: number, bindings?: Record<string, unknown>, kv?: string[], inspectorPort?: number, coordinator?: boolean }} options
 *   `coordinator`: the COORDINATOR binding to the script's SessionCoordinator class (SQLite-backed, as wrangler.toml)
 * @returns {Promise<Runtime>}
 */
export async function startWorker({ name, script, port, bindings = {}, kv = [], inspectorPort, coordinator = false }) {
  const before = new Set(workerdPids());
  /** @type {Runtime['logs']} */
  const logs = [];
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      name,
      host: '127.0.0.1',
      port,
      modules: true,
      scriptPath: script,
      // Module names are paths relative to this root; a `..` in them makes workerd fail to start.
      modulesRoot: dirname(script),
      compatibilityDate: COMPATIBILITY_DATE,
      bindings,
      kvNamespaces: kv,
      handleStructuredLogs: (log) => logs.push({ level: log.level, message: log.message }),
      ...(inspectorPort ? { inspectorPort } : {}),
      ...(coordinator ? { durableObjects: { COORDINATOR: { className: 'SessionCoordinator', useSQLite: true } } } : {}),
    }),
  );
  const url = await mf.ready;
  const fresh = workerdPids().filter((pid) => !before.has(pid));
  return { name, mf, origin: url.origin, pid: fresh.length === 1 ? fresh[0] : null, logs };
}
