// What the stand-alone cost scripts (bench/coordinator-cost.mjs, bench/refresh-cost.mjs) share: cleanups
// that run whatever happens, a scratch folder, and the stub upstream in its own process.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const UPSTREAM = fileURLToPath(new URL('./upstream.mjs', import.meta.url));

/**
 * Runs `main(cleanups)`, then every cleanup it pushed, newest first, also when it throws.
 * @param {(cleanups: (() => Promise<unknown>)[]) => Promise<void>} main
 */
export async function withCleanups(main) {
  /** @type {(() => Promise<unknown>)[]} */
  const cleanups = [];
  try {
    await main(cleanups);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/**
 * A scratch folder, removed by the cleanups.
 * @param {string} prefix
 * @param {(() => Promise<unknown>)[]} cleanups
 */
export async function scratchDir(prefix, cleanups) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The stub upstream (./upstream.mjs) in its own process, stopped by the cleanups; resolves its port.
 * @param {(() => Promise<unknown>)[]} cleanups
 * @returns {Promise<number>}
 */
export async function startStubUpstream(cleanups) {
  const upstream = fork(UPSTREAM, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  cleanups.push(async () => void upstream.kill('SIGTERM'));
  return new Promise((resolve) => upstream.once('message', (m) => resolve(/** @type {{ port: number }} */ (m).port)));
}
