// Revocation that takes effect everywhere (issue 5.2). Without the coordinator, ending a session deletes
// it from KV: other isolates keep their decrypted copy for SESSION_CACHE_TTL, and other locations read
// KV's old value for up to ~60 s. With it, the session's object is marked revoked and every protected
// request asks it — at most once a second per isolate and session (docs/sessions.md "Revocation: what a check costs").
//
// "Another location" is a gateway whose KV view never sees the deletion (laggingKv); "another
// isolate" a gateway of its own with a long SESSION_CACHE_TTL. Both have served the session before.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { objectName } from '../../src/coordinator/client';
import type { CoordinatorObject as SessionCoordinator } from '../../src/coordinator/object';
import { deliverLogoutToken } from '../support/backchannel';
import type { Gateway } from '../support/gateway';
import { API, SESSION_COOKIE, clock, handleOf, idp, lifecycleGateway, revokeAtIdp, signInWithIdpJar, signOutAtTheIdp, storedSession } from '../support/lifecycle';
import { coordinatorNs, isolate, laggingKv } from './helpers';

beforeEach(() => idp.reset());
afterEach(() => clock.real());

async function served(gw: Gateway): Promise<boolean> {
  const res = await gw.fetch('/page', { headers: API, store: false });
  await res.arrayBuffer();
  if (res.status !== 200 && res.status !== 401) throw new Error(`unexpected ${res.status}`);
  return res.status === 200;
}

/** The browser's isolate, one that holds the session decrypted, and two isolates at a lagging location. */
async function spreadSession(overrides: Record<string, unknown> = {}) {
  const home = lifecycleGateway(overrides);
  const idpJar = await signInWithIdpJar(home, 'alice');
  const cookie = home.jar.get(SESSION_COOKIE)!;
  const lagging = laggingKv();
  const cached = isolate(cookie, { ...overrides, SESSION_CACHE_TTL: '60' });
  const farAway = isolate(cookie, { ...overrides, SESSIONS: lagging });
  const farAwayFresh = isolate(cookie, { ...overrides, SESSIONS: lagging });
  const t0 = Math.floor(Date.now() / 1000);
  clock.set(t0);
  expect(await served(cached)).toBe(true);
  expect(await served(farAway)).toBe(true);
  return { home, idpJar, cookie, cached, farAway, farAwayFresh, t0 };
}

describe('with the coordinator', () => {
  it('back-channel logout: isolates that have not asked within the last second refuse at once, all refuse within 1 s (no ~60 s KV delay)', async () => {
    const { home, idpJar, cached, farAway, farAwayFresh, t0 } = await spreadSession();
    await signOutAtTheIdp(idpJar);
    const [sent] = await idp.logoutTokens();
    // The IdP's request lands on yet another isolate, without the browser's cookie.
    expect((await deliverLogoutToken(lifecycleGateway(), sent!.logoutToken)).status).toBe(200);

    expect(await served(farAwayFresh), 'another isolate at a location whose KV still has the session').toBe(false);
    expect(await served(home), 'the browser’s own isolate').toBe(false);
    clock.set(t0 + 1);
    expect(await served(cached), 'an isolate holding the session decrypted').toBe(false);
    expect(await served(farAway), 'a location whose KV still has the session').toBe(false);
  });

  it('a burst of parallel requests at an isolate holding the session decrypted: every one is refused once the check is due', async () => {
    const { home, cached, t0 } = await spreadSession();
    expect((await home.fetch('/_auth/logout', { method: 'POST', headers: API })).status).toBe(200);
    clock.set(t0 + 1);
    // They share one check (test/coordinator/calls.test.ts): its "revoked" answers all of them.
    const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => cached.fetch(`/page/${i}`, { headers: API, store: false })));
    expect(burst.map((res) => res.status)).toEqual(Array(8).fill(401));
  });

  it('RP-initiated logout: the same, for a copy of the cookie used elsewhere', async () => {
    const { home, cached, farAway, farAwayFresh, t0 } = await spreadSession();
    expect((await home.fetch('/_auth/logout', { method: 'POST', headers: API })).status).toBe(200);
    expect(await served(farAwayFresh)).toBe(false);
    clock.set(t0 + 1);
    expect(await served(cached)).toBe(false);
    expect(await served(farAway)).toBe(false);
  });

  it('a refresh refused by the IdP (invalid_grant) ends the session everywhere', async () => {
    const { home, farAway, farAwayFresh } = await spreadSession();
    const session = (await storedSession(home))!;
    await revokeAtIdp(session.refreshToken!);
    clock.set(session.accessTokenExpiresAt! - 30);
    expect(await served(home), 'the refresh is refused: the session ends').toBe(false);
    // farAway's copy is due for refresh too: the object answers "revoked" without asking the IdP again.
    expect(await served(farAwayFresh)).toBe(false);
    expect(await served(farAway)).toBe(false);
    expect(await idp.refreshes()).toBe(1);
  });

  it('a session that ends with its tokens (no refresh token) is marked revoked in its object', async () => {
    const home = lifecycleGateway({ OIDC_SCOPES: 'openid profile email' });
    await signInWithIdpJar(home, 'alice');
    const session = (await storedSession(home))!;
    expect(session.refreshToken).toBeUndefined();
    clock.set(session.accessTokenExpiresAt! + 1);
    expect(await served(home)).toBe(false);
    const stub = coordinatorNs.get(coordinatorNs.idFromName(await objectName(handleOf(home).id))) as DurableObjectStub<SessionCoordinator>;
    expect(await stub.check()).toEqual({ revoked: true });
  });
});

describe('KV-only (no COORDINATOR binding): the documented delay', () => {
  it('after a logout, other isolates serve the session for up to SESSION_CACHE_TTL, other locations until KV catches up', async () => {
    const { home, cached, farAway, farAwayFresh, t0 } = await spreadSession({ COORDINATOR: undefined });
    expect((await home.fetch('/_auth/logout', { method: 'POST', headers: API })).status).toBe(200);
    expect(await served(home), 'the isolate that handled the logout knows at once').toBe(false);
    clock.set(t0 + 30);
    expect(await served(cached)).toBe(true);
    expect(await served(farAway)).toBe(true);
    expect(await served(farAwayFresh)).toBe(true);
    clock.set(t0 + 61);
    expect(await served(cached), 'SESSION_CACHE_TTL (60 here) later').toBe(false);
  });
});
