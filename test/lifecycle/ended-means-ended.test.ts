// Ended means ended, everywhere (docs/sessions.md "When a session ends"): one behaviour suite, run in both modes.
// "Another location" is a gateway whose KV view has not seen other locations' writes yet (laggingKv:
// the deletion and the tombstone are unseen until catchUp()); "another isolate" a gateway of its own.
// A session that ended is never written back by them — touch, refresh — and never served again after
// the mode's bound: the next second with the coordinator, KV's propagation without it.
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIFECYCLE_SUB_CLIENT_ID } from '../setup/constants';
import { deliverLogoutToken } from '../support/backchannel';
import type { Gateway } from '../support/gateway';
import { API, SESSION_COOKIE, clock, handleOf, idp, introspect, kv, lifecycleGateway, signInWithIdpJar, signOutAtTheIdp, storedSession, until } from '../support/lifecycle';
import { coordinatorNs, isolate, laggingKv } from '../coordinator/helpers';

beforeEach(() => idp.reset());
afterEach(async () => {
  clock.real();
  await idp.reset();
});

async function served(gw: Gateway): Promise<boolean> {
  const res = await gw.fetch('/page', { headers: API, store: false });
  await res.arrayBuffer();
  if (res.status !== 200 && res.status !== 401) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
  return res.status === 200;
}

const MODES = [
  ['KV-only', { COORDINATOR: undefined }],
  ['coordinated', {}],
] as const;

describe.each(MODES)('%s', (mode, overrides) => {
  const coordinated = mode === 'coordinated';

  /** A browser signed in at home, and an isolate at a lagging location that has served it (and holds it). */
  async function spread(extra: Record<string, unknown> = {}) {
    const home = lifecycleGateway({ ...overrides, ...extra });
    const idpJar = await signInWithIdpJar(home, 'alice');
    const cookie = home.jar.get(SESSION_COOKIE)!;
    const lagging = laggingKv();
    const farAway = isolate(cookie, { ...overrides, ...extra, SESSIONS: lagging });
    const session = (await storedSession(home))!;
    const t0 = Math.floor(Date.now() / 1000);
    clock.set(t0);
    expect(await served(farAway)).toBe(true);
    return { home, idpJar, cookie, lagging, farAway, session, t0, id: handleOf(home).id };
  }

  it('logout, then a stale location touches the session: it never comes back', async () => {
    // Touch due after 60 s (SESSION_IDLE_TTL / 10, at least 60 s); tokens live 600 s.
    const { home, lagging, farAway, t0, id } = await spread({ SESSION_IDLE_TTL: '600' });
    expect((await home.fetch('/_auth/logout', { method: 'POST', headers: API })).status).toBe(200);
    clock.set(t0 + 120);
    const stale = await served(farAway);
    if (coordinated) {
      expect(stale, 'the object refuses it there too').toBe(false);
      expect(await kv.get(`session:${id}`), 'nothing written back').toBeNull();
    }
    // Whatever that location wrote (KV-only: it could not see the tombstone yet), no one loads it again.
    expect(await served(isolate(home.jar.get(SESSION_COOKIE) ?? farAway.jar.get(SESSION_COOKIE)!, overrides)), 'a fresh isolate').toBe(false);
    expect(await storedSession(farAway), 'the tombstone keeps any copy closed').toBeNull();
    lagging.catchUp();
    clock.set(t0 + 180);
    expect(await served(farAway), 'once KV caught up there').toBe(false);
  });

  it('logout, then a stale location refreshes the session: not written back, not served, no grant kept alive', async () => {
    // An IdP without revocation at logout would let the old refresh token work: the gateway's own end must hold.
    const { home, lagging, farAway, session, t0, id } = await spread();
    expect((await home.fetch('/_auth/logout', { method: 'POST', headers: API })).status).toBe(200);
    clock.set(session.accessTokenExpiresAt! - 30); // due
    expect(await served(farAway), coordinated ? 'refused: the object knows' : 'the refresh token was revoked at logout').toBe(false);
    expect(await kv.get(`session:${id}`)).toBeNull();
    lagging.catchUp();
    expect(await served(isolate(farAway.jar.get(SESSION_COOKIE)!, overrides))).toBe(false);
    void t0;
  });

  it('back-channel logout by sub with three sessions: every one refused on its next request', async () => {
    const browsers = [];
    for (let i = 0; i < 3; i++) {
      const gw = lifecycleGateway({ ...overrides, OIDC_CLIENT_ID: LIFECYCLE_SUB_CLIENT_ID });
      const idpJar = await signInWithIdpJar(gw, 'alice');
      browsers.push({ gw, idpJar });
    }
    const bob = lifecycleGateway({ ...overrides, OIDC_CLIENT_ID: LIFECYCLE_SUB_CLIENT_ID });
    await signInWithIdpJar(bob, 'bob');
    // Each has been served by another isolate too, which holds its own copy.
    const elsewhere = browsers.map((b) => isolate(b.gw.jar.get(SESSION_COOKIE)!, { ...overrides, OIDC_CLIENT_ID: LIFECYCLE_SUB_CLIENT_ID }));
    for (const gw of elsewhere) expect(await served(gw)).toBe(true);

    await signOutAtTheIdp(browsers[0]!.idpJar);
    const [sent] = await idp.logoutTokens();
    expect(decodeJwt(sent!.logoutToken)['sid'], 'a logout token by sub alone').toBeUndefined();
    const receiver = lifecycleGateway({ ...overrides, OIDC_CLIENT_ID: LIFECYCLE_SUB_CLIENT_ID });
    const res = await deliverLogoutToken(receiver, sent!.logoutToken);
    expect(res.status).toBe(200);
    // The revocation check is trusted for 1 s per isolate: past it, every isolate asks again.
    clock.set(Math.floor(Date.now() / 1000) + 2);
    for (const b of browsers) expect(await served(b.gw)).toBe(false);
    for (const gw of elsewhere) expect(await served(gw)).toBe(false);
    expect(await served(bob), 'another user is untouched').toBe(true);
  });
});

describe('coordinated: the object redeems', () => {
  /** A COORDINATOR binding whose refresh calls reach the object, but whose caller never hears back (it died). */
  function dyingCoordinator(): DurableObjectNamespace {
    return {
      idFromName: (name: string) => coordinatorNs.idFromName(name),
      get: (id: DurableObjectId) => {
        const real = coordinatorNs.get(id) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
        return new Proxy(
          {},
          {
            get: (_t, prop: string) =>
              prop === 'refresh'
                ? (...args: unknown[]) => {
                    void real.refresh!(...args).catch(() => undefined);
                    return new Promise(() => {});
                  }
                : (...args: unknown[]) => real[prop]!(...args),
          },
        );
      },
    } as unknown as DurableObjectNamespace;
  }

  it('a refresh whose requesting worker is gone after the IdP answered: exactly one redemption, the grant intact', async () => {
    const home = lifecycleGateway();
    await signInWithIdpJar(home, 'alice');
    const cookie = home.jar.get(SESSION_COOKIE)!;
    const before = (await storedSession(home))!;
    // Another isolate that holds the session from before the refresh (its location's KV is behind).
    const late = isolate(cookie, { SESSIONS: laggingKv() });
    const t0 = Math.floor(Date.now() / 1000);
    clock.set(t0);
    expect(await served(late)).toBe(true);

    await idp.fault('hold');
    clock.set(before.accessTokenExpiresAt! - 30);
    const dying = isolate(cookie, { COORDINATOR: dyingCoordinator(), IDP_TIMEOUT: '1' });
    const abandoned = dying.fetch('/page', { headers: API, store: false });
    await until(async () => (await idp.held()) === 1, 'the object at the IdP');
    await idp.release();
    await until(async () => (await storedSession(home))?.refreshToken !== before.refreshToken, 'the object to store the result');

    expect(await served(late), 'the late copy gets the stored result').toBe(true);
    expect(await idp.refreshes(), 'one redemption overall').toBe(1);
    const after = (await storedSession(home))!;
    expect((await introspect(after.refreshToken!)).active, 'no reuse detected: the grant is intact').toBe(true);
    expect((await abandoned).status, 'the abandoned request itself was served within grace').toBe(200);
  }, 20_000);
});
