// In-process CPU benchmark in Node 22 (a child process of the bench, so that replacing the global
// fetch with the stub upstream touches nothing else). Same subjects and stubs as in workerd
// (workers/subjects.ts, bundled by lib/build.mjs), but Node's clock has sub-microsecond resolution,
// so every call is timed on its own: real per-call medians and p99s, where workerd only gives the
// mean of a batch. Node's Request/Headers/URL are JavaScript (undici), not workerd's C++, so the
// absolute numbers differ; the ranking and the overhead over the pass-through are what carry over.
//
// argv: <bundled subjects.mjs> <setup.json> <rounds> <perRound>; prints JSON on stdout.

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import { summarize } from './stats.mjs';

const [modulePath, setupPath, roundsArg, perRoundArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 20);
const perRound = Number(perRoundArg ?? 500);

const { createBench } = await import(pathToFileURL(modulePath).href);
const setup = JSON.parse(readFileSync(setupPath, 'utf8'));
const bench = await createBench(setup);

/** @param {Record<string, () => Promise<unknown>>} pool */
async function measure(pool) {
  const names = Object.keys(pool);
  for (const name of names) for (let i = 0; i < 2000; i++) await pool[name]();
  /** @type {Record<string, number[]>} */
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const fn = pool[name];
      const out = samples[name];
      for (let i = 0; i < perRound; i++) {
        const start = performance.now();
        await fn();
        out.push((performance.now() - start) * 1000);
      }
    }
    await bench.settle();
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, summarize(values)]));
}

const subjects = await measure(bench.subjects);
const components = await measure(bench.components);
const kv = { reads: bench.kv.reads, writes: bench.kv.writes };

/** Heap in use after a full collection (run with --expose-gc; null without it). */
async function heapAfterGc() {
  if (typeof globalThis.gc !== 'function') return null;
  await new Promise((resolve) => setTimeout(resolve, 10));
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}
// What the isolate keeps per bad credential: the heap before and after 10 000 requests that each
// carry a session cookie of their own that opens nothing.
const BAD_COOKIES = Number(process.env.BENCH_BAD_COOKIES ?? 10_000);
// Each refusal is logged (a warning: console.warn; stdout carries this script's JSON): both silenced
// meanwhile, so 10 000 refusals do not flood the bench's output.
const log = console.log;
const warn = console.warn;
console.log = () => {};
console.warn = () => {};
let heapBefore = null;
let heapAfter = null;
try {
  // The peer's run (setup.group "peer") has no gateway to send bad cookies to: no memory phase.
  if (setup.group !== 'peer') {
    // A few first, so the code they run is compiled and the timed phases' garbage collected before "before".
    await bench.badCookies(200);
    heapBefore = await heapAfterGc();
    await bench.badCookies(BAD_COOKIES);
    heapAfter = await heapAfterGc();
  }
} finally {
  console.log = log;
  console.warn = warn;
}
const memory = { badCookies: BAD_COOKIES, heapBeforeBytes: heapBefore, heapAfterBytes: heapAfter };
process.stdout.write(JSON.stringify({ subjects, components, facts: bench.facts, kv, memory }));
