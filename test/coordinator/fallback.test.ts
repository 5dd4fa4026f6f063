// The coordinator unreachable (issue 5.4): requests with valid, unexpired tokens keep working, a refresh
// falls back to the KV-only behaviour with a warning, and nothing fails open — revocation falls back to
// KV's (slower) deletion, never to "anything goes". docs/sessions.md "If the coordinator is unreachable".
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../support/gateway';
import { API, SESSION_COOKIE, clock, handleOf, idp, kv, lifecycleGateway, revokeAtIdp, signInWithIdpJar, storedSession } from '../support/lifecycle';
import { objectName } from '../../src/coordinator/client';
import { brokenCoordinator, coordinatorNs, isolate, logged } from './helpers';

beforeEach(() => idp.reset());
afterEach(async () => {
  clock.real();
  vi.restoreAllMocks();
  await idp.reset();
});

async function status(gw: Gateway, path = '/page'): Promise<number> {
  const res = await gw.fetch(path, { headers: API, store: false });
  await res.arrayBuffer();
  return res.status;
}

/** Signed in through a healthy gateway; `down` is an isolate whose COORDINATOR binding fails. */
async function signedIn(how: 'throws' | 'hangs' = 'throws') {
  const home = lifecycleGateway();
  await signInWithIdpJar(home, 'alice');
  const session = (await storedSession(home))!;
  const down = isolate(home.jar.get(SESSION_COOKIE)!, { COORDINATOR: brokenCoordinator(how) });
  return { home, down, session, expiry: session.accessTokenExpiresAt! };
}

describe('coordinator unreachable', () => {
  it('valid, unexpired tokens keep working; one warning, then KV-only without asking again for a few seconds', async () => {
    const { down } = await signedIn();
    const warn = vi.spyOn(console, 'warn');
    expect(await status(down)).toBe(200);
    expect(await status(down)).toBe(200);
    const warnings = logged(warn, 'coordinator_unavailable');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ op: 'check', fallback: 'kv_only' });
  });

  it('an object that does not answer: the check gives up after 1 s and the request is served', async () => {
    const { down } = await signedIn('hangs');
    const started = Date.now();
    expect(await status(down)).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a due refresh whose object cannot be called falls back to the KV-only refresh, with a warning, and works', async () => {
    const { down, session, expiry } = await signedIn();
    const warn = vi.spyOn(console, 'warn');
    clock.set(expiry - 30);
    expect(await status(down)).toBe(200);
    expect(await idp.refreshes()).toBe(1);
    expect(logged(warn, 'coordinator_unavailable')[0]).toMatchObject({ op: 'refresh', fallback: 'kv_only' });
    const after = (await storedSession(down))!;
    expect(after.refreshToken).not.toBe(session.refreshToken);
  });

  it('a refresh the object does not answer in time is not redeemed at once (someone may be redeeming it); the isolate then refreshes KV-only', async () => {
    const { down, expiry } = await signedIn('hangs');
    const gw = isolate(down.jar.get(SESSION_COOKIE)!, { COORDINATOR: down.env['COORDINATOR'], IDP_TIMEOUT: '1' }); // lease 5 s, wait 7 s
    const warn = vi.spyOn(console, 'warn');
    clock.set(expiry - 30);
    expect(await status(gw), 'served: its tokens are still valid').toBe(200);
    expect(await idp.refreshes()).toBe(0);
    expect(logged(warn, 'coordinator_unavailable')[0]).toMatchObject({ op: 'refresh' });
    expect(await status(gw)).toBe(200);
    expect(await idp.refreshes(), 'within the next 5 s: KV-only').toBe(1);
  }, 20_000);

  it('nothing fails open: logout still ends the session (in KV), a refused refresh still ends it', async () => {
    const { down, home } = await signedIn();
    const { id } = handleOf(home);
    expect((await down.fetch('/_auth/logout', { method: 'POST', headers: API })).status).toBe(200);
    expect(await kv.get(`session:${id}`)).toBeNull();
    expect(await status(isolate(home.jar.get(SESSION_COOKIE)!, { COORDINATOR: brokenCoordinator('throws') }))).toBe(401);

    const other = await signedIn();
    await revokeAtIdp(other.session.refreshToken!);
    clock.set(other.expiry - 30);
    expect(await status(other.down), 'invalid_grant ends the session without the coordinator too').toBe(401);
    expect(await kv.get(`session:${handleOf(other.home).id}`)).toBeNull();
  });

  it('a logout the object does not take at first is retried toward it, not skipped', async () => {
    const home = lifecycleGateway();
    await signInWithIdpJar(home, 'alice');
    const { id } = handleOf(home);
    let refused = 0;
    const flaky = {
      idFromName: (name: string) => coordinatorNs.idFromName(name),
      get: (objectId: DurableObjectId) => {
        const real = coordinatorNs.get(objectId) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
        return new Proxy({}, {
          get: (_t, prop: string) => (...args: unknown[]) => {
            if (prop === 'end' && refused++ === 0) return Promise.reject(new Error('Durable Object is overloaded (test)'));
            return real[prop]!(...args);
          },
        });
      },
    } as unknown as DurableObjectNamespace;
    const tab = isolate(home.jar.get(SESSION_COOKIE)!, { COORDINATOR: flaky });
    const info = vi.spyOn(console, 'log');
    // The gateway's test driver waits for the request's waitUntil work, retries included.
    expect((await tab.fetch('/_auth/logout', { method: 'POST', headers: API })).status).toBe(200);
    expect(await kv.get(`ended:${id}`), 'the tombstone, written at once').not.toBeNull();
    const stub = coordinatorNs.get(coordinatorNs.idFromName(await objectName(id))) as unknown as { check(): Promise<{ revoked: boolean }> };
    expect(await stub.check(), 'the object learned of the end').toEqual({ revoked: true });
    expect(logged(info, 'coordinator_end_retried')).toHaveLength(1);
  });
});
