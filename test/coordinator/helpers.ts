// Helpers for the coordinator tests (test/coordinator), run inside workerd.
//
// "Isolates": each gateway() has its own env object, hence its own parsed config, and the gateway keeps
// its per-isolate state per config (session cache, in-isolate single flight, revocation checks, outage
// backoff; see src/lifecycle/fresh.ts). So N gateways with the same cookie behave like N isolates
// (or locations) serving one browser's requests, sharing KV and the COORDINATOR namespace.
//
//   isolate(cookie, overrides)   another isolate serving the same browser session
//   laggingKv()                  "another location": a KV view that does not see other locations' writes yet (KV takes ~60 s)
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

/**
 * KV as seen at a location that other locations' writes have not reached yet: every key reads as it
 * did the first time this view read it (deletions and new keys such as tombstones stay unseen), while
 * its own writes show at once, as at a real location. `catchUp()` ends the lag (KV's ~60 s are over).
 */
export function laggingKv(): KVNamespace & { catchUp(): void } {
  const seen = new Map<string, unknown>();
  let lagging = true;
  const getOne = async (key: string, type?: unknown) => {
    const value = await (kv.get as (k: string, t?: unknown) => Promise<unknown>)(key, type);
    if (!lagging) return value;
    if (!seen.has(key)) seen.set(key, value);
    return seen.get(key) ?? null;
  };
  // A list of keys is KV's bulk read: each key as a single read would see it, in a Map.
  const get = async (key: string | string[], type?: unknown) => (Array.isArray(key) ? new Map(await Promise.all(key.map(async (k) => [k, await getOne(k, type)] as const))) : getOne(key, type));
  const put = async (key: string, value: unknown, options?: unknown) => {
    seen.set(key, value);
    return (kv.put as (k: string, v: unknown, o?: unknown) => Promise<void>)(key, value, options);
  };
  const del = async (key: string) => {
    seen.set(key, null);
    return kv.delete(key);
  };
  const catchUp = () => {
    lagging = false;
  };
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === 'get') return get;
      if (prop === 'put') return put;
      if (prop === 'delete') return del;
      if (prop === 'catchUp') return catchUp;
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as KVNamespace & { catchUp(): void };
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
