// ID token claims (OpenID Connect Core 3.1.3.7): iss, aud, azp, exp, iat, sub and nonce, with the
// default clock skew of 30 s. The test issuer signs every token here with its genuine, published key:
// only the claim checks stand between these tokens and a session. A rejected ID token is a 502
// `id_token_invalid`, the transaction is spent, and nothing is signed in.
import { describe, expect, inject, it } from 'vitest';
import { CLIENT_ID, CLIENT_SECRET } from '../setup/constants';
import { createTestIssuer, signInWithScript, type CodeScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { expectRefused } from '../support/assertions';

const issuer = inject('testIssuerUrl');
const SESSION = '__Host-edgegate';
const TX_PREFIX = '__Host-edgegate-tx-';
const ACCESS_TOKEN = 'access-token-that-must-not-leak-0123456789';

const now = () => Math.floor(Date.now() / 1000);

/** Signs in with an ID token carrying these claims (merged over valid defaults; null deletes). */
async function signInWithClaims(claims: Record<string, unknown>, script: CodeScript = {}) {
  const gw = gateway({ OIDC_ISSUER: issuer });
  const result = await signInWithScript(gw, { accessToken: ACCESS_TOKEN, ...script, idToken: { claims } });
  return { gw, ...result };
}

/** Refused as an invalid ID token; the single-use transaction cookie is gone too. */
async function expectIdTokenRefused(claims: Record<string, unknown>) {
  const { gw, callbackResponse, code } = await signInWithClaims(claims);
  await expectRefused(gw, callbackResponse, 502, 'id_token_invalid', [code, ACCESS_TOKEN, CLIENT_SECRET]);
  expect(gw.jar.names().filter((n) => n.startsWith(TX_PREFIX))).toEqual([]);
}

async function expectSignedIn(claims: Record<string, unknown>) {
  const { gw, callbackResponse } = await signInWithClaims(claims);
  expect(callbackResponse.status, await callbackResponse.clone().text()).toBe(303);
  expect(gw.jar.get(SESSION)).toBeTruthy();
  expect((await gw.fetch('/private', { headers: { accept: 'text/html' } })).status).toBe(200);
}

describe('ID token issuer', () => {
  it('refuses a token whose iss is another issuer (signed with the same keys)', async () => {
    await expectIdTokenRefused({ iss: await createTestIssuer(issuer) });
  });

  it('refuses a token whose iss is the issuer with characters appended', async () => {
    await expectIdTokenRefused({ iss: `${issuer}x` });
  });

  it('refuses a token whose iss is the issuer with a trailing slash', async () => {
    await expectIdTokenRefused({ iss: `${issuer}/` });
  });

  it('refuses a token without iss', async () => {
    await expectIdTokenRefused({ iss: null });
  });
});

describe('ID token audience and authorized party', () => {
  it('refuses a token issued to another client', async () => {
    await expectIdTokenRefused({ aud: 'some-other-client' });
  });

  it('refuses a token whose aud is the client id with characters appended', async () => {
    await expectIdTokenRefused({ aud: `${CLIENT_ID}x` });
  });

  it('refuses a token whose aud is a prefix of the client id', async () => {
    await expectIdTokenRefused({ aud: CLIENT_ID.slice(0, -1) });
  });

  it('refuses a token for several audiences without azp', async () => {
    await expectIdTokenRefused({ aud: [CLIENT_ID, 'some-other-client'] });
  });

  it('refuses a token for several audiences whose azp is another client', async () => {
    await expectIdTokenRefused({ aud: [CLIENT_ID, 'some-other-client'], azp: 'some-other-client' });
  });

  it('refuses a token for this client whose azp is another client', async () => {
    await expectIdTokenRefused({ azp: 'some-other-client' });
  });

  it('accepts a token for several audiences whose azp is this client', async () => {
    await expectSignedIn({ aud: [CLIENT_ID, 'some-other-client'], azp: CLIENT_ID });
  });
});

describe('ID token lifetime (clock skew 30 s)', () => {
  it('refuses a token that expired beyond the clock skew', async () => {
    await expectIdTokenRefused({ iat: now() - 400, exp: now() - 60 });
  });

  it('accepts a token that expired within the clock skew', async () => {
    await expectSignedIn({ iat: now() - 310, exp: now() - 10 });
  });

  it('refuses a token issued in the future beyond the clock skew', async () => {
    await expectIdTokenRefused({ iat: now() + 120, exp: now() + 420 });
  });

  it('refuses a token without exp', async () => {
    await expectIdTokenRefused({ exp: null });
  });

  it('refuses a token without iat', async () => {
    await expectIdTokenRefused({ iat: null });
  });

  it('refuses a token not valid before a time beyond the clock skew (nbf)', async () => {
    await expectIdTokenRefused({ nbf: now() + 120 });
  });
});

describe('ID token subject and nonce', () => {
  it('refuses a token without sub', async () => {
    await expectIdTokenRefused({ sub: null });
  });

  it('refuses a token with an empty sub', async () => {
    await expectIdTokenRefused({ sub: '' });
  });

  it('refuses a token with a non-string sub', async () => {
    await expectIdTokenRefused({ sub: 12345 });
  });

  it('refuses a token replayed from another sign-in (another nonce)', async () => {
    await expectIdTokenRefused({ nonce: 'nonce-of-another-sign-in-0123456789' });
  });

  it('refuses a token without nonce', async () => {
    await expectIdTokenRefused({ nonce: null });
  });

  it('refuses a token response without an ID token', async () => {
    const gw = gateway({ OIDC_ISSUER: issuer });
    const { callbackResponse, code } = await signInWithScript(gw, { accessToken: ACCESS_TOKEN, idToken: null });
    // Not an ID token that failed verification but a token response that breaks the protocol: also a 502.
    await expectRefused(gw, callbackResponse, 502, 'idp_bad_response', [code, ACCESS_TOKEN]);
  });
});
