// Late callers: an isolate or location that still holds the session from before a rotation presents
// the used refresh token. The object, which made the redemption, hands it the refreshed session — at
// any time, also long after, and at a location whose KV has not caught up: the used token never
// reaches the IdP again.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EchoBody } from '../setup/protocol';
import { API, SESSION_COOKIE, clock, handleOf, idp, introspect, kv, lifecycleGateway, rawSession, signInWithIdpJar, storedSession } from '../support/lifecycle';
import { isolate, logged } from './helpers';

beforeEach(() => idp.reset());
afterEach(() => {
  clock.real();
  vi.restoreAllMocks();
});

async function rotatedElsewhere() {
  const home = lifecycleGateway();
  await signInWithIdpJar(home, 'alice');
  const before = (await storedSession(home))!;
  const beforeRaw = (await rawSession(home))!;
  const expiry = before.accessTokenExpiresAt!;
  // A second isolate with the session decrypted in its cache (SESSION_CACHE_TTL 60): its copy is the old one.
  const late = isolate(home.jar.get(SESSION_COOKIE)!, { SESSION_CACHE_TTL: '60' });
  clock.set(expiry - 70); // not due yet (REFRESH_MARGIN 60)
  expect((await late.fetch('/warm', { headers: API })).status).toBe(200);
  expect(await idp.refreshes()).toBe(0);
  clock.set(expiry - 30);
  expect((await home.fetch('/rotate', { headers: API })).status).toBe(200);
  expect(await idp.refreshes()).toBe(1);
  const after = (await storedSession(home))!;
  expect(after.refreshToken).not.toBe(before.refreshToken);
  return { home, late, before, beforeRaw, after, rotatedAt: expiry - 30 };
}

/** KV that answers `key` with `value` the first time, then reads through. */
function staleOnce(key: string, value: string): KVNamespace {
  let served = false;
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === 'get') {
        const getOne = (k: string, type?: unknown) => {
          if (k === key && !served) {
            served = true;
            return Promise.resolve(value);
          }
          return (target.get as (k: string, t?: unknown) => Promise<unknown>)(k, type);
        };
        // A list of keys is KV's bulk read: each key as a single read would see it, in a Map.
        return async (k: string | string[], type?: unknown) => (Array.isArray(k) ? new Map(await Promise.all(k.map(async (one) => [one, await getOne(one, type)] as const))) : getOne(k, type));
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function user(res: Response): Promise<unknown> {
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as EchoBody).headers['x-user'];
}

describe('a copy from before the rotation', () => {
  it('moments later: gets the refreshed session from the object, no second redemption', async () => {
    const { late, after, rotatedAt } = await rotatedElsewhere();
    const info = vi.spyOn(console, 'log');
    clock.set(rotatedAt + 15); // the cached copy (from rotatedAt - 40, SESSION_CACHE_TTL 60) is still in use
    expect(await user(await late.fetch('/page', { headers: API }))).toBe('alice');
    expect(logged(info, 'session_refresh_shared')).toHaveLength(1);
    expect(await idp.refreshes()).toBe(1);
    expect((await introspect(after.refreshToken!)).active, 'the grant is intact').toBe(true);
    // It now holds the new session: nothing more to refresh.
    expect(await user(await late.fetch('/page', { headers: API }))).toBe('alice');
    expect(await idp.refreshes()).toBe(1);
  });

  it('long after, at a location whose KV still serves the old copy: the object still has the result', async () => {
    const { home, beforeRaw, after, rotatedAt } = await rotatedElsewhere();
    const late = isolate(home.jar.get(SESSION_COOKIE)!, { SESSIONS: staleOnce(`session:${handleOf(home).id}`, beforeRaw) });
    const info = vi.spyOn(console, 'log');
    clock.set(rotatedAt + 300);
    expect(await user(await late.fetch('/page', { headers: API }))).toBe('alice');
    expect(logged(info, 'session_refresh_shared')).toHaveLength(1);
    expect(await idp.refreshes()).toBe(1);
    expect((await introspect(after.refreshToken!)).active).toBe(true);
  });

  it('even when the old copy is back in KV (a stale write): the object’s own copy wins, no second redemption', async () => {
    const { home, late, beforeRaw, after, rotatedAt } = await rotatedElsewhere();
    await kv.put(`session:${handleOf(home).id}`, beforeRaw);
    clock.set(rotatedAt + 120);
    expect(await user(await late.fetch('/page', { headers: API }))).toBe('alice');
    expect(await idp.refreshes()).toBe(1);
    expect((await introspect(after.refreshToken!)).active).toBe(true);
  });
});
