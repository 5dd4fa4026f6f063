// GET /_auth/session: the session contract for single-page apps. Exactly
// { signed_in, sub, name, email, idp, expires_at, idle_expires_at, refresh_at }, never a token,
// Cache-Control: no-store, 401 JSON when signed out; kept fresh like /_auth/userinfo.
import { afterEach, describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { CORP, PARTNER, idpsGateway, signInAt } from '../idps/helpers';
import { signIn } from '../support/flows';
import { clock, idp, lifecycleGateway, signInWithIdpJar, storedSession } from '../support/lifecycle';

const KEYS = ['signed_in', 'sub', 'name', 'email', 'idp', 'expires_at', 'idle_expires_at', 'refresh_at'];
const FETCH = { accept: 'application/json', 'sec-fetch-mode': 'cors' } as const;

afterEach(() => clock.real());

async function sessionInfo(gw: ReturnType<typeof gateway>) {
  const res = await gw.fetch('/_auth/session', { headers: FETCH });
  const text = await res.text();
  return { res, text, body: JSON.parse(text) as Record<string, unknown> };
}

describe('GET /_auth/session', () => {
  it('signed out: 401 JSON with signed_in false and a login_url; no redirect, no cookie, no-store', async () => {
    const { res, body } = await sessionInfo(gateway());
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(body).toMatchObject({ signed_in: false, error: 'unauthenticated', login_url: '/_auth/login' });
  });

  it('signed in: exactly the contract fields, with the user’s identity and the session’s times', async () => {
    const gw = gateway();
    const before = Math.floor(Date.now() / 1000);
    await signIn(gw, { user: 'alice' });
    const { res, text, body } = await sessionInfo(gw);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(body).sort()).toEqual([...KEYS].sort());
    expect(body).toMatchObject({ signed_in: true, sub: 'alice', name: 'Alice Admin', email: 'alice@example.com', idp: 'default' });
    // No refresh token (no offline_access): the session ends with its access token (1 h at the local IdP).
    expect(body['refresh_at']).toBeNull();
    const expiresAt = body['expires_at'] as number;
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3600 - 5);
    expect(expiresAt).toBeLessThanOrEqual(before + 3600 + 30);
    // SESSION_IDLE_TTL (86400) is longer than the token: idle end is later than the session's end here.
    expect(body['idle_expires_at']).toBeGreaterThanOrEqual(before + 86_400);
    // Never a token: nothing JWT-shaped, no token field names.
    expect(text).not.toMatch(/eyJ|token/i);
  });

  it('idp names the IdP that signed the user in (IDPS)', async () => {
    const gw = idpsGateway([CORP, PARTNER]);
    await signInAt(gw, 'partner', 'bob');
    const { body } = await sessionInfo(gw);
    expect(body).toMatchObject({ signed_in: true, sub: 'bob', idp: 'partner' });
  });

  it('an unverified email is not reported (only verified addresses are identity)', async () => {
    const gw = gateway();
    await signIn(gw, { user: 'carol' });
    const { body } = await sessionInfo(gw);
    expect(body).toMatchObject({ signed_in: true, sub: 'carol', email: null });
  });

  it('after logout: 401 again', async () => {
    const gw = gateway();
    await signIn(gw);
    expect((await sessionInfo(gw)).res.status).toBe(200);
    await gw.fetch('/_auth/logout', { headers: { accept: 'application/json', 'sec-fetch-site': 'same-origin' } });
    expect((await sessionInfo(gw)).res.status).toBe(401);
  });

  it('with a refresh token: refresh_at is REFRESH_MARGIN before the access token expires, and asking refreshes when due', async () => {
    const gw = lifecycleGateway();
    await signInWithIdpJar(gw, 'alice');
    const first = (await storedSession(gw))!;
    const { body } = await sessionInfo(gw);
    expect(body['refresh_at']).toBe(first.accessTokenExpiresAt! - 60);
    expect(body['expires_at']).toBe(first.expiresAt);
    expect(body['idle_expires_at']).toBe(first.lastSeenAt + 86_400);

    await idp.reset();
    clock.set(first.accessTokenExpiresAt! - 30);
    const due = await sessionInfo(gw);
    expect(due.res.status).toBe(200);
    expect(await idp.refreshes()).toBe(1);
    const second = (await storedSession(gw))!;
    expect(second.accessTokenExpiresAt).toBeGreaterThan(first.accessTokenExpiresAt!);
    expect(due.body['refresh_at']).toBe(second.accessTokenExpiresAt! - 60);
  });

  it('a session past its tokens with nothing to renew them is over: 401', async () => {
    const gw = gateway();
    await signIn(gw);
    const { body } = await sessionInfo(gw);
    clock.set((body['expires_at'] as number) + 1);
    expect((await sessionInfo(gw)).res.status).toBe(401);
  });
});
