// Back-Channel Logout 1.0 with real logout tokens: oidc-provider's end_session sends them to the
// client's backchannel_logout_uri; the lifecycle IdP captures them (the gateway is not reachable from
// Node) and the test delivers them to /_auth/backchannel-logout as the IdP would.
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { LIFECYCLE_CLIENT_ID, LIFECYCLE_SUB_CLIENT_ID } from '../setup/constants';
import { deliverLogoutToken, theLogoutTokenSent } from '../support/backchannel';
import type { Gateway } from '../support/gateway';
import { API, idp, lifecycleGateway, signInWithIdpJar, signOutAtTheIdp, type IdpJar } from '../support/lifecycle';

beforeEach(() => idp.reset());

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

interface Browser {
  gw: Gateway;
  idpJar: IdpJar;
}

/** One browser: its own gateway cookie jar and its own IdP session. */
async function browser(user: string, clientId = LIFECYCLE_CLIENT_ID): Promise<Browser> {
  const gw = lifecycleGateway({ OIDC_CLIENT_ID: clientId });
  const idpJar = await signInWithIdpJar(gw, user);
  return { gw, idpJar };
}

async function signedIn(b: Browser): Promise<boolean> {
  const res = await b.gw.fetch('/page', { headers: API, store: false });
  await res.arrayBuffer();
  if (res.status !== 200 && res.status !== 401) throw new Error(`unexpected ${res.status}`);
  return res.status === 200;
}

/** The user signs out at the IdP itself; returns the logout token the IdP sent to the gateway. */
async function idpLogout(b: Browser): Promise<string> {
  await signOutAtTheIdp(b.idpJar);
  return theLogoutTokenSent(await idp.logoutTokens());
}

describe('back-channel logout from oidc-provider', () => {
  it('by sid: ends exactly the session of that IdP session (200, no-store)', async () => {
    const aliceLaptop = await browser('alice');
    const alicePhone = await browser('alice');
    const bob = await browser('bob');

    const token = await idpLogout(aliceLaptop);
    expect(decodeProtectedHeader(token).typ).toBe('logout+jwt');
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: 'alice', aud: LIFECYCLE_CLIENT_ID, events: { [EVENT]: {} } });
    expect(claims['sid']).toEqual(expect.any(String));

    const res = await deliverLogoutToken(aliceLaptop.gw, token);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');

    expect(await signedIn(aliceLaptop)).toBe(false);
    expect(await signedIn(alicePhone), 'another IdP session of the same user').toBe(true);
    expect(await signedIn(bob)).toBe(true);
  });

  it('by sub alone: ends all of that user’s sessions, nobody else’s', async () => {
    const aliceLaptop = await browser('alice', LIFECYCLE_SUB_CLIENT_ID);
    const alicePhone = await browser('alice', LIFECYCLE_SUB_CLIENT_ID);
    const bob = await browser('bob', LIFECYCLE_SUB_CLIENT_ID);

    const token = await idpLogout(aliceLaptop);
    const claims = decodeJwt(token);
    expect(claims['sub']).toBe('alice');
    expect(claims['sid'], 'backchannel_logout_session_required is false').toBeUndefined();

    expect((await deliverLogoutToken(aliceLaptop.gw, token)).status).toBe(200);
    expect(await signedIn(aliceLaptop)).toBe(false);
    expect(await signedIn(alicePhone)).toBe(false);
    expect(await signedIn(bob)).toBe(true);
  });

  it('refuses the same logout token twice (jti replay), answering 400 JSON', async () => {
    const alice = await browser('alice');
    const token = await idpLogout(alice);
    expect((await deliverLogoutToken(alice.gw, token)).status).toBe(200);
    const again = await deliverLogoutToken(alice.gw, token);
    expect(again.status).toBe(400);
    expect(again.headers.get('cache-control')).toBe('no-store');
    expect(again.headers.get('content-type')).toBe('application/json');
    expect(await again.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('replayed') });
  });

  it('refuses a logout token the IdP issued to another client (aud)', async () => {
    const other = await browser('alice', LIFECYCLE_SUB_CLIENT_ID);
    const alice = await browser('alice');
    const token = await idpLogout(other);
    const res = await deliverLogoutToken(alice.gw, token);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_description: string }).error_description).toContain('(aud)');
    expect(await signedIn(alice)).toBe(true);
  });

  it('answers 200 when the session it names is already gone (logout is idempotent)', async () => {
    const alice = await browser('alice');
    await alice.gw.fetch('/_auth/logout', { method: 'POST', headers: API });
    const token = await idpLogout(alice);
    expect((await deliverLogoutToken(alice.gw, token)).status).toBe(200);
  });
});
