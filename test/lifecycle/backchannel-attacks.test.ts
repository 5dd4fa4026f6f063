// Back-Channel Logout 1.0 section 2.6, one attack per case: logout tokens forged or bent by someone who
// wants to sign a victim out (or to test what the receiver swallows). Each is refused with 400 JSON,
// `Cache-Control: no-store`, and the victim's session survives. Tokens are signed by the test issuer.
import { beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { CLIENT_ID, CLIENT_SECRET } from '../setup/constants';
import type { SignMode } from '../setup/protocol';
import { signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { stillSignedIn } from '../support/lifecycle';

const issuer = inject('testIssuerUrl');
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const now = () => Math.floor(Date.now() / 1000);

interface Forge {
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  sign?: SignMode;
  secret?: string;
}

/** A logout token for the victim (sub "victim", sid "sid-victim"), with `forge` applied (null deletes). */
async function logoutToken({ claims = {}, header = {}, sign = 'RS256', secret }: Forge = {}): Promise<string> {
  const base: Record<string, unknown> = { iss: issuer, aud: CLIENT_ID, iat: now(), exp: now() + 120, jti: crypto.randomUUID(), events: { [EVENT]: {} }, sub: 'victim', sid: 'sid-victim' };
  for (const [k, v] of Object.entries(claims)) {
    if (v === null) delete base[k];
    else base[k] = v;
  }
  const res = await fetch(`${issuer}/control/sign`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ claims: base, header: { typ: 'logout+jwt', ...header }, sign, ...(secret ? { secret } : {}) }),
  });
  return ((await res.json()) as { jwt: string }).jwt;
}

function post(gw: Gateway, body: BodyInit, contentType = 'application/x-www-form-urlencoded', method = 'POST'): Promise<Response> {
  return gw.fetch('/_auth/backchannel-logout', { method, headers: { 'content-type': contentType }, body: method === 'GET' ? null : body, cookies: false });
}

const deliver = (gw: Gateway, token: string) => post(gw, new URLSearchParams({ logout_token: token }));

async function victim(overrides: Record<string, unknown> = {}, sid = 'sid-victim'): Promise<Gateway> {
  const gw = gateway({ OIDC_ISSUER: issuer, ...overrides });
  const { callbackResponse } = await signInWithScript(gw, { idToken: { claims: { sub: 'victim', sid } } });
  expect(callbackResponse.status).toBe(303);
  return gw;
}

async function expectRefused(gw: Gateway, res: Response, reason: string) {
  expect(res.status).toBe(400);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('content-type')).toBe('application/json');
  const body = (await res.json()) as { error: string; error_description: string };
  expect(body.error).toBe('invalid_request');
  expect(body.error_description).toContain(`(${reason})`);
  expect(await stillSignedIn(gw), 'the victim is still signed in').toBe(true);
}

describe('valid logout tokens from the test issuer (control cases)', () => {
  it('sid + sub: ends the victim’s session', async () => {
    const gw = await victim();
    expect((await deliver(gw, await logoutToken())).status).toBe(200);
    expect(await stillSignedIn(gw)).toBe(false);
  });

  it('sid alone: ends the session', async () => {
    const gw = await victim();
    expect((await deliver(gw, await logoutToken({ claims: { sub: null } }))).status).toBe(200);
    expect(await stillSignedIn(gw)).toBe(false);
  });

  it('sub alone: ends the session', async () => {
    const gw = await victim();
    expect((await deliver(gw, await logoutToken({ claims: { sid: null } }))).status).toBe(200);
    expect(await stillSignedIn(gw)).toBe(false);
  });

  it('typ "JWT" (older IdPs) is accepted: events and the absent nonce already tell it from an ID token', async () => {
    const gw = await victim();
    expect((await deliver(gw, await logoutToken({ header: { typ: 'JWT' } }))).status).toBe(200);
    expect(await stillSignedIn(gw)).toBe(false);
  });

  it('no typ is accepted', async () => {
    const gw = await victim();
    expect((await deliver(gw, await logoutToken({ header: { typ: null } }))).status).toBe(200);
  });

  it('a sid with another user’s sub ends nothing (the session is not that user’s)', async () => {
    const gw = await victim();
    expect((await deliver(gw, await logoutToken({ claims: { sub: 'someone-else' } }))).status).toBe(200);
    expect(await stillSignedIn(gw)).toBe(true);
  });
});

describe('forged or bent logout tokens are refused', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await victim();
  });
  beforeEach(async () => {
    expect(await stillSignedIn(gw)).toBe(true);
  });

  const cases: [string, Forge, string][] = [
    ['signed by a key the issuer does not publish', { sign: 'wrong-key' }, 'signature'],
    ['unsigned (alg none)', { sign: 'none' }, 'alg'],
    ['HMAC-signed with the client secret (HS256)', { sign: 'HS256-with-secret', secret: CLIENT_SECRET }, 'alg'],
    ['HMAC-signed with the issuer’s public key (algorithm confusion)', { sign: 'HS256-with-public-key' }, 'alg'],
    ['naming a key id the issuer does not have', { header: { kid: 'no-such-key' } }, 'key'],
    ['from another issuer', { claims: { iss: 'https://evil.example' } }, 'iss'],
    ['from the issuer with a trailing slash', { claims: { iss: `${issuer}/` } }, 'iss'],
    ['without iss', { claims: { iss: null } }, 'iss'],
    ['for another client', { claims: { aud: 'another-rp' } }, 'aud'],
    ['without aud', { claims: { aud: null } }, 'aud'],
    ['for several audiences without azp', { claims: { aud: [CLIENT_ID, 'another-rp'] } }, 'azp'],
    ['with azp of another client', { claims: { aud: [CLIENT_ID, 'another-rp'], azp: 'another-rp' } }, 'azp'],
    ['without iat', { claims: { iat: null } }, 'iat'],
    ['issued in the future', { claims: { iat: now() + 600, exp: now() + 900 } }, 'iat'],
    ['expired', { claims: { iat: now() - 600, exp: now() - 300 } }, 'exp'],
    ['without exp', { claims: { exp: null } }, 'exp'],
    ['without jti', { claims: { jti: null } }, 'jti'],
    ['without events', { claims: { events: null } }, 'events'],
    ['with events but not the back-channel logout event', { claims: { events: { 'http://schemas.openid.net/event/other': {} } } }, 'events'],
    ['with the event’s value not a JSON object', { claims: { events: { [EVENT]: true } } }, 'events'],
    ['with the event’s value an array', { claims: { events: { [EVENT]: [] } } }, 'events'],
    ['with events as an array', { claims: { events: [EVENT] } }, 'events'],
    ['with neither sub nor sid', { claims: { sub: null, sid: null } }, 'subject'],
    ['with a non-string sub', { claims: { sub: 42 } }, 'subject'],
    ['with an empty sid', { claims: { sid: '' } }, 'subject'],
    ['with a nonce (an ID token in disguise)', { claims: { nonce: 'n-123' } }, 'nonce'],
    ['declared as another kind of JWT (typ at+jwt)', { header: { typ: 'at+jwt' } }, 'typ'],
    ['declared as a security event token (typ secevent+jwt)', { header: { typ: 'secevent+jwt' } }, 'typ'],
    ['with an unknown critical header', { header: { crit: ['x-unknown'], 'x-unknown': 1 } }, 'malformed'],
  ];
  for (const [name, forge, reason] of cases) {
    it(`${name} → 400 (${reason})`, async () => {
      await expectRefused(gw, await deliver(gw, await logoutToken(forge)), reason);
    });
  }

  it('an ID token presented as a logout token → 400', async () => {
    const idToken = await logoutToken({ claims: { events: null, jti: null, nonce: 'n-1' }, header: { typ: 'JWT' } });
    const res = await deliver(gw, idToken);
    expect(res.status).toBe(400);
    expect(await stillSignedIn(gw)).toBe(true);
  });

  it('an encrypted logout token (JWE) → 400 (encrypted)', async () => {
    await expectRefused(gw, await deliver(gw, 'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d'), 'encrypted');
  });

  it('garbage instead of a JWT → 400 (malformed)', async () => {
    await expectRefused(gw, await deliver(gw, 'not-a-jwt'), 'malformed');
    await expectRefused(gw, await deliver(gw, '!!!.???.***'), 'malformed');
  });

  it('the same valid token twice: the replay is refused while the token is valid (jti)', async () => {
    const sid = `sid-${crypto.randomUUID()}`;
    const first = await victim({}, sid);
    const token = await logoutToken({ claims: { sid, sub: null } });
    expect((await deliver(first, token)).status).toBe(200);
    expect(await stillSignedIn(first)).toBe(false);
    // The victim signs in again (same IdP session); the captured token is replayed to sign them out.
    const again = await victim({}, sid);
    await expectRefused(again, await deliver(again, token), 'replayed');
  });

  it('ES256 when OIDC_ID_TOKEN_ALGS pins RS256 → 400 (alg)', async () => {
    const pinned = await victim({ OIDC_ID_TOKEN_ALGS: 'RS256' });
    await expectRefused(pinned, await deliver(pinned, await logoutToken({ sign: 'ES256' })), 'alg');
  });
});

describe('the request itself', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await victim();
  });

  it('GET → 405 with Allow: POST', async () => {
    const res = await gw.fetch(`/_auth/backchannel-logout?logout_token=${await logoutToken()}`, { cookies: false });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await stillSignedIn(gw)).toBe(true);
  });

  it('a JSON body → 400', async () => {
    await expectRefused(gw, await post(gw, JSON.stringify({ logout_token: await logoutToken() }), 'application/json'), 'malformed');
  });

  it('no logout_token → 400', async () => {
    await expectRefused(gw, await post(gw, new URLSearchParams({ token: await logoutToken() })), 'malformed');
  });

  it('two logout_token parameters → 400', async () => {
    const body = new URLSearchParams();
    body.append('logout_token', await logoutToken());
    body.append('logout_token', await logoutToken());
    await expectRefused(gw, await post(gw, body), 'malformed');
  });

  it('an oversized body → 400', async () => {
    await expectRefused(gw, await post(gw, `logout_token=${'a'.repeat(20_000)}`), 'malformed');
  });
});
