// One refresh per session across the edge (issue 5.1). The lifecycle IdP is oidc-provider with
// rotateRefreshToken: a rotated refresh token presented again is treated as theft — the IdP revokes the
// whole grant (oidc-provider lib/actions/grants/refresh_token.js: "refresh token already used").
//
// The storm: a page whose access token is about to expire fires requests that land on several isolates
// at once. Each "isolate" here is its own gateway (own config → own session cache and in-isolate single
// flight), so nothing inside one isolate can hide the storm. The IdP holds every token request and lets
// them through one after another, so a second redemption is always seen as reuse.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { coordinatorCalls } from '../../src/coordinator/client';
import type { EchoBody } from '../setup/protocol';
import type { Gateway } from '../support/gateway';
import { API, SESSION_COOKIE, clock, idp, introspect, lifecycleGateway, signInWithIdpJar, storedSession, until } from '../support/lifecycle';
import { callsSince, isolate } from './helpers';

const ISOLATES = 6;

beforeEach(() => idp.reset());
afterEach(async () => {
  clock.real();
  await idp.reset();
});

/** Lets held token requests through one at a time until every request has answered. */
async function drainOneByOne(pending: Promise<Response>[]): Promise<Response[]> {
  let done = false;
  const all = Promise.all(pending).finally(() => (done = true));
  while (!done) {
    if ((await idp.held()) > 0) {
      const before = await idp.refreshes();
      await idp.releaseOne();
      await until(async () => (await idp.refreshes()) > before, 'the released refresh to be processed');
    } else {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return all;
}

/**
 * The scenario, with the expectations of issue 5: exactly one redemption, everyone served, and the
 * session keeps refreshing afterwards (the grant was not revoked). `overrides` picks the mode.
 */
async function stormAtExpiry(overrides: Record<string, unknown>) {
  const gw = lifecycleGateway(overrides);
  await signInWithIdpJar(gw, 'alice');
  const session = (await storedSession(gw))!;
  const expiry = session.accessTokenExpiresAt!;
  const isolates: Gateway[] = Array.from({ length: ISOLATES }, () => isolate(gw.jar.get(SESSION_COOKIE)!, overrides));

  // Every isolate has served this user before (warm: discovery done, session seen).
  clock.set(expiry - 120);
  for (const other of isolates) expect((await other.fetch('/warm', { headers: API })).status).toBe(200);

  clock.set(expiry + 5);
  await idp.fault('hold');
  const calls = coordinatorCalls();
  const pending = isolates.map((other, i) => other.fetch(`/asset/${i}`, { headers: API }));
  // Wait until every request is parked: at the IdP (KV-only), or one at the IdP and the rest waiting in
  // the session's object (coordinator).
  await until(async () => (await idp.held()) === ISOLATES || ((await idp.held()) === 1 && callsSince(calls).refresh === ISOLATES), 'every request to be parked');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const responses = await drainOneByOne(pending);
  await idp.fault('pass');

  for (const res of responses) {
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as EchoBody).headers['x-user']).toBe('alice');
  }
  expect(await idp.refreshes(), 'redemptions of the refresh token').toBe(1);
  const refreshed = (await storedSession(gw))!;
  expect(refreshed.refreshToken).not.toBe(session.refreshToken);
  expect((await introspect(refreshed.refreshToken!)).active, 'the grant survives: the new refresh token works').toBe(true);

  // And the session lives on: the next refresh, from any isolate, works.
  clock.set(refreshed.accessTokenExpiresAt! + 5);
  const next = await isolates[0]!.fetch('/later', { headers: API });
  expect(next.status, 'no logout at the next refresh').toBe(200);
  expect(await idp.refreshes()).toBe(2);
  return { responses, calls: callsSince(calls) };
}

describe('a refresh storm from several isolates', () => {
  it(`with the coordinator: ${ISOLATES} isolates, one redemption, everyone served, the grant intact`, async () => {
    const { calls } = await stormAtExpiry({});
    expect(calls.refresh, 'every isolate asked the session’s object (none was hidden by an in-isolate single flight)').toBeGreaterThanOrEqual(ISOLATES);
  });

  // The same test without the COORDINATOR binding fails: that is the storm issue 5 is about.
  it.fails('KV-only (no COORDINATOR binding): the same storm redeems the token repeatedly and the IdP revokes the grant', async () => {
    await stormAtExpiry({ COORDINATOR: undefined });
  });

  it('KV-only, what exactly happens: every isolate redeems the same token; reuse detection revokes the grant; the user is logged out', async () => {
    const gw = lifecycleGateway({ COORDINATOR: undefined });
    await signInWithIdpJar(gw, 'alice');
    const cookie = gw.jar.get(SESSION_COOKIE)!;
    const expiry = (await storedSession(gw))!.accessTokenExpiresAt!;
    const isolates = Array.from({ length: ISOLATES }, () => isolate(cookie, { COORDINATOR: undefined }));

    clock.set(expiry + 5);
    await idp.fault('hold');
    const pending = isolates.map((other, i) => other.fetch(`/asset/${i}`, { headers: API }));
    await until(async () => (await idp.held()) === ISOLATES, 'every isolate to be at the IdP');
    await drainOneByOne(pending);
    await idp.fault('pass');
    expect(await idp.refreshes(), 'one redemption per isolate').toBe(ISOLATES);

    // Whatever the isolates answered, the grant is gone at the IdP: no refresh token of it works.
    const stored = await storedSession(gw);
    if (stored) {
      expect((await introspect(stored.refreshToken!)).active).toBe(false);
      clock.set(stored.accessTokenExpiresAt! + 5);
    }
    const next = await gw.fetch('/later', { headers: API });
    expect(next.status, 'logged out (now, or at the next refresh)').toBe(401);
  });
});
