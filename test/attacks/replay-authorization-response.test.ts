// An attacker who captured an authorization response (the callback URL, e.g. from a proxy log or browser
// history) together with the victim's transaction cookie replays it, hoping for a second session as the
// victim. At an IdP that enforces the code's single use (RFC 6749 4.1.2) the second redemption fails
// anyway; these IdPs do not, so the gateway itself must accept each `state` once, in every response mode.
import { describe, expect, it } from 'vitest';
import { setCookies } from '../support/cookies';
import { callback, scriptCode, startSignIn } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { expectRefusedAt, newIssuer, requestsTo, SESSION_COOKIE } from './helpers';

const TX_PREFIX = '__Host-edgegate-tx-';

/** A sign-in whose code the IdP redeems as often as asked; the transaction cookie is copied before the callback. */
async function capturedSignIn(issuer: string): Promise<{ victim: Gateway; params: Record<string, string>; tx: [string, string] }> {
  const victim = gateway({ OIDC_ISSUER: issuer });
  const started = await startSignIn(victim);
  const name = victim.jar.names().find((n) => n.startsWith(TX_PREFIX))!;
  const tx: [string, string] = [name, victim.jar.get(name)!];
  const code = await scriptCode(issuer, { codeChallenge: started.codeChallenge!, reusable: true, idToken: { claims: { nonce: started.nonce, sub: 'victim' } } });
  const params = { code, state: started.state, iss: issuer };
  const first = await callback(victim, params);
  expect(first.status, await first.clone().text()).toBe(303);
  return { victim, params, tx };
}

describe('a replayed authorization response', () => {
  it('with a copy of the transaction cookie, at an IdP that redeems a code twice: refused, nobody signed in', async () => {
    const issuer = await newIssuer();
    const { params, tx } = await capturedSignIn(issuer);
    const attacker = gateway({ OIDC_ISSUER: issuer });
    attacker.jar.set(tx[0], tx[1]);
    const replay = await callback(attacker, params);
    expect(setCookies(replay).filter((c) => c.name === SESSION_COOKIE && c.value !== '')).toEqual([]);
    await expectRefusedAt(attacker, replay, 400, 'callback_invalid', [params.code!, tx[1]]);
    expect(await requestsTo(issuer, '/token'), 'the replay never reached the token endpoint').toBe(1);
  });

  it('sent twice at once: one sign-in, one refusal', async () => {
    const issuer = await newIssuer();
    const browser = gateway({ OIDC_ISSUER: issuer });
    const started = await startSignIn(browser);
    const code = await scriptCode(issuer, { codeChallenge: started.codeChallenge!, reusable: true, idToken: { claims: { nonce: started.nonce } } });
    const cookie = browser.jar.header('https://localhost/_auth/callback')!;
    const params = { code, state: started.state, iss: issuer };
    const answers = await Promise.all([callback(browser, params, { headers: { accept: 'text/html', cookie } }), callback(browser, params, { headers: { accept: 'text/html', cookie } })]);
    expect(answers.map((r) => r.status).sort()).toEqual([303, 400]);
  });
});
