// RFC 9700 4.5 (authorization code injection) and 4.8 (PKCE downgrade), against the real local IdP
// (oidc-provider): an attacker holding a valid code from another sign-in — the victim's, stolen, or
// their own, planted in the victim's browser — cannot turn it into a session here. The code is bound to
// the PKCE challenge of the sign-in it was issued for, the ID token to its nonce, the callback to the
// browser that started it.
import { describe, expect, inject, it } from 'vitest';
// @ts-ignore -- plain ESM script without type declarations
import { signInAtIdp } from '../../scripts/idp-login.mjs';
import { CLIENT_ID, REDIRECT_URI } from '../setup/constants';
import { callback, startSignIn } from '../support/flows';
import { gateway } from '../support/gateway';
import { API, NAVIGATE, SESSION_COOKIE, expectRefusedAt, header } from './helpers';

const idp = inject('idpIssuer');

/** Signs `user` in at the IdP for this authorization request and returns the callback URL, without giving it to the gateway. */
async function codeFor(authorizeUrl: URL, user: string): Promise<URL> {
  return new URL(String(await signInAtIdp(authorizeUrl.href, user)));
}

describe('a valid code from another session of the real IdP', () => {
  it('stolen from the victim’s sign-in and replayed in the attacker’s browser: refused, no session as the victim', async () => {
    const victim = gateway();
    const victimCallback = await codeFor((await startSignIn(victim)).authorizeUrl, 'alice');
    const stolen = victimCallback.searchParams.get('code')!;

    const attacker = gateway();
    const attackerStart = await startSignIn(attacker);
    const res = await callback(attacker, { code: stolen, state: attackerStart.state, iss: idp });
    // The gateway redeems it with the attacker's own PKCE verifier, which the IdP refuses.
    await expectRefusedAt(attacker, res, 400, 'callback_invalid', [stolen]);
    expect((await attacker.fetch('/whoami', { headers: API })).status).toBe(401);
  });

  it('stolen together with its state and replayed in the attacker’s browser: refused (no transaction there)', async () => {
    const victim = gateway();
    const victimCallback = await codeFor((await startSignIn(victim)).authorizeUrl, 'alice');
    const attacker = gateway();
    await startSignIn(attacker);
    const res = await attacker.fetch(victimCallback.href, { headers: NAVIGATE });
    await expectRefusedAt(attacker, res, 400, 'signin_state_invalid', [victimCallback.searchParams.get('code')!]);
    // And the victim, whose code was used by nobody, still completes the sign-in as herself.
    const own = await victim.fetch(victimCallback.href, { headers: NAVIGATE });
    expect(own.status).toBe(303);
    const echo = (await (await victim.fetch('/whoami', { headers: NAVIGATE })).json()) as never;
    expect(header(echo, 'x-user')).toBe('alice');
  });

  it('the attacker’s own code planted in the victim’s browser under the victim’s state: refused, the victim is not signed in as the attacker', async () => {
    const attacker = gateway();
    const attackerCode = (await codeFor((await startSignIn(attacker)).authorizeUrl, 'mallory')).searchParams.get('code')!;

    const victim = gateway();
    const victimStart = await startSignIn(victim);
    const res = await callback(victim, { code: attackerCode, state: victimStart.state, iss: idp });
    await expectRefusedAt(victim, res, 400, 'callback_invalid', [attackerCode]);
    expect(victim.jar.get(SESSION_COOKIE)).toBeUndefined();
  });

  it('PKCE downgrade: an authorization request stripped of its code_challenge gets no code from the IdP', async () => {
    // The attacker crafts the victim's authorization request with the attacker's own nonce and state,
    // but without PKCE, hoping the IdP issues a code that any verifier redeems (RFC 9700 4.8).
    const attacker = gateway();
    const { authorizeUrl, state, nonce } = await startSignIn(attacker);
    const stripped = new URL(authorizeUrl.href);
    stripped.searchParams.delete('code_challenge');
    stripped.searchParams.delete('code_challenge_method');
    expect(stripped.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(stripped.searchParams.get('nonce')).toBe(nonce);
    const response = await codeFor(stripped, 'alice');
    expect(response.origin + response.pathname).toBe(REDIRECT_URI);
    expect(response.searchParams.get('code'), 'no code without a challenge').toBeNull();
    expect(response.searchParams.get('error')).toBe('invalid_request');
    // Delivered to the attacker's browser, that answer signs nobody in.
    const res = await callback(attacker, Object.fromEntries(response.searchParams));
    expect(res.status).toBe(502);
    expect(attacker.jar.get(SESSION_COOKIE)).toBeUndefined();
    expect(state).toBe(response.searchParams.get('state'));
  });
});
