// IdP signing keys rotate without errors (issue 4.7): a token under a new `kid` makes the gateway fetch
// the issuer's JWKS once more (oidc/jwks.ts: at most every 30 s for tokens anyone can send, at once for
// token-endpoint ID tokens — test/attacks/block-sign-ins-after-key-rotation), and then it verifies.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { CLIENT_ID } from '../setup/constants';
import { deliverLogoutToken } from '../support/backchannel';
import { createTestIssuer, signInWithScript } from '../support/flows';
import { gateway } from '../support/gateway';
import { API, clock } from '../support/lifecycle';

const root = inject('testIssuerUrl');
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

afterEach(() => clock.real());

/** How often the gateway fetched this issuer's JWKS (the test issuer logs every request). */
async function jwksFetches(issuer: string): Promise<number> {
  const log = (await (await fetch(`${root}/control/requests`)).json()) as { path: string }[];
  return log.filter((entry) => entry.path === `${new URL(issuer).pathname}/jwks`).length;
}

async function rotate(issuer: string): Promise<string> {
  const res = await fetch(`${root}/control/rotate-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ issuer }) });
  return ((await res.json()) as { kid: string }).kid;
}

describe('IdP key rotation', () => {
  it('a sign-in under a new kid after rotation triggers exactly one JWKS refetch and succeeds', async () => {
    const issuer = await createTestIssuer(root);
    const first = gateway({ OIDC_ISSUER: issuer });
    expect((await signInWithScript(first, {})).callbackResponse.status).toBe(303);
    expect(await jwksFetches(issuer)).toBe(1);

    const kid = await rotate(issuer);
    expect(kid).toMatch(/^rs-rotated-/);
    clock.set(Math.floor(Date.now() / 1000) + 31); // past the 30 s refetch cooldown (not needed for sign-ins)

    const second = gateway({ OIDC_ISSUER: issuer });
    const { callbackResponse } = await signInWithScript(second, { idToken: { sign: 'rotated' } });
    expect(callbackResponse.status, await callbackResponse.clone().text()).toBe(303);
    expect(await jwksFetches(issuer)).toBe(2);

    const third = gateway({ OIDC_ISSUER: issuer });
    expect((await signInWithScript(third, { idToken: { sign: 'rotated' } })).callbackResponse.status).toBe(303);
    expect(await jwksFetches(issuer), 'the new key is cached now').toBe(2);

    // Sessions from before the rotation keep working; their tokens are not re-verified per request.
    expect((await first.fetch('/page', { headers: API })).status).toBe(200);
    expect((await second.fetch('/page', { headers: API })).status).toBe(200);
  });

  it('a logout token signed with the rotated key is accepted', async () => {
    const issuer = await createTestIssuer(root);
    const gw = gateway({ OIDC_ISSUER: issuer });
    const sid = `sid-${crypto.randomUUID()}`;
    await signInWithScript(gw, { idToken: { claims: { sid } } });
    const kid = await rotate(issuer);
    clock.set(Math.floor(Date.now() / 1000) + 31);
    const now = Math.floor(Date.now() / 1000);
    const res = await fetch(`${root}/control/sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sign: 'rotated', claims: { iss: issuer, aud: CLIENT_ID, iat: now, exp: now + 120, jti: crypto.randomUUID(), events: { [EVENT]: {} }, sid }, header: { typ: 'logout+jwt', kid } }),
    });
    const { jwt } = (await res.json()) as { jwt: string };
    const logout = await deliverLogoutToken(gw, jwt);
    expect(logout.status, await logout.clone().text()).toBe(200);
    expect((await gw.fetch('/page', { headers: API })).status).toBe(401);
  });
});
