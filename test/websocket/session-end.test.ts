// An open WebSocket ends with its session (src/lifecycle/watch.ts): closed with 1008 within the
// propagation bound after logout, logout from the IdP (back- and front-channel), a CAEP event, a refresh the IdP
// refuses, or the session's lifetime — with the coordinator (default check every second) and KV-only.
// Real time: the watcher runs on timers, which a fake clock does not drive.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { LIFECYCLE_SHORT_CLIENT_ID, LIFECYCLE_SHORT_TTL } from '../setup/constants';
import { deliverLogoutToken } from '../support/backchannel';
import { signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { API, clock, handleOf, idp, kv, lifecycleGateway, revokeAtIdp, signInWithIdpJar, signOutAtTheIdp, storedSession, stillSignedIn } from '../support/lifecycle';
import { KvSessionStore } from '../../src/session/store';
import { deliver, issSub, SESSION_REVOKED, setClaims, signSet, ssfGateway } from '../support/ssf';
import { expectEcho, expectEndedWithin, openSocket, upstreamClosedWithin } from './helpers';

beforeEach(() => idp.reset());
afterEach(() => clock.real());

/** Default interval with the coordinator is 1 s: ended within the 1 s revocation bound plus one check. */
const COORDINATED_BOUND_MS = 2500;

function logout(gw: Gateway): Promise<Response> {
  return gw.fetch('/_auth/logout', { method: 'POST', headers: { ...API, 'sec-fetch-site': 'same-origin' } });
}

describe('a WebSocket ends with its session', () => {
  it('logout from the same browser closes it with 1008 (coordinator), on both sides', async () => {
    const gw = lifecycleGateway();
    await signInWithIdpJar(gw);
    const id = crypto.randomUUID();
    const socket = await openSocket(gw, `/ws?id=${id}`);
    await expectEcho(socket);
    await (await logout(gw)).arrayBuffer();
    await expectEndedWithin(socket, COORDINATED_BOUND_MS);
    expect(await upstreamClosedWithin(id, 1000)).toEqual({ code: 1008, reason: 'session ended' });
  });

  it('logout closes it in KV-only mode within the check interval', async () => {
    const gw = lifecycleGateway({ COORDINATOR: undefined, WEBSOCKET_CHECK_INTERVAL: '1' });
    await signInWithIdpJar(gw);
    const socket = await openSocket(gw);
    await expectEcho(socket);
    await (await logout(gw)).arrayBuffer();
    await expectEndedWithin(socket, COORDINATED_BOUND_MS);
  });

  it('a logout another isolate saw only in the coordinator (KV still holds the session here) closes it', async () => {
    const gw = lifecycleGateway();
    await signInWithIdpJar(gw);
    const handle = handleOf(gw);
    const sealed = await kv.get(`session:${handle.id}`);
    const socket = await openSocket(gw);
    await (await logout(gw)).arrayBuffer();
    // This location's KV has not seen the delete yet: only the coordinator knows.
    await kv.put(`session:${handle.id}`, sealed!);
    await expectEndedWithin(socket, COORDINATED_BOUND_MS);
  });

  it('back-channel logout closes it', async () => {
    const gw = lifecycleGateway();
    const idpJar = await signInWithIdpJar(gw);
    const socket = await openSocket(gw);
    await expectEcho(socket);
    await signOutAtTheIdp(idpJar);
    const [sent] = await idp.logoutTokens();
    const res = await deliverLogoutToken(gw, sent!.logoutToken);
    expect(res.status).toBe(200);
    await expectEndedWithin(socket, COORDINATED_BOUND_MS);
  });

  it('front-channel logout closes it', async () => {
    const issuer = inject('testIssuerUrl');
    const sid = `sid-${crypto.randomUUID()}`;
    const gw = gateway({ OIDC_ISSUER: issuer });
    expect((await signInWithScript(gw, { idToken: { claims: { sub: 'frank', sid } } })).callbackResponse.status).toBe(303);
    const socket = await openSocket(gw);
    await expectEcho(socket);
    const res = await gw.fetch(`/_auth/frontchannel-logout?${new URLSearchParams({ iss: issuer, sid })}`, { headers: { accept: 'text/html' }, cookies: false });
    expect(res.status).toBe(200);
    await expectEndedWithin(socket, COORDINATED_BOUND_MS);
  });

  it('a CAEP session-revoked event (POST /_auth/ssf) closes it', async () => {
    const gw = ssfGateway();
    await signInWithIdpJar(gw, 'alice');
    const socket = await openSocket(gw);
    await expectEcho(socket);
    const res = await deliver(gw, await signSet(setClaims(SESSION_REVOKED, issSub('alice'))));
    expect(res.status).toBe(202);
    await expectEndedWithin(socket, COORDINATED_BOUND_MS);
  });

  it('a refresh the IdP refuses at token expiry closes it (and ends the session)', async () => {
    const gw = lifecycleGateway({ OIDC_CLIENT_ID: LIFECYCLE_SHORT_CLIENT_ID });
    await signInWithIdpJar(gw);
    const session = (await storedSession(gw))!;
    const socket = await openSocket(gw);
    await expectEcho(socket);
    await revokeAtIdp(session.refreshToken!, LIFECYCLE_SHORT_CLIENT_ID);
    await expectEndedWithin(socket, LIFECYCLE_SHORT_TTL * 1000 + COORDINATED_BOUND_MS);
    expect(await stillSignedIn(gw)).toBe(false);
  });

  it('at token expiry the session is refreshed and the socket stays open', async () => {
    const gw = lifecycleGateway({ OIDC_CLIENT_ID: LIFECYCLE_SHORT_CLIENT_ID });
    await signInWithIdpJar(gw);
    const before = (await storedSession(gw))!;
    const socket = await openSocket(gw);
    await socket.stillOpenAfter(LIFECYCLE_SHORT_TTL * 1000 + 1500);
    expect(await idp.refreshes()).toBeGreaterThanOrEqual(1);
    expect((await storedSession(gw))!.accessTokenExpiresAt).toBeGreaterThan(before.accessTokenExpiresAt!);
    socket.ws.close(1000, 'done');
  });

  it('tokens the IdP cannot renew past IDP_OUTAGE_GRACE close it; the session itself is kept', async () => {
    const gw = lifecycleGateway({ OIDC_CLIENT_ID: LIFECYCLE_SHORT_CLIENT_ID, IDP_OUTAGE_GRACE: '0' });
    await signInWithIdpJar(gw);
    const socket = await openSocket(gw);
    await idp.fault('down');
    await expectEndedWithin(socket, LIFECYCLE_SHORT_TTL * 1000 + COORDINATED_BOUND_MS, /could not be renewed/);
    expect(await storedSession(gw), 'a transient IdP failure ends no session').not.toBeNull();
  });

  it('the idle timeout closes it', async () => {
    const gw = lifecycleGateway({ SESSION_IDLE_TTL: '60', SESSION_MAX_TTL: '3600' });
    await signInWithIdpJar(gw);
    const socket = await openSocket(gw);
    await expectEcho(socket);
    // Time jumps past the idle end; the watcher's timers stay real (only Date is faked).
    clock.set(Math.floor(Date.now() / 1000) + 61);
    await expectEndedWithin(socket, COORDINATED_BOUND_MS, /session expired/);
  });

  it('activity elsewhere moves the idle end: the socket is closed only at the new one', async () => {
    const gw = lifecycleGateway({ SESSION_IDLE_TTL: '60', SESSION_MAX_TTL: '3600' });
    await signInWithIdpJar(gw);
    const socket = await openSocket(gw);
    const start = Math.floor(Date.now() / 1000);
    // Another request touched the session 40 s later (as touchIfDue would write it).
    const handle = handleOf(gw);
    const session = (await storedSession(gw))!;
    const secrets = String(gw.env.SESSION_SECRET).split(',').map((s) => new TextEncoder().encode(s.trim()));
    await new KvSessionStore(kv, secrets).save(handle, { ...session, lastSeenAt: start + 40 }, 60, start);
    clock.set(start + 61);
    await socket.stillOpenAfter(2000);
    clock.set(start + 101);
    await expectEndedWithin(socket, COORDINATED_BOUND_MS, /session expired/);
  });

  it('SESSION_MAX_TTL closes it', async () => {
    const gw = lifecycleGateway({ SESSION_IDLE_TTL: '60', SESSION_MAX_TTL: '60' });
    await signInWithIdpJar(gw);
    const socket = await openSocket(gw);
    await expectEcho(socket);
    clock.set(Math.floor(Date.now() / 1000) + 61);
    await expectEndedWithin(socket, COORDINATED_BOUND_MS, /session expired/);
  });
});
