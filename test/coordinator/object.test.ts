// The COORDINATOR's object on its own (src/coordinator/object.ts), driven over RPC as the Worker drives
// it: the end mark and what it refuses afterwards, touches that would write an older copy back, the
// index role, alarms, and memory lost on a restart. Refreshes (the object redeeming at the IdP) are
// driven through the worker in test/coordinator/refresh-storm.test.ts and test/lifecycle.
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { CoordinatorObject } from '../../src/coordinator/object';
import { kv } from '../support/lifecycle';
import { coordinatorNs } from './helpers';

type Stub = DurableObjectStub<CoordinatorObject>;

function object(name = `session/test-${crypto.randomUUID()}`): Stub {
  return coordinatorNs.get(coordinatorNs.idFromName(name)) as Stub;
}

const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function touch(id: string, tokensAt: number, sealed = `sealed-${tokensAt}`) {
  return { id, sealed, ttl: 600, tokensAt, expiresAt: now() + 3600 };
}

describe('the session role', () => {
  it('writes touches to KV until the session ends; after the end, nothing (and KV holds a tombstone)', async () => {
    const id = `obj-${crypto.randomUUID()}`;
    const stub = object();
    expect(await stub.check()).toEqual({ revoked: false });
    expect(await stub.save(touch(id, 100))).toEqual({ kind: 'saved' });
    expect(await kv.get(`session:${id}`)).toBe('sealed-100');

    await stub.end({ id, until: now() + 3600, now: now(), reason: 'logout' });
    expect(await stub.check()).toEqual({ revoked: true });
    expect(await kv.get(`session:${id}`)).toBeNull();
    expect(await kv.get(`ended:${id}`), 'the tombstone').not.toBeNull();
    expect(await stub.save(touch(id, 200)), 'a stale isolate’s touch').toEqual({ kind: 'ended' });
    expect(await kv.get(`session:${id}`), 'not written back').toBeNull();
  });

  it('an end racing a touch: the touch lands before the end’s deletion or not at all', async () => {
    const id = `obj-${crypto.randomUUID()}`;
    const stub = object();
    const racing = [stub.save(touch(id, 100)), stub.end({ id, until: now() + 3600, now: now(), reason: 'logout' }), stub.save(touch(id, 101))];
    const [first, , last] = await Promise.all(racing);
    expect(first).toEqual({ kind: 'saved' });
    expect(last).toEqual({ kind: 'ended' });
    expect(await kv.get(`session:${id}`)).toBeNull();
  });

  it('refuses a touch whose copy predates the object’s last write (it would put old tokens back)', async () => {
    const id = `obj-${crypto.randomUUID()}`;
    const stub = object();
    expect(await stub.save(touch(id, 200, 'renewed'))).toEqual({ kind: 'saved' });
    expect(await stub.save(touch(id, 100, 'older copy'))).toEqual({ kind: 'stale' });
    expect(await kv.get(`session:${id}`)).toBe('renewed');
  });

  it('remembers the end across a restart, and forgets everything at the session’s end', async () => {
    const name = `session/test-${crypto.randomUUID()}`;
    const id = `obj-${crypto.randomUUID()}`;
    await object(name).end({ id, until: now() + 2, now: now(), reason: 'logout' });
    await abortAllDurableObjects();
    const stub = object(name);
    expect(await stub.check(), 'after a restart').toEqual({ revoked: true });
    expect(await stub.save(touch(id, 300))).toEqual({ kind: 'ended' });
    await sleep(2100);
    await runDurableObjectAlarm(stub);
    const keys = await runInDurableObject(stub, async (_o, state) => [...(await state.storage.list()).keys()]);
    expect(keys, 'nothing left once the session is over').toEqual([]);
  });

  it('stores no session id, token or secret: only the sealed record and times', async () => {
    const id = `obj-${crypto.randomUUID()}`;
    const stub = object();
    await stub.save(touch(id, 100));
    const stored = await runInDurableObject(stub, (_o, state) => state.storage.get<Record<string, unknown>>('s'));
    expect(JSON.stringify(stored)).not.toContain(id);
    expect(Object.keys(stored!).sort()).toEqual(['expiresAt', 'latest', 'v']);
  });
});

describe('the index role', () => {
  it('adds, lists (unexpired only) and removes entries; an alarm drops the expired ones', async () => {
    const stub = object(`index/test-${crypto.randomUUID()}`);
    const t = now();
    await stub.indexAdd({ name: 'p:a', sealed: 'A', expiresAt: t + 3600 });
    await stub.indexAdd({ name: 'p:b', sealed: 'B', expiresAt: t + 1 });
    expect((await stub.indexList(t)).map((e) => e.name).sort()).toEqual(['p:a', 'p:b']);
    expect((await stub.indexList(t + 5)).map((e) => e.name), 'expired entries are not listed').toEqual(['p:a']);
    await stub.indexRemove(['p:a']);
    expect(await stub.indexList(t)).toEqual([{ name: 'p:b', sealed: 'B' }]);
    await sleep(1100);
    await runDurableObjectAlarm(stub);
    const keys = await runInDurableObject(stub, async (_o, state) => [...(await state.storage.list()).keys()]);
    expect(keys).toEqual([]);
  });
});
