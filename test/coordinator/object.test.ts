// The session's object on its own (src/coordinator/object.ts), driven over RPC as the Worker drives it:
// leases, waiting, the grace window, revocation, what it stores, alarms, and surviving an eviction.
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ROTATION_GRACE, type SessionCoordinator } from '../../src/coordinator/object';
import type { RefreshAnswer } from '../../src/coordinator/protocol';
import { coordinatorNs } from './helpers';

type Stub = DurableObjectStub<SessionCoordinator>;

function object(name = `test-${crypto.randomUUID()}`): Stub {
  return coordinatorNs.get(coordinatorNs.idFromName(name)) as Stub;
}

const now = () => Math.floor(Date.now() / 1000);
const ask = (rt: string, at = now(), leaseMs = 10_000, expiresAt = at + 3600) => ({ rt, now: at, leaseMs, expiresAt });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function lease(stub: Stub, rt: string, at = now(), leaseMs = 10_000, expiresAt = at + 3600): Promise<string> {
  const answer = await stub.refresh(ask(rt, at, leaseMs, expiresAt));
  if (answer.kind !== 'lease') throw new Error(`expected a lease, got ${answer.kind}`);
  return answer.lease;
}

describe('SessionCoordinator', () => {
  it('grants one lease; concurrent callers wait and receive the holder’s result; late callers with the old token too', async () => {
    const stub = object();
    const t = now();
    const id = await lease(stub, 'rt-1', t);
    let settled = false;
    const waiters = [stub.refresh(ask('rt-1', t)), stub.refresh(ask('rt-1', t))].map((p) => p.finally(() => (settled = true)));
    await sleep(50);
    expect(settled, 'waiting while the holder is at the IdP').toBe(false);

    expect(await stub.complete({ lease: id, rt: 'rt-1', next: 'rt-2', sealed: 'v1.sealed-session', now: t, expiresAt: t + 3600 })).toEqual({ kind: 'ok' });
    for (const answer of await Promise.all(waiters)) expect(answer).toEqual({ kind: 'rotated', sealed: 'v1.sealed-session' });

    expect(await stub.refresh(ask('rt-1', t + ROTATION_GRACE - 1)), 'within the grace window').toEqual({ kind: 'rotated', sealed: 'v1.sealed-session' });
    expect(await stub.refresh(ask('rt-1', t + ROTATION_GRACE + 1)), 'after it: never a lease for a used token').toEqual({ kind: 'stale' });
    expect((await stub.refresh(ask('rt-2', t + 600))).kind, 'the current token is refreshed normally').toBe('lease');
  });

  it('a transient failure is shared with the waiters and with callers for retryAfter seconds, then a new lease', async () => {
    const stub = object();
    const t = now();
    const id = await lease(stub, 'rt-1', t);
    const waiter = stub.refresh(ask('rt-1', t));
    const error = { code: 'idp_unreachable', message: 'The identity provider is unreachable.' };
    await stub.fail({ lease: id, now: t, error, retryAfter: 10 });
    expect(await waiter).toEqual({ kind: 'unavailable', error });
    expect((await stub.refresh(ask('rt-1', t + 5))).kind).toBe('unavailable');
    expect((await stub.refresh(ask('rt-1', t + 11))).kind).toBe('lease');
  });

  it('a holder that never reports: waiters get the next lease when it runs out', async () => {
    const stub = object();
    await lease(stub, 'rt-1', now(), 200);
    const answer = await stub.refresh(ask('rt-1'));
    expect(answer.kind).toBe('lease');
  });

  it('revocation: checked in memory; waiters, new callers and the holder’s late report are all refused', async () => {
    const stub = object();
    const t = now();
    expect(await stub.check()).toEqual({ revoked: false });
    const id = await lease(stub, 'rt-1', t);
    const waiter = stub.refresh(ask('rt-1', t));
    await stub.revoke({ now: t, expiresAt: t + 3600, reason: 'backchannel_logout' });
    expect(await waiter).toEqual({ kind: 'revoked' });
    expect(await stub.check()).toEqual({ revoked: true });
    expect(await stub.refresh(ask('rt-1', t))).toEqual({ kind: 'revoked' });
    expect(await stub.complete({ lease: id, rt: 'rt-1', next: 'rt-2', sealed: 'v1.x', now: t, expiresAt: t + 3600 })).toEqual({ kind: 'revoked' });
  });

  it('stores only hashes, expiries and the sealed session; drops the sealed session after the grace window and everything at the end', async () => {
    const stub = object();
    const past = now() - ROTATION_GRACE - 10; // so the real-time alarm finds the grace window over
    const end = now() + 2;
    const id = await lease(stub, 'hash-of-rt-1', past, 10_000, end);
    await stub.complete({ lease: id, rt: 'hash-of-rt-1', next: 'hash-of-rt-2', sealed: 'v1.sealed', now: past, expiresAt: end });
    const stored = await runInDurableObject(stub, (_o, state) => state.storage.get<Record<string, unknown>>('s'));
    expect(Object.keys(stored!).sort()).toEqual(['consumed', 'current', 'expiresAt', 'latest', 'v']);
    expect(stored).toMatchObject({ current: 'hash-of-rt-2', consumed: ['hash-of-rt-1'], latest: { from: 'hash-of-rt-1', sealed: 'v1.sealed' } });

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const afterGrace = await runInDurableObject(stub, (_o, state) => state.storage.get<Record<string, unknown>>('s'));
    expect(afterGrace!['latest']).toBeUndefined();
    expect(afterGrace!['current']).toBe('hash-of-rt-2');

    expect(await runInDurableObject(stub, (_o, state) => state.storage.getAlarm()), 'the next alarm: the session’s end').toBe(end * 1000);
    await sleep(2100);
    await runDurableObjectAlarm(stub); // unless it already fired by itself
    const keys = await runInDurableObject(stub, async (_o, state) => [...(await state.storage.list()).keys()]);
    expect(keys, 'nothing left once the session is over').toEqual([]);
  });

  it('a restarted object still waits for the lease granted before (it is stored), and accepts its report', async () => {
    const name = `test-${crypto.randomUUID()}`;
    const t = now();
    const id = await lease(object(name), 'rt-1', t);
    // Every object loses its memory (as on a deploy or a machine restart); storage stays.
    await abortAllDurableObjects();
    const stub = object(name);
    let answer: RefreshAnswer | undefined;
    const waiter = stub.refresh(ask('rt-1', t)).then((a) => (answer = a));
    await sleep(50);
    expect(answer, 'no second lease while the first may still be redeeming').toBeUndefined();
    expect(await stub.complete({ lease: id, rt: 'rt-1', next: 'rt-2', sealed: 'v1.after-eviction', now: t, expiresAt: t + 3600 })).toEqual({ kind: 'ok' });
    await waiter;
    expect(answer).toEqual({ kind: 'rotated', sealed: 'v1.after-eviction' });
  });
});
