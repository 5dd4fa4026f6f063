/**
 * In-process CPU benchmark inside workerd. POST /setup with a Setup (see subjects.ts), then
 * POST /run { names, rounds, targetMs } → per-sample microseconds per call.
 *
 * Timing in workerd: performance.now() has 1 ms resolution here (and on Cloudflare it advances only
 * across I/O). So each sample runs a subject n times back to back, with n chosen so a sample lasts
 * about `targetMs`, bracketed by a timer tick (real I/O, so the clock is current); the tick's own cost
 * is measured with an empty subject and subtracted. Subjects are interleaved round by round, so drift
 * (GC, JIT, the other core's load) hits all of them alike.
 */
import { createBench, type Bench, type Setup, type Subject } from './subjects';

interface Env {
  REAL_KV: KVNamespace;
}

let bench: Bench | undefined;

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function sampleMs(fn: Subject, n: number): Promise<number> {
  await tick();
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  await tick();
  return performance.now() - start;
}

/** Smallest n (power of 2) whose sample lasts at least `targetMs`, after a warm-up. */
async function calibrate(fn: Subject, targetMs: number): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  let n = 16;
  for (;;) {
    const ms = await sampleMs(fn, n);
    if (ms >= targetMs || n >= 1 << 20) return n;
    n = ms < 2 ? n * 8 : Math.ceil((n * targetMs) / ms);
  }
}

async function run(subjects: Record<string, Subject>, names: string[], rounds: number, targetMs: number) {
  // One sample's overhead is one timer tick (the one before `start` is outside). A tick is well
  // under the clock's 1 ms step, so it is measured over 200 ticks in a row.
  const ticks = 200;
  const tickMs = (await sampleMs(tick, ticks - 1)) / ticks;

  const sizes: Record<string, number> = {};
  for (const name of names) sizes[name] = await calibrate(subjects[name]!, targetMs);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const n = sizes[name]!;
      const ms = await sampleMs(subjects[name]!, n);
      samples[name]!.push((Math.max(0, ms - tickMs) / n) * 1000);
    }
    await bench?.settle();
  }
  return { tickMs, perSample: sizes, samples };
}

/** Latency of the local (Miniflare) KV simulator: here the clock does advance, since KV is I/O. */
async function kvLatency(kv: KVNamespace, value: string, count: number) {
  const key = 'session:bench-latency';
  await kv.put(key, value);
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await kv.get(key, 'text');
    ms.push(performance.now() - start);
  }
  const batch = 500;
  const start = performance.now();
  for (let i = 0; i < batch; i++) await kv.get(key, 'text');
  return { single: ms, batch, meanOfBatchMs: (performance.now() - start) / batch };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (url.pathname === '/setup') {
        bench = await createBench((await request.json()) as Setup);
        return Response.json({ subjects: Object.keys(bench.subjects), components: Object.keys(bench.components), facts: bench.facts });
      }
      if (!bench) return new Response('POST /setup first', { status: 409 });
      if (url.pathname === '/run') {
        const { names, rounds, targetMs, components } = (await request.json()) as { names: string[]; rounds: number; targetMs: number; components?: boolean };
        const pool = components ? bench.components : bench.subjects;
        return Response.json(await run(pool, names, rounds, targetMs));
      }
      if (url.pathname === '/count') {
        // KV and upstream calls per request, from the stubs' own counters.
        const { name, n } = (await request.json()) as { name: string; n: number };
        const reads = bench.kv.reads;
        const writes = bench.kv.writes;
        const calls = bench.upstream.requests;
        for (let i = 0; i < n; i++) await bench.subjects[name]!();
        await bench.settle();
        return Response.json({ kvReads: (bench.kv.reads - reads) / n, kvWrites: (bench.kv.writes - writes) / n, upstreamCalls: (bench.upstream.requests - calls) / n });
      }
      if (url.pathname === '/loop') {
        // Runs one subject over and over for `ms` (for the CPU profiler); a tick now and then so the
        // clock moves even where it only advances across I/O.
        const { name, ms } = (await request.json()) as { name: string; ms: number };
        const fn = bench.subjects[name]!;
        const end = performance.now() + ms;
        let calls = 0;
        while (performance.now() < end) {
          for (let i = 0; i < 100; i++) await fn();
          calls += 100;
          await tick();
          await bench.settle();
        }
        return Response.json({ calls });
      }
      if (url.pathname === '/kv-latency') {
        const sealed = [...bench.kv.data.values()][0]?.value ?? 'x'.repeat(2000);
        return Response.json(await kvLatency(env.REAL_KV, sealed, 200));
      }
      return new Response('not found', { status: 404 });
    } catch (error) {
      return new Response(error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error), { status: 500 });
    }
  },
};
