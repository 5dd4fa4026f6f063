// The sign-in callback binds a response to the browser that started the sign-in: `state` must match a
// transaction cookie this browser holds (encrypted, named after the state), the transaction is used
// once, and a code redeemed once cannot be redeemed again.
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { setCookies } from '../support/cookies';
import { callback, scriptCode, signInWithScript, startSignIn, tokenRequestFor } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { expectRefused } from '../support/assertions';

const issuer = inject('testIssuerUrl');
const SESSION = '__Host-edgegate';
const TX_PREFIX = '__Host-edgegate-tx-';
const config = { OIDC_ISSUER: issuer };

const txCookies = (gw: Gateway) => gw.jar.names().filter((n) => n.startsWith(TX_PREFIX));

afterEach(() => {
  vi.useRealTimers();
});

describe('callback state and transaction binding', () => {
  it('signs in when state, transaction cookie and code belong together (baseline)', async () => {
    const gw = gateway(config);
    const { callbackResponse } = await signInWithScript(gw, {}, { rd: '/after?x=1' });
    expect(callbackResponse.status).toBe(303);
    expect(callbackResponse.headers.get('location')).toBe('/after?x=1');
    expect(gw.jar.get(SESSION)).toBeTruthy();
    expect(txCookies(gw)).toEqual([]);
    const next = await gw.fetch('/private', { headers: { accept: 'text/html' } });
    expect(next.status).toBe(200);
  });

  it('refuses a callback whose state parameter was stripped', async () => {
    const gw = gateway(config);
    const { callbackResponse, code } = await signInWithScript(gw, {}, { callbackParams: { state: undefined } });
    await expectRefused(gw, callbackResponse, 400, 'signin_state_invalid', [code]);
    // The code was never redeemed.
    await expect(tokenRequestFor(issuer, code)).rejects.toThrow(/404/);
  });

  it('refuses a callback carrying the state parameter twice', async () => {
    const gw = gateway(config);
    const started = await startSignIn(gw);
    const code = await scriptCode(issuer, { codeChallenge: started.codeChallenge! });
    const res = await gw.fetch(`/_auth/callback?code=${code}&state=${started.state}&state=${started.state}&iss=${encodeURIComponent(issuer)}`, {
      headers: { accept: 'text/html' },
    });
    await expectRefused(gw, res, 400, 'signin_state_invalid', [code]);
  });

  it('refuses a state made up by the attacker', async () => {
    const gw = gateway(config);
    const { callbackResponse, code } = await signInWithScript(gw, {}, { callbackParams: { state: 'attacker-chosen-state-value-0123456789' } });
    await expectRefused(gw, callbackResponse, 400, 'signin_state_invalid', [code]);
  });

  it('refuses the attacker’s own callback URL opened in the victim’s browser (login CSRF: no transaction cookie)', async () => {
    const attacker = gateway(config);
    const started = await startSignIn(attacker);
    const code = await scriptCode(issuer, { codeChallenge: started.codeChallenge!, idToken: { claims: { nonce: started.nonce, sub: 'attacker' } } });
    const victim = gateway(config); // a fresh jar: another browser
    const res = await callback(victim, { code, state: started.state, iss: issuer });
    await expectRefused(victim, res, 400, 'signin_state_invalid', [code]);
    await expect(tokenRequestFor(issuer, code)).rejects.toThrow(/404/);
  });

  it('refuses a tampered transaction cookie', async () => {
    const gw = gateway(config);
    const started = await startSignIn(gw);
    const [name] = txCookies(gw);
    const value = gw.jar.get(name!)!;
    const flipped = value.slice(0, 20) + (value[20] === 'A' ? 'B' : 'A') + value.slice(21);
    gw.jar.set(name!, flipped);
    const code = await scriptCode(issuer, { codeChallenge: started.codeChallenge!, idToken: { claims: { nonce: started.nonce } } });
    const res = await callback(gw, { code, state: started.state, iss: issuer });
    await expectRefused(gw, res, 400, 'signin_state_invalid', [code]);
  });

  it('refuses a genuine transaction cookie renamed to match another state', async () => {
    const gw = gateway(config);
    const first = await startSignIn(gw);
    const firstName = txCookies(gw).find((n) => n === `${TX_PREFIX}${first.state.slice(0, 12)}`)!;
    const firstValue = gw.jar.get(firstName)!;
    const other = gateway(config);
    const second = await startSignIn(other);
    // The victim's browser holds only the first transaction, under the name the attacker's state maps to.
    const victim = gateway(config);
    victim.jar.set(`${TX_PREFIX}${second.state.slice(0, 12)}`, firstValue);
    const code = await scriptCode(issuer, { codeChallenge: first.codeChallenge!, idToken: { claims: { nonce: first.nonce } } });
    const res = await callback(victim, { code, state: second.state, iss: issuer });
    await expectRefused(victim, res, 400, 'signin_state_invalid', [code]);
  });

  it('refuses a callback replayed in the same browser after it signed in, without redeeming the code again', async () => {
    const gw = gateway(config);
    const { callbackResponse, code, state } = await signInWithScript(gw);
    expect(callbackResponse.status).toBe(303);
    const firstRedemption = await tokenRequestFor(issuer, code);
    const session = gw.jar.get(SESSION);

    const replay = await callback(gw, { code, state, iss: issuer });
    const body = await replay.text();
    expect(replay.status).toBe(400);
    expect(body).toContain('Error signin_state_invalid');
    expect(body).not.toContain(code);
    expect(setCookies(replay).filter((c) => c.name === SESSION)).toEqual([]); // no new session
    expect(gw.jar.get(SESSION)).toBe(session);
    expect((await tokenRequestFor(issuer, code)).at).toBe(firstRedemption.at);
  });

  it('refuses a callback replayed with a copy of the transaction cookie (the code is single-use)', async () => {
    const gw = gateway(config);
    const started = await startSignIn(gw);
    const [txName] = txCookies(gw);
    const txValue = gw.jar.get(txName!)!;
    const code = await scriptCode(issuer, { codeChallenge: started.codeChallenge!, idToken: { claims: { nonce: started.nonce } } });
    expect((await callback(gw, { code, state: started.state, iss: issuer })).status).toBe(303);

    const thief = gateway(config);
    thief.jar.set(txName!, txValue);
    const replay = await callback(thief, { code, state: started.state, iss: issuer });
    await expectRefused(thief, replay, 400, 'callback_invalid', [code, txValue]);
    expect(thief.jar.names().filter((n) => n.startsWith(TX_PREFIX))).toEqual([]);
  });

  it('replaces a session cookie the attacker planted before the victim signed in (session fixation)', async () => {
    const attacker = gateway(config);
    expect((await signInWithScript(attacker, { idToken: { claims: { sub: 'attacker' } } })).callbackResponse.status).toBe(303);
    const planted = attacker.jar.get(SESSION)!;

    const victim = gateway(config);
    victim.jar.set(SESSION, planted);
    expect((await signInWithScript(victim, { idToken: { claims: { sub: 'victim' } } })).callbackResponse.status).toBe(303);
    expect(victim.jar.get(SESSION)).toBeTruthy();
    expect(victim.jar.get(SESSION)).not.toBe(planted);

    // The planted id does not lead to the victim's session (it was ended at sign-in).
    const res = await attacker.fetch('/whoami', { headers: { accept: 'text/html' }, store: false });
    expect(res.status).toBe(302);
  });

  it('refuses a transaction older than ten minutes', async () => {
    const gw = gateway(config);
    const started = await startSignIn(gw);
    const code = await scriptCode(issuer, { codeChallenge: started.codeChallenge!, idToken: { claims: { nonce: started.nonce } } });
    // Cookies read before the clock moves: the test's jar would drop the expired cookie itself.
    const cookie = gw.jar.header('https://localhost/_auth/callback');
    expect(cookie).toContain(TX_PREFIX);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 601_000 });
    const res = await callback(gw, { code, state: started.state, iss: issuer }, { headers: { accept: 'text/html', cookie } });
    vi.useRealTimers();
    await expectRefused(gw, res, 400, 'signin_state_invalid', [code]);
  });
});
