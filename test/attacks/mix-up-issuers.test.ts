// RFC 9700 4.4 (mix-up): an authorization response that comes from another issuer — an attacker's IdP,
// or an honest second IdP where the same client id is registered — is refused before its code is
// redeemed anywhere, and the gateway never sends a code, a verifier or its client secret to any issuer
// but its own. Two real oidc-providers (same clients) and two test-issuer tenants.
import { describe, expect, inject, it } from 'vitest';
// @ts-ignore -- plain ESM script without type declarations
import { signInAtIdp } from '../../scripts/idp-login.mjs';
import { callback, scriptCode, startSignIn } from '../support/flows';
import { gateway } from '../support/gateway';
import { expectRefusedAt, newIssuer, requestsTo } from './helpers';

const ours = inject('idpIssuer');
const theirs = inject('idpIssuerFullClaims');

/** A code for `user` issued by `issuer` to the gateway's client id (same registration at both IdPs). */
async function codeAt(issuer: string, user = 'mallory'): Promise<string> {
  const gw = gateway({ OIDC_ISSUER: issuer });
  const { authorizeUrl } = await startSignIn(gw);
  return new URL(String(await signInAtIdp(authorizeUrl.href, user))).searchParams.get('code')!;
}

describe('an authorization response from another issuer', () => {
  it('naming that issuer in iss: refused before any token request', async () => {
    const code = await codeAt(theirs);
    const victim = gateway();
    const { state } = await startSignIn(victim);
    await expectRefusedAt(victim, await callback(victim, { code, state, iss: theirs }), 400, 'callback_invalid', [code]);
  });

  it('with iss stripped: refused (our IdP advertises the iss parameter, RFC 9207)', async () => {
    const code = await codeAt(theirs);
    const victim = gateway();
    const { state } = await startSignIn(victim);
    await expectRefusedAt(victim, await callback(victim, { code, state }), 400, 'callback_invalid', [code]);
  });

  it('with iss forged to ours: the foreign code is redeemed only at our IdP, which refuses it', async () => {
    const code = await codeAt(theirs);
    const victim = gateway();
    const { state } = await startSignIn(victim);
    await expectRefusedAt(victim, await callback(victim, { code, state, iss: ours }), 400, 'callback_invalid', [code]);
  });

  it('never reaches the other issuer: no token request, no key or UserInfo request goes there', async () => {
    const ourIssuer = await newIssuer();
    const attackerIssuer = await newIssuer();
    const victim = gateway({ OIDC_ISSUER: ourIssuer });
    for (const iss of [attackerIssuer, `${ourIssuer}/`, `${ourIssuer}x`, undefined]) {
      const { state, codeChallenge } = await startSignIn(victim);
      const code = await scriptCode(attackerIssuer, { codeChallenge: codeChallenge!, idToken: { claims: { iss: attackerIssuer } } });
      await expectRefusedAt(victim, await callback(victim, { code, state, iss }), 400, 'callback_invalid', [code]);
    }
    for (const path of ['/token', '/jwks', '/userinfo', '/.well-known/openid-configuration']) {
      expect(await requestsTo(attackerIssuer, path), path).toBe(0);
    }
    expect(await requestsTo(ourIssuer, '/token'), 'refused before redemption').toBe(0);
  });

  it('an ID token from the other issuer, delivered by our token endpoint, is refused (iss claim)', async () => {
    const ourIssuer = await newIssuer();
    const attackerIssuer = await newIssuer();
    const victim = gateway({ OIDC_ISSUER: ourIssuer });
    const { state, nonce, codeChallenge } = await startSignIn(victim);
    const code = await scriptCode(ourIssuer, { codeChallenge: codeChallenge!, idToken: { claims: { iss: attackerIssuer, nonce } } });
    await expectRefusedAt(victim, await callback(victim, { code, state, iss: ourIssuer }), 502, 'id_token_invalid', [code]);
  });
});
