// The idle-window touch (lifecycle/current.ts touchIfDue): when it comes due, the session is written
// back once — not once per request that arrives while that write is in flight. A page load sends its
// assets in parallel, and KV takes one write per key per second: a write per request would be refused
// (429) and logged as session_touch_failed, and a touch that read the record before another one wrote
// it must not make the isolate forget the new idle start and touch again on every later request.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { gateway } from '../support/gateway';
import { signIn } from '../support/flows';
import { API } from './helpers';
import { countingKv } from '../support/counting-kv';
import { touchIfDue, type Current } from '../../src/lifecycle/current';
import type { RequestContext } from '../../src/context';

afterEach(() => vi.useRealTimers());

describe('session touch', () => {
  for (const cacheTtl of ['10', '0']) {
    it(`writes a due touch once for a burst of parallel requests, and not again while it is fresh (SESSION_CACHE_TTL=${cacheTtl})`, async () => {
      const { counts, binding } = countingKv();
      const gw = gateway({ SESSIONS: binding, COORDINATOR: undefined, SESSION_IDLE_TTL: '600', SESSION_CACHE_TTL: cacheTtl });
      await signIn(gw, { user: 'alice' });
      const start = Date.now();
      vi.useFakeTimers({ toFake: ['Date'] });
      // Five minutes later the idle start is due a touch (every SESSION_IDLE_TTL / 10, at least 60 s).
      vi.setSystemTime(start + 5 * 60_000);
      const before = counts.sessionPuts;
      const burst = await Promise.all(Array.from({ length: 12 }, () => gw.fetch('/', { headers: API })));
      for (const res of burst) expect(res.status).toBe(200);
      await Promise.all(burst.map((res) => res.arrayBuffer()));
      for (let i = 0; i < 5; i++) {
        vi.setSystemTime(start + 5 * 60_000 + i * 1000);
        const res = await gw.fetch('/', { headers: API });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
      expect(counts.sessionPuts - before).toBe(1);
      // Within the interval nothing more is written; after it, the next touch is written once.
      vi.setSystemTime(start + 5 * 60_000 + 50_000);
      await (await gw.fetch('/', { headers: API })).arrayBuffer();
      expect(counts.sessionPuts - before).toBe(1);
      vi.setSystemTime(start + 6 * 60_000 + 10_000);
      const next = await Promise.all(Array.from({ length: 6 }, () => gw.fetch('/', { headers: API })));
      for (const res of next) expect(res.status).toBe(200);
      expect(counts.sessionPuts - before).toBe(2);
    });
  }
});

describe('the isolate\'s record of touches started', () => {
  it('remembers 1000 sessions, the oldest forgotten first', async () => {
    let started = 0;
    const ctx = {
      now: 10_000,
      config: { idleTtl: 600 },
      waitUntil: (p: Promise<unknown>) => void p,
      // A touch starts by re-reading the record; none is found, so nothing is written.
      store: { loadFresh: async () => (started++, null) },
    } as unknown as RequestContext;
    const current = (id: string) => ({ handle: { id, secret: 's' }, session: { lastSeenAt: 0 } }) as unknown as Current;
    const id = `bound-${crypto.randomUUID()}`;
    touchIfDue(ctx, current(id));
    touchIfDue(ctx, current(id));
    expect(started).toBe(1);
    for (let i = 0; i < 1000; i++) touchIfDue(ctx, current(`${id}-${i}`));
    expect(started).toBe(1001);
    touchIfDue(ctx, current(id));
    expect(started).toBe(1002);
  });
});
