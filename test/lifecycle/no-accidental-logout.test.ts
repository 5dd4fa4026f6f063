// No accidental logouts (issue 4.2): transient IdP failures keep the user in for IDP_OUTAGE_GRACE past
// expiry (and out after it, without losing the session); only invalid_grant / invalid_client end a
// session — and not when another isolate already rotated the refresh token.
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import type { EchoBody } from '../setup/protocol';
import { signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import {
  API,
  NAVIGATE,
  SESSION_COOKIE,
  clock,
  handleOf,
  idp,
  kv,
  lifecycleGateway,
  rawSession,
  revokeAtIdp,
  signInWithIdpJar,
  storedSession,
  until,
} from '../support/lifecycle';

beforeEach(() => idp.reset());
afterEach(async () => {
  clock.real();
  vi.restoreAllMocks();
  await idp.reset();
});

async function signedIn(overrides: Record<string, unknown> = {}) {
  const gw = lifecycleGateway(overrides);
  await signInWithIdpJar(gw, 'alice');
  const session = (await storedSession(gw))!;
  return { gw, session, expiry: session.accessTokenExpiresAt! };
}

async function expectServed(gw: Gateway, path = '/page') {
  const res = await gw.fetch(path, { headers: API });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(((await res.json()) as EchoBody).headers['x-user']).toBe('alice');
}

function logged(spy: { mock: { calls: unknown[][] } }, event: string): Record<string, unknown>[] {
  return spy.mock.calls.map((args) => String(args[0])).filter((line) => line.includes(`"event":"${event}"`)).map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('IdP unavailable during refresh', () => {
  it('answering 503: the user stays in within IDP_OUTAGE_GRACE (with a warning), is refused after it, and is back once the IdP recovers', async () => {
    const { gw, session, expiry } = await signedIn({ IDP_OUTAGE_GRACE: '300' });
    const stored = await rawSession(gw);
    const warn = vi.spyOn(console, 'warn');
    await idp.fault('down');

    clock.set(expiry + 10);
    await expectServed(gw);
    expect((await idp.stats()).refused).toBe(1);
    const [warning] = logged(warn, 'session_refresh_failed');
    expect(warning).toMatchObject({ level: 'warn', code: 'idp_error', expired: true, grace_left: 290 });
    expect(JSON.stringify(warn.mock.calls)).not.toContain(session.refreshToken!);

    // Other requests in the next seconds do not wait for the failing IdP again.
    clock.set(expiry + 15);
    await expectServed(gw);
    expect((await idp.stats()).refused).toBe(1);

    clock.set(expiry + 301);
    const refused = await gw.fetch('/page', { headers: API });
    expect(refused.status).toBe(502);
    expect(await refused.json()).toMatchObject({ error: 'idp_error' });
    const page = await gw.fetch('/page', { headers: NAVIGATE });
    expect(page.status).toBe(502);
    expect(page.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=`)), 'the cookie is kept').toBe(false);
    expect(await rawSession(gw), 'the session is kept for when the IdP is back').toBe(stored);

    await idp.fault('pass');
    clock.set(expiry + 320);
    await expectServed(gw);
    expect(await idp.refreshes()).toBe(1);
  });

  it('not answering within IDP_TIMEOUT: served within the grace period, 504 after it', async () => {
    const { gw, expiry } = await signedIn({ IDP_TIMEOUT: '1', IDP_OUTAGE_GRACE: '60' });
    await idp.fault('hang', 1500);
    clock.set(expiry - 20);
    await expectServed(gw);
    clock.set(expiry + 61);
    const res = await gw.fetch('/page', { headers: API });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: 'idp_timeout' });
    expect(await storedSession(gw)).not.toBeNull();
  });

  it('unreachable (connection dropped): served within the grace period, 503 after it', async () => {
    const { gw, expiry } = await signedIn({ IDP_OUTAGE_GRACE: '0' });
    await idp.fault('reset');
    clock.set(expiry - 20);
    await expectServed(gw);
    clock.set(expiry);
    const res = await gw.fetch('/page', { headers: API });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'idp_unreachable' });
  });
});

describe('the IdP refuses the refresh', () => {
  it('a revoked refresh token (invalid_grant) ends the session', async () => {
    const { gw, session, expiry } = await signedIn();
    const handle = handleOf(gw);
    await revokeAtIdp(session.refreshToken!);
    const warn = vi.spyOn(console, 'warn');
    clock.set(expiry - 30);
    const res = await gw.fetch('/page', { headers: API });
    expect(res.status).toBe(401);
    expect(logged(warn, 'session_ended')[0]).toMatchObject({ reason: 'invalid_grant' });
    expect(await rawSession(gw, handle)).toBeNull();
    const next = await gw.fetch('/page', { headers: NAVIGATE });
    expect(next.status).toBe(302);
    expect(next.headers.get('location')).toMatch(/\/auth\?/);
  });

  it('invalid_client ends the session', async () => {
    const issuer = inject('testIssuerUrl');
    const gw = gateway({ OIDC_ISSUER: issuer, OIDC_SCOPES: 'openid offline_access' });
    const { callbackResponse } = await signInWithScript(gw, {
      tokenResponse: { refresh_token: `rt-${crypto.randomUUID()}` },
      refresh: { tokenStatus: 401, tokenBody: { error: 'invalid_client', error_description: 'client authentication failed' } },
    });
    expect(callbackResponse.status).toBe(303);
    const handle = handleOf(gw);
    const session = (await storedSession(gw))!;
    clock.set(session.accessTokenExpiresAt! - 30);
    expect((await gw.fetch('/page', { headers: API })).status).toBe(401);
    expect(await rawSession(gw, handle)).toBeNull();
  });

  it('other OAuth errors (e.g. invalid_request) are treated as transient, not as a logout', async () => {
    const issuer = inject('testIssuerUrl');
    const gw = gateway({ OIDC_ISSUER: issuer, OIDC_SCOPES: 'openid offline_access' });
    await signInWithScript(gw, {
      tokenResponse: { refresh_token: `rt-${crypto.randomUUID()}` },
      refresh: { tokenStatus: 400, tokenBody: { error: 'invalid_request' } },
    });
    const session = (await storedSession(gw))!;
    clock.set(session.accessTokenExpiresAt! - 30);
    const res = await gw.fetch('/page', { headers: API });
    expect(res.status).toBe(200);
    expect(await rawSession(gw)).not.toBeNull();
  });
});

describe('refresh races', () => {
  it('invalid_grant because another isolate already rotated the token: the newer tokens from KV are used', async () => {
    // KV-only: with the coordinator the stale refresh never reaches the IdP (test/coordinator/stale-copy.test.ts).
    const { gw, expiry } = await signedIn({ COORDINATOR: undefined });
    const { id } = handleOf(gw);
    const before = (await rawSession(gw))!;
    // "The other isolate": a refresh that rotated the token and wrote the result to KV.
    clock.set(expiry - 30);
    await expectServed(gw);
    const rotated = (await rawSession(gw))!;
    const rotatedSession = (await storedSession(gw))!;
    expect(await idp.refreshes()).toBe(1);

    // This isolate's location still reads the old copy (KV propagates in ~60 s) and refreshes with the
    // old token; while that request is at the IdP, the other isolate's write arrives here.
    await kv.put(`session:${id}`, before);
    await idp.fault('hold');
    const pending = gw.fetch('/page', { headers: API });
    await until(async () => (await idp.held()) === 1, 'the stale refresh to reach the IdP');
    await kv.put(`session:${id}`, rotated);
    await idp.release();

    const res = await pending;
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as EchoBody).headers['x-user']).toBe('alice');
    expect(await idp.refreshes(), 'the stale refresh was refused (invalid_grant)').toBe(2);
    expect((await storedSession(gw))!.refreshToken, 'the rotated session is kept, not ended').toBe(rotatedSession.refreshToken);
  });

  it.each([
    ['KV-only', { COORDINATOR: undefined }],
    ['coordinated', {}],
  ])('%s: a session ended while its refresh is at the IdP is not written back', async (_mode, mode) => {
    const { gw, expiry } = await signedIn(mode);
    const handle = handleOf(gw);
    const { id } = handle;
    await idp.fault('hold');
    clock.set(expiry - 30);
    const pending = gw.fetch('/page', { headers: API });
    await until(async () => (await idp.held()) === 1, 'the refresh to reach the IdP');
    // Signed out meanwhile in another tab (another isolate with the same cookie).
    const tab = lifecycleGateway(mode);
    tab.jar.set(SESSION_COOKIE, gw.jar.get(SESSION_COOKIE)!);
    expect((await tab.fetch('/_auth/logout', { method: 'POST', headers: API })).status).toBe(200);
    await idp.release();
    expect((await pending).status).toBe(401);
    expect(await kv.get(`session:${id}`)).toBeNull();
    expect(await storedSession(gw, handle)).toBeNull();
  });
});
