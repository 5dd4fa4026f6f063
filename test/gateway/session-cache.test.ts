// The isolate session cache (SESSION_CACHE_TTL): fewer KV reads for a signed-in user, never a session
// the cookie's secret would not open, and changes made in this isolate seen at once.
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { gateway } from '../support/gateway';
import { signIn } from '../support/flows';
import { API } from './helpers';
import { countingKv } from '../support/counting-kv';

const kv = (env as unknown as { SESSIONS: KVNamespace }).SESSIONS;

afterEach(() => vi.useRealTimers());

describe('isolate session cache', () => {
  it('serves repeated requests of a signed-in user without reading KV (default 10 s)', async () => {
    const { counts, binding } = countingKv();
    const gw = gateway({ SESSION_CACHE_TTL: undefined, SESSIONS: binding });
    await signIn(gw, { user: 'alice' });
    const before = counts.get;
    for (let i = 0; i < 5; i++) expect((await gw.fetch('/', { headers: API })).status).toBe(200);
    expect(counts.get - before).toBe(0);
  });

  it('reads KV once for a burst of parallel requests after the TTL, and never shares it with another secret', async () => {
    const { counts, binding } = countingKv();
    const gw = gateway({ SESSION_CACHE_TTL: '5', SESSIONS: binding });
    await signIn(gw, { user: 'alice' });
    const cookie = gw.jar.get('__Host-edgegate')!;
    const [id, secret] = cookie.split('.') as [string, string];
    const forged = `${id}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 6_000);
    const before = counts.get;
    // A page and its assets, and in their midst requests with the same id but another secret.
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => gw.fetch(`/asset/${i}`, { headers: i % 4 === 3 ? { ...API, cookie: `__Host-edgegate=${forged}` } : API, cookies: i % 4 !== 3, store: false })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 12 }, (_, i) => (i % 4 === 3 ? 401 : 200)));
    // One read for the real cookie's requests; the forged ones read (and fail to open) on their own.
    expect(counts.get - before).toBe(4);
  });

  it('reads KV again after the TTL, and then sees a session ended elsewhere', async () => {
    const gw = gateway({ SESSION_CACHE_TTL: '5' });
    await signIn(gw, { user: 'alice' });
    const [id] = gw.jar.get('__Host-edgegate')!.split('.');
    await kv.delete(`session:${id}`);
    // Within the TTL the isolate still trusts what it decrypted (the documented delay).
    expect((await gw.fetch('/', { headers: API })).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 6_000);
    expect((await gw.fetch('/', { headers: API })).status).toBe(401);
  });

  it('never opens a cached session for a cookie with the right id but another secret', async () => {
    const gw = gateway({ SESSION_CACHE_TTL: '10' });
    await signIn(gw, { user: 'alice' });
    const [id, secret] = gw.jar.get('__Host-edgegate')!.split('.') as [string, string];
    const forged = `${id}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    const res = await gw.fetch('/', { headers: { ...API, cookie: `__Host-edgegate=${forged}` }, cookies: false, store: false });
    expect(res.status).toBe(401);
    // And the real cookie still works afterwards.
    expect((await gw.fetch('/', { headers: API })).status).toBe(200);
  });

  it('forgets a session logged out in this isolate at once', async () => {
    const gw = gateway({ SESSION_CACHE_TTL: '60' });
    await signIn(gw, { user: 'alice' });
    const cookie = gw.jar.get('__Host-edgegate')!;
    await gw.fetch('/_auth/logout', { method: 'POST', headers: API });
    const res = await gw.fetch('/', { headers: { ...API, cookie: `__Host-edgegate=${cookie}` }, cookies: false });
    expect(res.status).toBe(401);
  });

  it('stays bounded under many distinct sessions', async () => {
    const { KvSessionStore } = await import('../../src/session/store');
    const store = new KvSessionStore(kv, [new TextEncoder().encode('x'.repeat(40))], 60);
    const now = Math.floor(Date.now() / 1000);
    const session = { v: 1, sub: 's', claims: {}, idToken: 'x', accessToken: undefined, refreshToken: undefined, accessTokenExpiresAt: undefined, sid: undefined, createdAt: now, lastSeenAt: now, expiresAt: now + 3600 } as const;
    for (let i = 0; i < 1100; i++) await store.save(store.newHandle(), { ...session }, 3600, now);
    expect(store.cachedSessions).toBe(1000);
  });

  it('does not keep a session larger than 16 KiB decrypted (an IdP’s claims are not capped): it is read from KV each time', async () => {
    const { KvSessionStore } = await import('../../src/session/store');
    const store = new KvSessionStore(kv, [new TextEncoder().encode('x'.repeat(40))], 60);
    const now = Math.floor(Date.now() / 1000);
    const base = { v: 1, sub: 's', idToken: 'x', accessToken: undefined, refreshToken: undefined, accessTokenExpiresAt: undefined, sid: undefined, createdAt: now, lastSeenAt: now, expiresAt: now + 3600 } as const;
    const small = store.newHandle();
    await store.create(small, { ...base, claims: { groups: ['a'] } }, 3600, now);
    const large = store.newHandle();
    await store.create(large, { ...base, claims: { groups: Array.from({ length: 2000 }, (_, i) => `group-number-${i}`) } }, 3600, now);
    expect(store.cachedSessions, 'only the small one').toBe(1);
    expect((await store.load(large))!.claims['groups']).toHaveLength(2000);
    expect(store.cachedSessions, 'still only the small one after reading the large one').toBe(1);
  });
});
