// The logout index (sid → sessions, sub → sessions): findable by the gateway, meaningless to anyone
// reading KV, bounded by the session's lifetime, and readable across SESSION_SECRET rotation. In
// KV-only mode it lives in KV (checked here key by key); with the coordinator in its index objects.
import { describe, expect, inject, it } from 'vitest';
import { CLIENT_ID } from '../setup/constants';
import { deliverLogoutToken } from '../support/backchannel';
import { signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { API, handleOf, kv } from '../support/lifecycle';

const issuer = inject('testIssuerUrl');
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

async function signedIn(overrides: Record<string, unknown>, sub: string, sid: string): Promise<Gateway> {
  const gw = gateway({ OIDC_ISSUER: issuer, ...overrides });
  const { callbackResponse } = await signInWithScript(gw, { idToken: { claims: { sub, sid } } });
  expect(callbackResponse.status).toBe(303);
  return gw;
}

async function logoutBySid(gw: Gateway, sid: string): Promise<Response> {
  const now = Math.floor(Date.now() / 1000);
  const res = await fetch(`${issuer}/control/sign`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ claims: { iss: issuer, aud: CLIENT_ID, iat: now, exp: now + 120, jti: crypto.randomUUID(), events: { [EVENT]: {} }, sid }, header: { typ: 'logout+jwt' } }),
  });
  const { jwt } = (await res.json()) as { jwt: string };
  return deliverLogoutToken(gw, jwt);
}

describe('session index', () => {
  it('reveals neither the user, the IdP session nor the gateway session it points to', async () => {
    const sub = `user-plain-${crypto.randomUUID()}`;
    const sid = `sid-plain-${crypto.randomUUID()}`;
    const gw = await signedIn({ COORDINATOR: undefined }, sub, sid);
    const { id } = handleOf(gw);
    const { keys } = await kv.list({ prefix: 'idx:' });
    const mine = keys.filter((k) => k.expiration !== undefined);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    const dump = JSON.stringify(await Promise.all(keys.map(async (k) => ({ ...k, value: await kv.get(k.name) }))));
    for (const secret of [sub, sid, id, 'user-plain', 'sid-plain']) expect(dump).not.toContain(secret);
  });

  it('expires with the session (KV expiration = SESSION_MAX_TTL from sign-in)', async () => {
    const before = new Set((await kv.list({ prefix: 'idx:' })).keys.map((k) => k.name));
    await signedIn({ COORDINATOR: undefined, SESSION_MAX_TTL: '7200', SESSION_IDLE_TTL: '3600' }, 'expiring', `sid-${crypto.randomUUID()}`);
    const added = (await kv.list({ prefix: 'idx:' })).keys.filter((k) => !before.has(k.name));
    expect(added).toHaveLength(2);
    const now = Date.now() / 1000;
    for (const key of added) {
      expect(key.expiration!).toBeGreaterThan(now + 7100);
      expect(key.expiration!).toBeLessThan(now + 7300);
    }
  });

  it.each([
    ['KV-only', { COORDINATOR: undefined }],
    ['coordinated', {}],
  ])('%s: finds sessions indexed under an older SESSION_SECRET after rotation', async (_mode, mode) => {
    const oldSecret = 'old-index-secret-0123456789-abcdefghijklmnop';
    const newSecret = 'new-index-secret-9876543210-ZYXWVUTSRQPONMLK';
    const sid = `sid-${crypto.randomUUID()}`;
    const before = await signedIn({ ...mode, SESSION_SECRET: oldSecret }, 'rotating', sid);
    const after = gateway({ ...mode, OIDC_ISSUER: issuer, SESSION_SECRET: `${newSecret},${oldSecret}` }, before.jar);
    expect((await after.fetch('/page', { headers: API })).status).toBe(200);
    expect((await logoutBySid(after, sid)).status).toBe(200);
    expect((await after.fetch('/page', { headers: API })).status).toBe(401);
  });
});
