import { ownCopy } from './errors';

/**
 * Waits for a call another request of this isolate started (a key set being read, a token being
 * introspected, a revocation check, a session being read), no longer than `ms`; then `late` answers
 * instead. The request that started the call may be cancelled with it (a client that went away), and
 * workerd then never runs this request's continuation of it: the deadline is this request's own. A
 * failure is shared by every request that waited for it: each gets its own copy (errors.ts).
 */
export function joinWithin<T>(promise: Promise<T>, ms: number, late: () => T | Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), ms);
  });
  return Promise.race([promise.catch(ownCopy), deadline])
    .finally(() => clearTimeout(timer ?? null))
    .then((result) => (result === LATE ? late() : (result as T)));
}

const LATE: unique symbol = Symbol('late');

/**
 * Records `value` under `key` in `running` (the calls in flight that others may join) for as long as
 * `call` runs: removed when it settles, unless a newer call took the key meanwhile.
 */
export function holdWhileRunning<K, V>(running: Map<K, V>, key: K, value: V, call: Promise<unknown>): void {
  running.set(key, value);
  const done = () => {
    if (running.get(key) === value) running.delete(key);
  };
  call.then(done, done);
}
