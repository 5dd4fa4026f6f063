// One behaviour suite for every SessionStore (src/session/store.ts), as oauth2-proxy proves its session
// stores: KV-only (KvSessionStore) and coordinated (CoordinatedStore: the session's Durable Object is the
// one writer). A new store is proven by passing the same tests.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config';
import { coordinatorFor } from '../../src/coordinator/client';
import { CoordinatedStore } from '../../src/lifecycle/coordinated';
import type { Session } from '../../src/session/model';
import { KvSessionStore, type SessionStore } from '../../src/session/store';
import { coordinatorNs } from '../coordinator/helpers';
import { kv } from '../support/lifecycle';

const secrets = [new TextEncoder().encode('store-behaviour-secret-0123456789-abcdefghij')];
const now = () => Math.floor(Date.now() / 1000);

function session(overrides: Partial<Session> = {}): Session {
  const t = now();
  return {
    v: 1,
    sub: 'alice',
    claims: { name: 'Alice' },
    idToken: 'header.payload.signature',
    accessToken: 'at-1',
    refreshToken: 'rt-1',
    accessTokenExpiresAt: t + 600,
    sid: 'sid-1',
    tokensAt: t,
    createdAt: t,
    lastSeenAt: t,
    expiresAt: t + 3600,
    ...overrides,
  };
}

type Make = (cacheTtl: number) => SessionStore;

const STORES: [string, Make][] = [
  ['KvSessionStore (KV-only)', (cacheTtl) => new KvSessionStore(kv, secrets, cacheTtl)],
  [
    'CoordinatedStore (coordinated)',
    (cacheTtl) => new CoordinatedStore(new KvSessionStore(kv, secrets, cacheTtl), coordinatorFor(coordinatorNs)!, {} as Config, (p) => void p.catch(() => undefined)),
  ],
];

describe.each(STORES)('%s', (_name, make) => {
  it('stores what it was given, and opens it only with the cookie’s secret', async () => {
    const store = make(0);
    const handle = store.newHandle();
    await store.create(handle, session(), 600, now());
    expect(await store.load(handle)).toMatchObject({ sub: 'alice', accessToken: 'at-1' });
    expect(await store.load({ id: handle.id, secret: store.newHandle().secret }), 'another secret').toBeNull();
    expect(await store.load(store.newHandle()), 'an id that was never stored').toBeNull();
    const raw = (await kv.get(`session:${handle.id}`))!;
    expect(raw).not.toContain('alice');
    expect(await store.unseal(handle, raw)).toMatchObject({ sub: 'alice' });
  });

  it('writes changes back while the session stands', async () => {
    const store = make(0);
    const handle = store.newHandle();
    const first = session();
    await store.create(handle, first, 600, now());
    expect(await store.save(handle, { ...first, lastSeenAt: first.lastSeenAt + 100 }, 600, now())).toBe(true);
    expect((await store.loadFresh(handle))!.lastSeenAt).toBe(first.lastSeenAt + 100);
    expect(await store.ended(handle.id)).toBe(false);
  });

  it('once ended: never loaded, never saved again, and a copy written back by a stale writer stays closed', async () => {
    const store = make(0);
    const handle = store.newHandle();
    const s = session();
    const sealed = await store.create(handle, s, 600, now());
    await store.end(handle.id, s.expiresAt, now(), 'logout');
    expect(await store.load(handle)).toBeNull();
    expect(await store.loadFresh(handle)).toBeNull();
    expect(await store.ended(handle.id)).toBe(true);
    expect(await store.save(handle, { ...s, lastSeenAt: s.lastSeenAt + 100 }, 600, now()), 'a touch after the end').toBe(false);
    expect(await kv.get(`session:${handle.id}`), 'nothing written back').toBeNull();

    // Another location that did not see the end yet writes its copy (KV is last-write-wins):
    await kv.put(`session:${handle.id}`, sealed);
    expect(await store.loadFresh(handle), 'the tombstone keeps it closed').toBeNull();
    expect(await make(0).load(handle), 'for every isolate').toBeNull();
    await store.end(handle.id, s.expiresAt, now(), 'logout');
    expect(await store.ended(handle.id), 'ending twice is fine').toBe(true);
  });

  it('the isolate’s copy: used within its TTL, dropped by forget and by the end', async () => {
    const store = make(60);
    const handle = store.newHandle();
    const s = session();
    await store.create(handle, s, 600, now());
    await kv.delete(`session:${handle.id}`);
    expect(await store.load(handle), 'the isolate copy').toMatchObject({ sub: 'alice' });
    expect(await store.loadFresh(handle), 'the store itself').toBeNull();
    store.adopt(handle, { ...s, accessToken: 'at-2' });
    expect((await store.load(handle))!.accessToken).toBe('at-2');
    store.forget(handle.id);
    expect(await store.load(handle)).toBeNull();

    const other = store.newHandle();
    await store.create(other, s, 600, now());
    expect(await store.load(other)).not.toBeNull();
    await store.end(other.id, s.expiresAt, now());
    expect(await store.load(other), 'ended here: the copy is gone at once').toBeNull();
  });
});
