/**
 * Cold start only: the production gateway (src/index.ts, unchanged) on an in-memory KV, so the first
 * signed-in request of a fresh workerd isolate shows the gateway's own CPU without Miniflare's local KV
 * simulator, which runs in the same workerd process (production KV is a network read: latency, not the
 * Worker's CPU). The KV (memory-kv.ts) is a Map seeded on its first use from BENCH_KV_SEED, a JSON var
 * of key → value (the bench's sealed session), so no setup request warms the isolate: its first
 * request is the signed-in one, and it pays for the seeding (copying one entry into a Map).
 *
 * The gateway sees the request's `env` minus the BENCH_* bindings plus SESSIONS = that KV: one KV per
 * isolate, like the runtime's own binding object, which is the same in the start-up `env` and in every
 * request's. The start-up `env` is wrapped and handed to `preloadConfig` as src/index.ts does with the
 * runtime's own (which, without SESSIONS, fails that validation and never reaches the gateway). In
 * workerd the first request's `env` is another object than the start-up one (from the second request
 * on, always the first request's), with the same values: the gateway serves it the start-up parse.
 */
import { env as startEnv } from 'cloudflare:workers';
import gateway from '../../src/index';
import { preloadConfig } from '../../src/config';
import type { Env } from '../../src/env';
import { MemoryKv } from './memory-kv';

const wrapped = new WeakMap<object, Env>();
let kv: MemoryKv | undefined;

function envFor(raw: Record<string, unknown>): Env {
  let out = wrapped.get(raw);
  if (!out) {
    const seed = raw['BENCH_KV_SEED'];
    kv ??= new MemoryKv(() => (seed && typeof seed === 'object' ? (seed as Record<string, string>) : {}));
    const rest = Object.fromEntries(Object.entries(raw).filter(([name]) => !name.startsWith('BENCH_')));
    out = { ...rest, SESSIONS: kv as unknown as KVNamespace } as Env;
    wrapped.set(raw, out);
  }
  return out;
}

if (startEnv) preloadConfig(envFor(startEnv as Record<string, unknown>) as unknown as Record<string, unknown>);

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    return gateway.fetch(request, envFor(env as unknown as Record<string, unknown>), ctx);
  },
} satisfies ExportedHandler<Env>;
