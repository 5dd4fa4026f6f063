// UserInfo at sign-in (Core 5.3): read when the ID token lacks the profile claims the scopes asked for,
// refused when it describes another subject (5.3.2), and merged into what the upstream receives.
import { describe, expect, inject, it } from 'vitest';
import type { EchoBody } from '../setup/protocol';
import { createTestIssuer, signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { expectRefused } from '../support/assertions';

const issuer = inject('testIssuerUrl');
const SESSION = '__Host-edgegate';
const ACCESS_TOKEN_PREFIX = 'access-token-that-must-not-leak-';

/** Requests the test issuer served since `since` (its request log). */
async function issuerRequests(since = 0): Promise<{ n: number; path: string }[]> {
  return (await (await fetch(`${issuer}/control/requests?since=${since}`)).json()) as { n: number; path: string }[];
}

const accessToken = () => `${ACCESS_TOKEN_PREFIX}${crypto.randomUUID()}`;

describe('UserInfo at sign-in', () => {
  it('refuses UserInfo that describes another user (sub differs from the ID token)', async () => {
    const gw = gateway({ OIDC_ISSUER: issuer });
    const token = accessToken();
    const { callbackResponse, code } = await signInWithScript(gw, {
      accessToken: token,
      idToken: { claims: { sub: 'alice' } },
      userinfo: { sub: 'mallory', email: 'mallory@example.com', name: 'Mallory' },
    });
    await expectRefused(gw, callbackResponse, 502, 'userinfo_invalid', [code, token, 'mallory']);
  });

  it('refuses UserInfo without sub', async () => {
    const gw = gateway({ OIDC_ISSUER: issuer });
    const token = accessToken();
    const { callbackResponse, code } = await signInWithScript(gw, { accessToken: token, userinfo: { email: 'nobody@example.com' } });
    await expectRefused(gw, callbackResponse, 502, 'userinfo_invalid', [code, token]);
  });

  it('refuses the sign-in when UserInfo rejects the access token', async () => {
    const gw = gateway({ OIDC_ISSUER: issuer });
    const token = accessToken();
    const { callbackResponse, code } = await signInWithScript(gw, { accessToken: token, userinfo: null });
    await expectRefused(gw, callbackResponse, 502, 'userinfo_invalid', [code, token]);
  });

  it('merges UserInfo claims when the ID token lacks email and name, and forwards them upstream', async () => {
    const gw = gateway({ OIDC_ISSUER: issuer });
    const { callbackResponse } = await signInWithScript(gw, {
      idToken: { claims: { sub: 'ui-user' } },
      userinfo: { sub: 'ui-user', email: 'ui-user@example.com', email_verified: true, name: 'Ursula Info', groups: ['staff', 'ops'] },
    });
    expect(callbackResponse.status, await callbackResponse.clone().text()).toBe(303);

    const res = await gw.fetch('/whoami', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as EchoBody;
    expect(echo.path).toBe('/whoami');
    expect(echo.headers['x-user']).toBe('ui-user');
    expect(echo.headers['x-user-email']).toBe('ui-user@example.com');
    expect(echo.headers['x-user-name']).toBe('Ursula Info');
    expect(echo.headers['x-user-groups']).toBe('staff,ops');
  });

  it('does not call UserInfo when the ID token already carries email and name', async () => {
    const gw = gateway({ OIDC_ISSUER: issuer });
    const before = (await issuerRequests()).length;
    const { callbackResponse } = await signInWithScript(gw, {
      idToken: { claims: { sub: 'full-user', email: 'full@example.com', email_verified: true, name: 'Full Claims' } },
      userinfo: { sub: 'full-user', email: 'other@example.com' },
    });
    expect(callbackResponse.status).toBe(303);
    expect((await issuerRequests(before)).map((r) => r.path)).not.toContain('/userinfo');
    const echo = (await (await gw.fetch('/whoami', { headers: { accept: 'text/html' } })).json()) as EchoBody;
    expect(echo.headers['x-user-email']).toBe('full@example.com');
  });
});

/** A JWT signed by the test issuer's keys (or one it does not publish). */
async function signed(claims: Record<string, unknown>, sign: 'RS256' | 'ES256' | 'wrong-key'): Promise<string> {
  const res = await fetch(`${new URL(issuer).origin}/control/sign`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ claims, sign }) });
  if (!res.ok) throw new Error(`sign: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { jwt: string }).jwt;
}

describe('signed UserInfo (Core 5.3.2, application/jwt)', () => {
  /** An issuer that signs UserInfo, and a sign-in whose UserInfo answer is `jwt(issuer)`. */
  async function signInWithSignedUserInfo(sign: 'RS256' | 'ES256' | 'wrong-key', claims: Record<string, unknown> = {}) {
    const signing = await createTestIssuer(issuer, { userinfo_signing_alg_values_supported: ['RS256', 'ES256'] });
    const gw = gateway({ OIDC_ISSUER: signing });
    const token = accessToken();
    const userinfo = await signed({ iss: signing, aud: 'edgegate-test', sub: 'signed-user', email: 'signed@example.com', email_verified: true, name: 'Signe Info', ...claims }, sign);
    const { callbackResponse, code } = await signInWithScript(gw, { accessToken: token, idToken: { claims: { sub: 'signed-user' } }, userinfo });
    return { gw, callbackResponse, code, token };
  }

  for (const sign of ['RS256', 'ES256'] as const) {
    it(`accepts one signed ${sign} with the issuer's key, and forwards its claims`, async () => {
      const { gw, callbackResponse } = await signInWithSignedUserInfo(sign);
      expect(callbackResponse.status, await callbackResponse.clone().text()).toBe(303);
      const echo = (await (await gw.fetch('/whoami', { headers: { accept: 'text/html' } })).json()) as EchoBody;
      expect([echo.headers['x-user'], echo.headers['x-user-email'], echo.headers['x-user-name']]).toEqual(['signed-user', 'signed@example.com', 'Signe Info']);
    });
  }

  it('refuses one signed by a key the issuer does not publish', async () => {
    const { gw, callbackResponse, code, token } = await signInWithSignedUserInfo('wrong-key');
    await expectRefused(gw, callbackResponse, 502, 'userinfo_invalid', [code, token]);
  });

  it('refuses one from another issuer', async () => {
    const { gw, callbackResponse, code, token } = await signInWithSignedUserInfo('RS256', { iss: 'https://evil.example' });
    await expectRefused(gw, callbackResponse, 502, 'userinfo_invalid', [code, token]);
  });
});
