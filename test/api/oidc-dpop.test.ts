// OIDC_DPOP: the gateway's own sessions' tokens are DPoP-bound at the IdP (RFC 9449). Against the real
// lifecycle IdP (oidc-provider 9, DPoP on; access tokens of the short client live 4 s, so refreshes run on
// the real clock — a DPoP proof's `iat` must be near the IdP's own time, which a faked clock is not).
import { calculateJwkThumbprint } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { forgetIdpNonces } from '../../src/oidc/dpop-client';
import type { Session } from '../../src/session/model';
import { CLIENT_SECRET, LIFECYCLE_SHORT_CLIENT_ID } from '../setup/constants';
import type { EchoBody } from '../setup/protocol';
import type { Gateway } from '../support/gateway';
import { captureLogs, type CapturedLogs } from '../support/logs';
import { API, idp, introspect, lifecycleGateway, lifecycleIssuer, rawSession, signInWithIdpJar, storedSession } from '../support/lifecycle';
import { corpIssuer, idpsGateway, signInAt, CORP, PARTNER } from '../idps/helpers';
import { apiGateway } from './helpers';
import { startSignIn } from '../support/flows';
// @ts-ignore -- plain ESM script without type declarations
import { signInAtIdp } from '../../scripts/idp-login.mjs';

let logs: CapturedLogs | undefined;
beforeEach(async () => {
  await idp.reset();
  forgetIdpNonces();
});
afterEach(() => {
  logs?.restore();
  logs = undefined;
});

const DPOP_ON = { OIDC_DPOP: 'true', OIDC_CLIENT_ID: LIFECYCLE_SHORT_CLIENT_ID };
const KV_ONLY = { COORDINATOR: undefined };

async function signedIn(overrides: Record<string, unknown> = {}): Promise<{ gw: Gateway; session: Session }> {
  const gw = lifecycleGateway({ ...DPOP_ON, ...overrides });
  await signInWithIdpJar(gw);
  return { gw, session: (await storedSession(gw))! };
}

async function jktOf(session: Session): Promise<string> {
  const { d: _private, ...publicJwk } = session.dpopKey!;
  return calculateJwkThumbprint(publicJwk);
}

async function introspectShort(token: string) {
  return introspect(token, LIFECYCLE_SHORT_CLIENT_ID);
}

/** Real time until the short client's tokens are due (half their 4 s lifetime before expiry). */
async function untilRefreshDue(session: Session): Promise<void> {
  const due = (session.accessTokenExpiresAt! - 2) * 1000 + 300;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
  expect(Date.now() / 1000, 'still before expiry: the refresh is the margin’s, not an expired token’s').toBeLessThan(session.accessTokenExpiresAt!);
}

async function echo(gw: Gateway, path = '/page'): Promise<EchoBody> {
  const res = await gw.fetch(path, { headers: API });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as EchoBody;
}

async function dpopControl(body: { nonce?: boolean; ignore?: boolean }): Promise<void> {
  const res = await fetch(`${lifecycleIssuer}/__test/dpop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

async function nonceRefusals(): Promise<number> {
  return ((await (await fetch(`${lifecycleIssuer}/__test/dpop`)).json()) as { nonceRefusals: number }).nonceRefusals;
}

describe('sign-in with OIDC_DPOP', () => {
  it('binds the access token to a key of the session’s own (cnf.jkt = its thumbprint); UserInfo answered the bound token', async () => {
    const { gw, session } = await signedIn();
    expect(session.dpopKey).toMatchObject({ kty: 'EC', crv: 'P-256', d: expect.any(String) });
    const token = await introspectShort(session.accessToken!);
    expect(token.active).toBe(true);
    expect(token['token_type']).toBe('DPoP');
    expect(token['cnf']).toEqual({ jkt: await jktOf(session) });
    // The lifecycle IdP puts email only in UserInfo (conformIdTokenClaims): it was read with a proof.
    expect(session.claims['email']).toBe('alice@example.com');
    expect((await echo(gw)).headers['x-user']).toBe('alice');

    // Another session, another key.
    const other = await signedIn();
    expect(await jktOf(other.session)).not.toBe(await jktOf(session));
  });

  it('without OIDC_DPOP: no key, Bearer tokens (unbound)', async () => {
    const gw = lifecycleGateway({ OIDC_CLIENT_ID: LIFECYCLE_SHORT_CLIENT_ID });
    await signInWithIdpJar(gw);
    const session = (await storedSession(gw))!;
    expect(session.dpopKey).toBeUndefined();
    const token = await introspectShort(session.accessToken!);
    expect(token['token_type']).toBe('Bearer');
    expect(token['cnf']).toBeUndefined();
  });

  it('an IdP that ignores the proof and answers Bearer: the sign-in is refused as the IdP’s error, no session', async () => {
    await dpopControl({ ignore: true });
    const gw = lifecycleGateway(DPOP_ON);
    const { authorizeUrl } = await startSignIn(gw, '/');
    const res = await gw.fetch(String(await signInAtIdp(authorizeUrl.href, 'alice')), { headers: API });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'idp_bad_response' });
    expect(gw.jar.get('__Host-edgegate')).toBeUndefined();
  });
});

describe.each([
  ['coordinated', {}],
  ['KV-only', KV_ONLY],
])('refresh with bound tokens (%s)', (_mode, overrides) => {
  it('every refresh carries a proof by the session’s key: the new token is bound to the same key; UserInfo re-read with it', async () => {
    const { gw, session } = await signedIn(overrides);
    const jkt = await jktOf(session);
    logs = captureLogs();
    for (let round = 1; round <= 2; round++) {
      const before = (await storedSession(gw))!;
      await untilRefreshDue(before);
      expect((await echo(gw)).headers['x-user']).toBe('alice');
      expect(await idp.refreshes()).toBe(round);
      const after = (await storedSession(gw))!;
      expect(after.accessToken).not.toBe(before.accessToken);
      expect(after.dpopKey, 'the same key for the session’s whole life').toEqual(session.dpopKey);
      const token = await introspectShort(after.accessToken!);
      expect(token['token_type']).toBe('DPoP');
      expect(token['cnf']).toEqual({ jkt });
      expect(after.claims['email']).toBe('alice@example.com');
    }
    const lines = logs.lines.join('\n');
    expect(lines, 'UserInfo was re-read after each refresh').not.toMatch(/UserInfo not re-read/);
    expect(lines).not.toMatch(/idp_bad_response|use_dpop_nonce/);
  });

  it('a refresh answered with a Bearer token is refused as the IdP’s error: the session keeps its bound token', async () => {
    const { gw, session } = await signedIn({ ...overrides, IDP_OUTAGE_GRACE: '300' });
    await untilRefreshDue(session);
    await dpopControl({ ignore: true });
    logs = captureLogs();
    const res = await gw.fetch('/page', { headers: API });
    // Within its tokens' life (and the outage grace) the request is still served.
    expect(res.status).toBe(200);
    expect(logs.lines.join('\n')).toMatch(/token_type bearer in answer to a request with a DPoP proof/);
    const after = (await storedSession(gw))!;
    expect(after.accessToken, 'the unbound answer was not stored').toBe(session.accessToken);
  });
});

describe('IdP nonces (RFC 9449 8)', () => {
  it('use_dpop_nonce is answered by one retry with the IdP’s nonce, then remembered for the isolate', async () => {
    await dpopControl({ nonce: true });
    const { gw, session } = await signedIn();
    expect(await nonceRefusals(), 'the first proof of the isolate had no nonce: refused once, then retried').toBe(1);
    expect((await introspectShort(session.accessToken!))['cnf']).toEqual({ jkt: await jktOf(session) });
    expect(session.claims['email'], 'UserInfo got the remembered nonce').toBe('alice@example.com');

    // Another session in the same isolate: its first proof already carries the nonce.
    await signedIn();
    expect(await nonceRefusals()).toBe(1);

    // And a refresh (coordinated: in the object, same isolate here).
    await untilRefreshDue(session);
    expect((await echo(gw)).headers['x-user']).toBe('alice');
    expect(await idp.refreshes()).toBe(1);
    expect(await nonceRefusals()).toBe(1);
  });

  it('a refresh whose proof lacks the nonce is retried once (KV-only)', async () => {
    const { gw, session } = await signedIn(KV_ONLY);
    await dpopControl({ nonce: true });
    forgetIdpNonces();
    await untilRefreshDue(session);
    expect((await echo(gw)).headers['x-user']).toBe('alice');
    expect(await idp.refreshes()).toBe(2);
    expect(await nonceRefusals(), 'refused once, then redeemed').toBe(1);
    const after = (await storedSession(gw))!;
    expect((await introspectShort(after.accessToken!))['cnf']).toEqual({ jkt: await jktOf(session) });
  });
});

describe('the session’s private key stays inside the encrypted session', () => {
  it('not in KV in the clear, not in any log line, not in any header the upstream receives', async () => {
    logs = captureLogs();
    const { gw, session } = await signedIn({ ROUTES: [{ path: '/**', auth: 'session', pass_id_token: true }] });
    const { d, x } = session.dpopKey!;
    const raw = (await rawSession(gw))!;
    expect(raw).not.toContain(d);
    expect(raw).not.toContain(x);
    await untilRefreshDue(session);
    const upstream = await echo(gw);
    expect(await idp.refreshes()).toBe(1);
    expect(JSON.stringify(upstream)).not.toContain(d);
    expect(JSON.stringify(upstream)).not.toContain(x);
    expect((await rawSession(gw))!).not.toContain(d);
    expect(logs.lines.length).toBeGreaterThan(0);
    for (const line of logs.lines) expect(line).not.toContain(d);
    // Nor is it in what single-page apps read about the session.
    const info = await gw.fetch('/_auth/session', { headers: API });
    expect(info.status).toBe(200);
    expect(await info.text()).not.toContain(d);
  });
});

describe('configuration', () => {
  it('OIDC_DPOP with pass_access_token on a rule sessions reach is refused by name (the upstream could not use a bound token)', async () => {
    const res = await apiGateway([{ path: '/api/**', auth: 'session', pass_access_token: 'bearer' }], { OIDC_DPOP: 'true' }).fetch('/x', { headers: API });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('ROUTES[0].pass_access_token: cannot pass on access tokens bound to the gateway');
  });

  it('OIDC_DPOP with OIDC_RESPONSE_TYPE = "id_token" is refused by name (no access token to bind)', async () => {
    const res = await apiGateway([], { OIDC_DPOP: 'true', OIDC_RESPONSE_TYPE: 'id_token' }).fetch('/x', { headers: API });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('OIDC_DPOP: needs a flow with a code');
  });

  it('OIDC_DPOP takes true or false only', async () => {
    const res = await apiGateway([], { OIDC_DPOP: 'bound' }).fetch('/x', { headers: API });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('OIDC_DPOP');
  });
});

describe('per IdP: dpop in [[vars.IDPS]]', () => {
  const corp = { ...CORP, dpop: true };

  it('sessions from the IdP with dpop = true are bound, the other IdP’s are not', async () => {
    const gw = idpsGateway([corp, PARTNER]);
    await signInAt(gw, 'corp');
    const session = (await storedSession(gw))!;
    expect(session.idp).toBe('corp');
    const res = await fetch(`${corpIssuer}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`${CORP.client_id}:${CLIENT_SECRET}`)}` },
      body: new URLSearchParams({ token: session.accessToken! }),
    });
    expect(((await res.json()) as Record<string, unknown>)['cnf']).toEqual({ jkt: await jktOf(session) });

    const other = idpsGateway([corp, PARTNER]);
    await signInAt(other, 'partner');
    const partnerSession = (await storedSession(other))!;
    expect(partnerSession.idp).toBe('partner');
    expect(partnerSession.dpopKey).toBeUndefined();
  });

  it('pass_access_token is refused only on rules that sessions of a dpop IdP reach, naming its key', async () => {
    const refused = await idpsGateway([corp, PARTNER], { ROUTES: [{ path: '/a/**', auth: 'session', pass_access_token: 'header' }] }).fetch('/x', { headers: API });
    expect(refused.status).toBe(500);
    expect(await refused.text()).toContain('IDPS[corp].dpop = true');
    const partnerOnly = idpsGateway([corp, PARTNER], { ROUTES: [{ path: '/a/**', auth: 'session', pass_access_token: 'header', idps: ['partner'] }] });
    expect((await partnerOnly.fetch('/x', { headers: API })).status).not.toBe(500);
  });
});
