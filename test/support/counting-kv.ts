// The test worker's real SESSIONS binding, counting what the gateway asks of it: every `get` (one per
// call, a bulk read of several keys counts once, as KV bills it) and every `put` of a session record.
import { env } from 'cloudflare:workers';

export function countingKv(): { counts: { get: number; sessionPuts: number }; binding: KVNamespace } {
  const kv = (env as unknown as { SESSIONS: KVNamespace }).SESSIONS;
  const counts = { get: 0, sessionPuts: 0 };
  const wrapped = {
    get: (...args: unknown[]) => {
      counts.get++;
      return (kv.get as (...a: unknown[]) => unknown)(...args);
    },
    put: (key: string, ...rest: unknown[]) => {
      if (key.startsWith('session:')) counts.sessionPuts++;
      return (kv.put as (...a: unknown[]) => Promise<void>)(key, ...rest);
    },
    delete: kv.delete.bind(kv),
    list: kv.list.bind(kv),
    getWithMetadata: kv.getWithMetadata.bind(kv),
  };
  return { counts, binding: wrapped as unknown as KVNamespace };
}
