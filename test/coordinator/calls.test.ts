// Durable Object calls per request type: none on public pages, at most one revocation check per
// session and isolate per second on protected requests, one for a refresh (the object redeems), one
// end per ended session; sign-in and logout add the logout index's entries (one object per entry); one
// replay check per DPoP request on an `api` rule, and none for any other request. Counted by
// src/coordinator/client.ts (coordinatorCalls()), which `npm run bench` can read the same way.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { coordinatorCalls } from '../../src/coordinator/client';
import { deliverLogoutToken } from '../support/backchannel';
import type { Gateway } from '../support/gateway';
import { API, SESSION_COOKIE, clock, idp, lifecycleGateway, signInWithIdpJar, signOutAtTheIdp, storedSession } from '../support/lifecycle';
import { ORIGIN, apiGateway, boundToken, dpopHeaders, tokensFor } from '../api/helpers';
import { callsSince, isolate } from './helpers';

const ROUTES = JSON.stringify([{ path: '/assets/**', auth: 'public' }]);

beforeEach(() => idp.reset());
afterEach(() => clock.real());

async function callsOf(run: () => Promise<unknown>) {
  const before = coordinatorCalls();
  await run();
  return callsSince(before);
}

async function ok(gw: Gateway, path: string, init: Parameters<Gateway['fetch']>[1] = {}) {
  const res = await gw.fetch(path, { headers: API, ...init });
  await res.arrayBuffer();
  expect(res.status, path).toBe(200);
}

describe('Durable Object calls per request type', () => {
  it('sign-in, protected and public requests, userinfo, refresh, logout', async () => {
    const gw = lifecycleGateway({ ROUTES });
    const signIn = await callsOf(() => signInWithIdpJar(gw, 'alice'));
    expect(signIn.index, '/_auth/callback: its sub, sid and verified-email index entries').toBe(3);
    expect(signIn.total, 'nothing else').toBe(3);

    const t = Math.floor(Date.now() / 1000);
    clock.set(t);
    expect(await callsOf(() => ok(gw, '/page')), 'first protected request: one check').toMatchObject({ check: 1, total: 1 });
    expect(await callsOf(() => ok(gw, '/page')), 'within 1 s of the last check: no check, no replay check').toMatchObject({ replay: 0, total: 0 });
    expect((await callsOf(() => ok(gw, '/assets/app.css', { cookies: false }))).total, 'public, no cookie').toBe(0);
    expect((await callsOf(() => ok(gw, '/assets/app.css'))).total, 'public with the cookie, within 1 s').toBe(0);
    clock.set(t + 1);
    expect(await callsOf(() => ok(gw, '/_auth/userinfo')), 'userinfo, a second later').toMatchObject({ check: 1, total: 1 });
    clock.set(t + 2);
    expect(await callsOf(() => ok(gw, '/assets/app.css')), 'public with the cookie, a second later').toMatchObject({ check: 1, total: 1 });

    const expiry = (await storedSession(gw))!.accessTokenExpiresAt!;
    clock.set(expiry - 30);
    expect(await callsOf(() => ok(gw, '/page')), 'the request that refreshes: the object redeems (no separate check)').toMatchObject({ refresh: 1, total: 1 });
    const other = isolate(gw.jar.get(SESSION_COOKIE)!, { ROUTES });
    expect(await callsOf(() => ok(other, '/page')), 'another isolate with the old copy: gets the result').toMatchObject({ refresh: 0, check: 1, total: 1 });

    expect(await callsOf(() => gw.fetch('/_auth/logout', { method: 'POST', headers: API })), 'logout: the end, then its index entries').toMatchObject({ end: 1, index: 3, total: 4 });
  });

  it('back-channel logout: one index lookup, one end per session it ends', async () => {
    const laptop = lifecycleGateway();
    const idpJar = await signInWithIdpJar(laptop, 'alice');
    await signOutAtTheIdp(idpJar);
    const [sent] = await idp.logoutTokens();
    const calls = await callsOf(async () => {
      const res = await deliverLogoutToken(lifecycleGateway(), sent!.logoutToken);
      expect(res.status).toBe(200);
    });
    expect(calls, 'lookup by sid, the end, its three index entries removed').toMatchObject({ end: 1, index: 4, total: 5 });
  });

  it('parallel requests that find a check due share one: a page and its assets ask the object once', async () => {
    const gw = lifecycleGateway({ ROUTES });
    await signInWithIdpJar(gw, 'alice');
    const t = Math.floor(Date.now() / 1000);
    clock.set(t);
    await ok(gw, '/page');
    clock.set(t + 2);
    const burst = await callsOf(async () => {
      const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => gw.fetch(`/page/${i}`, { headers: API })));
      for (const res of responses) expect(res.status).toBe(200);
      await Promise.all(responses.map((res) => res.arrayBuffer()));
    });
    expect(burst).toMatchObject({ check: 1, total: 1 });
  });

  it('api rules: one replay check per DPoP request (none for a replay this isolate saw, none for Bearer)', async () => {
    const routes = [{ path: '/mcp/**', auth: 'api' }];
    const { key, token, gw } = await boundToken(routes);
    const url = `${ORIGIN}/mcp/x`;
    const first = await dpopHeaders(key, token, 'GET', url);
    expect(await callsOf(() => ok(gw, url, { headers: first })), 'a DPoP request').toMatchObject({ replay: 1, total: 1 });
    const headers = await dpopHeaders(key, token, 'GET', url);
    expect(await callsOf(() => ok(gw, url, { headers })), 'the next one: one again').toMatchObject({ replay: 1, total: 1 });
    expect((await callsOf(() => gw.fetch(url, { headers }).then((r) => r.arrayBuffer()))).total, 'its replay in the same isolate: refused without a call').toBe(0);
    const { access_token: bearer } = await tokensFor();
    expect((await callsOf(() => ok(apiGateway(routes), url, { headers: { accept: 'application/json', authorization: `Bearer ${bearer}` } }))).total, 'a Bearer token').toBe(0);
  });
});
