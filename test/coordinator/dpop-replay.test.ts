// The DPoP replay check in coordinated mode (RFC 9449 11.1; src/routes/dpop-replay.ts): the proof
// object of a client key records each proof once, atomically, and forgets it after its time; through the
// worker, a failing or silent object refuses the request (503) instead of passing it, and a retry of the
// same proof is judged again once the object answers. The attack across locations is
// test/attacks/replay-dpop-proof-at-another-location.test.ts; call counts are in calls.test.ts.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CoordinatorObject } from '../../src/coordinator/object';
import { ORIGIN, apiGateway, boundToken, dpopHeaders } from '../api/helpers';
import { kv } from '../support/lifecycle';
import { brokenCoordinator, coordinatorNs, logged } from './helpers';

type Stub = DurableObjectStub<CoordinatorObject>;

const ROUTES = [{ path: '/mcp/**', auth: 'api' }];
const now = () => Math.floor(Date.now() / 1000);

function proofObject(): Stub {
  return coordinatorNs.get(coordinatorNs.idFromName(`dpop/test-${crypto.randomUUID()}`)) as Stub;
}

async function rows(stub: Stub): Promise<{ id: string; until: number }[]> {
  return runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ id: string; until: number }>('SELECT id, until FROM dpop_proofs ORDER BY id').toArray());
}

afterEach(() => vi.restoreAllMocks());

describe('the proof role', () => {
  it('records a proof once: the second ask is a replay, another proof or another key’s object is not', async () => {
    const stub = proofObject();
    const t = now();
    expect(await stub.recordProof({ id: 'p1', until: t + 60, now: t })).toEqual({ replayed: false });
    expect(await stub.recordProof({ id: 'p1', until: t + 60, now: t + 30 })).toEqual({ replayed: true });
    expect(await stub.recordProof({ id: 'p2', until: t + 60, now: t })).toEqual({ replayed: false });
    expect(await proofObject().recordProof({ id: 'p1', until: t + 60, now: t })).toEqual({ replayed: false });
  });

  it('concurrent asks for one proof: exactly one is first', async () => {
    const stub = proofObject();
    const t = now();
    const answers = await Promise.all(Array.from({ length: 8 }, () => stub.recordProof({ id: 'same', until: t + 60, now: t })));
    expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
  });

  it('forgets a proof after its time: every call deletes what has expired', async () => {
    const stub = proofObject();
    const t = now();
    await stub.recordProof({ id: 'a', until: t + 1, now: t });
    await stub.recordProof({ id: 'b', until: t + 2, now: t });
    expect((await rows(stub)).map((r) => r.id)).toEqual(['a', 'b']);
    expect(await stub.recordProof({ id: 'a', until: t + 1, now: t + 1 }), 'still within its time').toEqual({ replayed: true });
    expect(await stub.recordProof({ id: 'c', until: t + 70, now: t + 5 })).toEqual({ replayed: false });
    expect(await rows(stub), 'a and b are gone').toEqual([{ id: 'c', until: t + 70 }]);
    expect(await stub.recordProof({ id: 'a', until: t + 80, now: t + 20 }), 'past its time it is no longer known').toEqual({ replayed: false });
  });

  it('an alarm deletes the rest once the key goes quiet, and re-arms while some are still in their time', async () => {
    const stub = proofObject();
    const t = now();
    // Recorded by a caller two seconds ago: its time is over by the object's clock.
    await stub.recordProof({ id: 'old', until: t - 1, now: t - 2 });
    expect(await runInDurableObject(stub, (_o, state) => state.storage.getAlarm()), 'an alarm is set with the first row').not.toBeNull();
    await stub.recordProof({ id: 'young', until: t + 60, now: t - 2 });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await rows(stub)).map((r) => r.id)).toEqual(['young']);
    const alarm = await runInDurableObject(stub, (_o, state) => state.storage.getAlarm());
    expect(alarm, 'the alarm comes back for the row left').toBe((t + 61) * 1000);

    const quiet = proofObject();
    await quiet.recordProof({ id: 'old', until: t - 1, now: t - 2 });
    expect(await runDurableObjectAlarm(quiet)).toBe(true);
    expect(await rows(quiet)).toEqual([]);
    expect(await runInDurableObject(quiet, (_o, state) => state.storage.getAlarm()), 'nothing left to wake up for').toBeNull();
  });

  it('session and index objects never make the table', async () => {
    const stub = coordinatorNs.get(coordinatorNs.idFromName(`index/test-${crypto.randomUUID()}`)) as Stub;
    await stub.indexAdd({ name: 'p:x', sealed: 'X', expiresAt: now() - 1 });
    await runDurableObjectAlarm(stub);
    const tables = await runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray().map((r) => r.name));
    expect(tables).not.toContain('dpop_proofs');
  });
});

describe('when the proof object fails', () => {
  for (const how of ['throws', 'hangs'] as const) {
    it(`(${how}) the request is refused with 503, never passed; the same proof is judged again once it answers`, async () => {
      const { key, token } = await boundToken(ROUTES);
      const down = apiGateway(ROUTES, { COORDINATOR: brokenCoordinator(how) });
      const url = `${ORIGIN}/mcp/x`;
      const headers = await dpopHeaders(key, token, 'GET', url);
      const warn = vi.spyOn(console, 'warn');
      const refused = await down.fetch(url, { headers });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: string }).error).toBe('session_store_unavailable');
      expect(logged(warn, 'coordinator_unavailable')).toEqual([expect.objectContaining({ op: 'replay', fallback: 'refused' })]);
      // Not accepted, so not used: the retry in the same isolate is asked again (still failing: 503, not "already used").
      const again = await down.fetch(url, { headers });
      expect(again.status).toBe(503);
      // A location whose object answers accepts it once.
      const healthy = apiGateway(ROUTES);
      const ok = await healthy.fetch(url, { headers });
      await ok.arrayBuffer();
      expect(ok.status).toBe(200);
      expect((await healthy.fetch(url, { headers })).status).toBe(401);
      expect((await kv.list({ prefix: 'dpop-jti:' })).keys, 'with the coordinator, no KV record at all').toEqual([]);
    });
  }
});
