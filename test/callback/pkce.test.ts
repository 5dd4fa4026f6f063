// PKCE with S256 (RFC 7636) and the exact redirect URI: the authorization request carries a fresh
// S256 challenge, the token request the verifier that hashes to it and the very redirect_uri of the
// authorization request — so a code stolen from another sign-in cannot be redeemed in this one.
import { describe, expect, inject, it } from 'vitest';
import { CLIENT_ID, REDIRECT_URI } from '../setup/constants';
import { callback, createTestIssuer, scriptCode, signInWithScript, startSignIn, tokenRequestFor } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { expectRefused } from '../support/assertions';

const issuer = inject('testIssuerUrl');
const SESSION = '__Host-edgegate';

async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

describe('authorization request', () => {
  it('asks for the code flow with an S256 challenge, the exact redirect URI, state and nonce', async () => {
    const gw = gateway({ OIDC_ISSUER: issuer });
    const { authorizeUrl, codeChallenge, redirectUri, state, nonce } = await startSignIn(gw);
    const p = authorizeUrl.searchParams;
    expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${issuer}/authorize`);
    expect(p.get('response_type')).toBe('code');
    expect(p.get('client_id')).toBe(CLIENT_ID);
    expect(redirectUri).toBe(REDIRECT_URI);
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(codeChallenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('scope')!.split(' ')).toContain('openid');
    expect(state.length).toBeGreaterThanOrEqual(22);
    expect(nonce.length).toBeGreaterThanOrEqual(22);
  });

  it('uses a fresh challenge, state and nonce on every sign-in', async () => {
    const gw = gateway({ OIDC_ISSUER: issuer });
    const a = await startSignIn(gw);
    const b = await startSignIn(gw);
    expect(b.codeChallenge).not.toBe(a.codeChallenge);
    expect(b.state).not.toBe(a.state);
    expect(b.nonce).not.toBe(a.nonce);
  });

  it('refuses to start a sign-in at an issuer that offers only plain PKCE', async () => {
    const plainOnly = await createTestIssuer(issuer, { code_challenge_methods_supported: ['plain'] });
    const res = await gateway({ OIDC_ISSUER: plainOnly }).fetch('/_auth/login?rd=%2F', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('Error idp_bad_response');
  });
});

describe('token request', () => {
  it('sends the verifier that hashes (S256) to the challenge, and the redirect URI exactly', async () => {
    const gw = gateway({ OIDC_ISSUER: issuer });
    const { callbackResponse, code, codeChallenge, redirectUri } = await signInWithScript(gw);
    expect(callbackResponse.status).toBe(303);
    const { params } = await tokenRequestFor(issuer, code);
    expect(params.grant_type).toBe('authorization_code');
    expect(params.code).toBe(code);
    expect(params.code_verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
    expect(await s256(params.code_verifier!)).toBe(codeChallenge);
    expect(params.redirect_uri).toBe(REDIRECT_URI);
    expect(params.redirect_uri).toBe(redirectUri);
  });

  it('refuses a code injected from another sign-in (bound to another PKCE challenge)', async () => {
    // The attacker's code was issued for the attacker's own authorization request and challenge.
    const attacker = gateway({ OIDC_ISSUER: issuer });
    const attackerStart = await startSignIn(attacker);
    const stolenCode = await scriptCode(issuer, { codeChallenge: attackerStart.codeChallenge!, idToken: { claims: { sub: 'attacker' } } });

    const victim = gateway({ OIDC_ISSUER: issuer });
    const victimStart = await startSignIn(victim);
    const res = await callback(victim, { code: stolenCode, state: victimStart.state, iss: issuer });
    await expectRefused(victim, res, 400, 'callback_invalid', [stolenCode]);
    expect((await tokenRequestFor(issuer, stolenCode)).params.code_verifier).toBeTruthy();
  });
});
