// Logout from one of several IdPs ends only that IdP's sessions (docs/protocols.md "Several identity providers"),
// also of a user whose `sub` is the same at the other IdP: alice at corp and alice at partner are two
// users. Real logout tokens: the user signs out at corp or partner itself, the IdP's back-channel request
// is captured (test/setup/idps-idp.ts: corp's tokens carry the sid, partner's the sub alone) and
// delivered to the gateway as the IdP would.
import { decodeJwt } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { deliverLogoutToken, theLogoutTokenSent } from '../support/backchannel';
import type { Gateway } from '../support/gateway';
import { CORP, PARTNER, corp, corpIssuer, idpsGateway, partner, partnerIssuer, signInKeepingIdpSession, signOutAtTheIdp, type IdpJar } from './helpers';

beforeEach(async () => {
  await corp.reset();
  await partner.reset();
});

const MODES = [
  ['coordinated', {}],
  ['KV-only', { COORDINATOR: undefined }],
] as const;

interface Browser {
  gw: Gateway;
  idpJar: IdpJar;
}

/** One browser signed in at `idp` as `user`: its own gateway cookie jar and its own IdP session. */
async function browser(mode: Record<string, unknown>, idp: 'corp' | 'partner', user = 'alice'): Promise<Browser> {
  const gw = idpsGateway([CORP, PARTNER], mode);
  return { gw, idpJar: await signInKeepingIdpSession(gw, idp, user) };
}

async function signedIn(b: Browser): Promise<boolean> {
  const res = await b.gw.fetch('/page', { headers: { accept: 'application/json' }, store: false });
  await res.arrayBuffer();
  if (res.status !== 200 && res.status !== 401) throw new Error(`unexpected ${res.status}`);
  return res.status === 200;
}

/** The user signs out at the IdP itself; returns the logout token it sent the gateway. */
async function signOutAt(b: Browser, idp: 'corp' | 'partner'): Promise<string> {
  await signOutAtTheIdp(idp === 'corp' ? corpIssuer : partnerIssuer, b.idpJar);
  return theLogoutTokenSent(await (idp === 'corp' ? corp : partner).logoutTokens());
}

describe.each(MODES)('%s: logout from one IdP of several', (_mode, mode) => {
  it('back-channel by sid from corp ends alice\'s corp session; alice at partner (same sub) stays signed in', async () => {
    const aliceCorp = await browser(mode, 'corp');
    const alicePartner = await browser(mode, 'partner');
    const token = await signOutAt(aliceCorp, 'corp');
    expect(decodeJwt(token)).toMatchObject({ iss: corpIssuer, sub: 'alice', sid: expect.any(String) });

    const res = await deliverLogoutToken(aliceCorp.gw, token);
    expect(res.status).toBe(200);
    expect(await signedIn(aliceCorp)).toBe(false);
    expect(await signedIn(alicePartner), 'the same sub at another IdP is another user').toBe(true);
  });

  it('back-channel by sub alone from partner ends alice\'s partner sessions; alice at corp stays signed in', async () => {
    const aliceCorp = await browser(mode, 'corp');
    const alicePartner = await browser(mode, 'partner');
    const alicePartnerPhone = await browser(mode, 'partner');
    const token = await signOutAt(alicePartner, 'partner');
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: partnerIssuer, sub: 'alice' });
    expect(claims['sid'], 'partner names the user, not the IdP session').toBeUndefined();

    const res = await deliverLogoutToken(alicePartner.gw, token);
    expect(res.status).toBe(200);
    expect(await signedIn(alicePartner)).toBe(false);
    expect(await signedIn(alicePartnerPhone), 'every partner session of alice').toBe(false);
    expect(await signedIn(aliceCorp), 'alice at corp is not partner\'s alice').toBe(true);
  });

  it('front-channel with corp\'s iss and sid ends that corp session only; the sid under partner\'s iss ends nothing', async () => {
    const aliceCorp = await browser(mode, 'corp');
    const alicePartner = await browser(mode, 'partner');
    // corp's session id, as corp knows it: from the logout it would send (not delivered here).
    const sid = String(decodeJwt(await signOutAt(aliceCorp, 'corp'))['sid']);

    const frontchannel = (iss: string) =>
      aliceCorp.gw.fetch(`/_auth/frontchannel-logout?iss=${encodeURIComponent(iss)}&sid=${encodeURIComponent(sid)}`, { headers: { accept: 'text/html' }, cookies: false, store: false });
    const wrongIdp = await frontchannel(partnerIssuer);
    expect(wrongIdp.status).toBe(200);
    expect(wrongIdp.headers.get('content-security-policy'), 'framed by the IdP its iss names').toContain(new URL(partnerIssuer).origin);
    expect(await signedIn(aliceCorp), 'a corp sid under partner\'s iss names no session').toBe(true);

    expect((await frontchannel(corpIssuer)).status).toBe(200);
    expect(await signedIn(aliceCorp)).toBe(false);
    expect(await signedIn(alicePartner)).toBe(true);
  });
});
