// Helpers for the coordinator tests (test/coordinator), run inside workerd.
//
// "Isolates": each gateway() has its own env object, hence its own parsed config, and the gateway keeps
// its per-isolate state per config (session cache, in-isolate single flight, revocation checks, outage
// backoff; see src/lifecycle/fresh.ts). So N gateways with the same cookie behave like N isolates
// (or locations) serving one browser's requests, sharing KV and the COORDINATOR namespace.
//
//   isolate(cookie, overrides)   another isolate serving the same browser session
//   laggingKv()                  "another location": a KV view that never sees deletions (KV takes ~60 s)
//   brokenCoordinator(how)       a COORDINATOR binding whose objects throw, or never answer
//   callsSince(before)           Durable Object calls made since `before` (src/coordinator/client.ts)
import { env } from 'cloudflare:workers';
import { coordinatorCalls, type CoordinatorOp } from '../../src/coordinator/client';
import type { Gateway } from '../support/gateway';
import { SESSION_COOKIE, kv, lifecycleGateway } from '../support/lifecycle';

export const coordinatorNs = (env as unknown as { COORDINATOR: DurableObjectNamespace }).COORDINATOR;

export function isolate(cookie: string, overrides: Record<string, unknown> = {}): Gateway {
  const gw = lifecycleGateway(overrides);
  gw.jar.set(SESSION_COOKIE, cookie);
  return gw;
}

/** KV as seen at a location the deletion has not reached yet: reads fall back to the last value seen. */
export function laggingKv(): KVNamespace {
  const seen = new Map<string, unknown>();
  const get = async (key: string, type?: unknown) => {
    const value = await (kv.get as (k: string, t?: unknown) => Promise<unknown>)(key, type);
    if (value !== null) seen.set(key, value);
    return value ?? seen.get(key) ?? null;
  };
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === 'get') return get;
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A COORDINATOR binding whose objects fail every call ('throws') or never answer ('hangs'). */
export function brokenCoordinator(how: 'throws' | 'hangs'): DurableObjectNamespace {
  const call = () => (how === 'throws' ? Promise.reject(new Error('Durable Object is overloaded (test)')) : new Promise(() => {}));
  return {
    idFromName: (name: string) => coordinatorNs.idFromName(name),
    get: () => new Proxy({}, { get: () => call }),
  } as unknown as DurableObjectNamespace;
}

export function callsSince(before: Readonly<Record<CoordinatorOp, number>>): Record<CoordinatorOp, number> & { total: number } {
  const now = coordinatorCalls();
  const diff = Object.fromEntries(Object.entries(now).map(([op, n]) => [op, n - before[op as CoordinatorOp]])) as Record<CoordinatorOp, number>;
  return { ...diff, total: Object.values(diff).reduce((a, b) => a + b, 0) };
}

/** Log lines of one event, parsed, from a console spy. */
export function logged(spy: { mock: { calls: unknown[][] } }, event: string): Record<string, unknown>[] {
  return spy.mock.calls.map((args) => String(args[0])).filter((line) => line.includes(`"event":"${event}"`)).map((line) => JSON.parse(line) as Record<string, unknown>);
}
