/**
 * The production gateway (src/index.ts, unchanged) behind two thin wrappers, for counting only:
 * - the SESSIONS binding is a Proxy that counts every KV call by method;
 * - ctx.waitUntil is tracked, so `/__bench/counts` reports writes made after the response too.
 * With the binding BENCH_MEMORY_KV = "true", SESSIONS is an in-memory Map instead (memory-kv.ts):
 * the end-to-end variant that shows the gateway's cost without Miniflare's local KV simulator, whose
 * CPU runs in the same workerd process. The BENCH_* bindings never reach the gateway.
 * The end-to-end runs of the gateway itself use the untouched bundle.
 *
 *   GET /__bench/counts   → { kv: { get, put, delete, list, … } } once pending waitUntil work settled
 *   POST /__bench/reset   → zeroes the counters
 */
import gateway from '../../src/index';
import { MemoryKv } from './memory-kv';

type Env = { SESSIONS: KVNamespace; [key: string]: unknown };

let counts: Record<string, number> = {};
const pending = new Set<Promise<unknown>>();
// One wrapped env per real env: the gateway caches its parsed config per env object.
const wrapped = new WeakMap<object, Env>();

function countingKv(kv: KVNamespace): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const name = String(prop);
        counts[name] = (counts[name] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function envFor(env: Env): Env {
  let out = wrapped.get(env);
  if (!out) {
    const kv = env['BENCH_MEMORY_KV'] === 'true' ? (new MemoryKv() as unknown as KVNamespace) : env.SESSIONS;
    const rest = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('BENCH_')));
    out = { ...rest, SESSIONS: countingKv(kv) };
    wrapped.set(env, out);
  }
  return out;
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/__bench/counts') {
      await Promise.allSettled([...pending]);
      return Response.json({ kv: counts });
    }
    if (url.pathname === '/__bench/reset') {
      await Promise.allSettled([...pending]);
      counts = {};
      return Response.json({ ok: true });
    }
    const tracked: ExecutionContext = {
      waitUntil(promise: Promise<unknown>) {
        const p = promise.finally(() => pending.delete(p));
        pending.add(p);
        ctx.waitUntil(p);
      },
      passThroughOnException: () => ctx.passThroughOnException(),
      props: ctx.props,
    } as ExecutionContext;
    return gateway.fetch(request, envFor(env), tracked);
  },
};
