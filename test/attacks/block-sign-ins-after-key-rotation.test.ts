// An attacker keeps the gateway's JWKS cooldown busy — a back-channel logout token (anyone may post one)
// naming a made-up `kid` makes the gateway re-read the IdP's keys and then wait 30 s before the next
// re-read — so that when the IdP rotates its signing key, sign-ins under the new key fail with 502 until
// the cooldown ends (OpenID RP certification: rp-key-rotation-op-sign-key). An ID token the token
// endpoint answered comes from the IdP itself over TLS, so its unknown `kid` re-reads the keys at once
// (one read for concurrent sign-ins); tokens anyone can send stay bound by the cooldown.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLIENT_ID } from '../setup/constants';
import { deliverLogoutToken } from '../support/backchannel';
import { signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { newIssuer, now, requestsTo, signJwt, testIssuer } from './helpers';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

afterEach(() => {
  vi.useRealTimers();
});

async function rotate(issuer: string): Promise<string> {
  const res = await fetch(`${new URL(testIssuer).origin}/control/rotate-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ issuer }) });
  return ((await res.json()) as { kid: string }).kid;
}

async function postLogoutToken(gw: Gateway, issuer: string, kid: string): Promise<number> {
  const token = await signJwt({
    header: { kid, typ: 'logout+jwt' },
    claims: { iss: issuer, aud: CLIENT_ID, iat: now(), exp: now() + 120, jti: crypto.randomUUID(), events: { [EVENT]: {} }, sub: 'victim' },
    sign: 'wrong-key',
  });
  const res = await deliverLogoutToken(gw, token);
  await res.arrayBuffer();
  return res.status;
}

describe('sign-ins right after the IdP rotated its key, inside the JWKS cooldown', () => {
  it('succeed with one re-read of the keys; made-up kids still re-read nothing', async () => {
    const issuer = await newIssuer();
    const config = { OIDC_ISSUER: issuer };
    expect((await signInWithScript(gateway(config))).callbackResponse.status).toBe(303);
    expect(await requestsTo(issuer, '/jwks')).toBe(1);

    // Past the cooldown, the attacker's made-up kid re-reads the keys and starts a new cooldown.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 });
    const attacker = gateway(config);
    expect(await postLogoutToken(attacker, issuer, 'attacker-1')).toBe(400);
    expect(await requestsTo(issuer, '/jwks')).toBe(2);

    await rotate(issuer);
    const users = await Promise.all([signInWithScript(gateway(config), { idToken: { sign: 'rotated' } }), signInWithScript(gateway(config), { idToken: { sign: 'rotated' } })]);
    for (const { callbackResponse } of users) expect(callbackResponse.status, await callbackResponse.clone().text()).toBe(303);
    expect(await requestsTo(issuer, '/jwks'), 'one re-read for both sign-ins').toBe(3);

    // The cooldown still holds for tokens anyone can send.
    for (let i = 2; i < 12; i++) expect(await postLogoutToken(attacker, issuer, `attacker-${i}`)).toBe(400);
    expect(await requestsTo(issuer, '/jwks')).toBe(3);
  });

  it('an ID token the IdP signed with a key it does not publish is still refused, after one re-read', async () => {
    const issuer = await newIssuer();
    const config = { OIDC_ISSUER: issuer };
    expect((await signInWithScript(gateway(config))).callbackResponse.status).toBe(303);
    const { callbackResponse } = await signInWithScript(gateway(config), { idToken: { sign: 'wrong-key', header: { kid: 'never-published' } } });
    expect(callbackResponse.status).toBe(502);
    expect(await callbackResponse.text()).toContain('Error id_token_invalid');
    expect(await requestsTo(issuer, '/jwks')).toBe(2);
  });
});
