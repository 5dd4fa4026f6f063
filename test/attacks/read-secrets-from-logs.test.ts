// An attacker with read access to the operator's logs (a log drain, a support ticket, a dashboard) must
// find no credential there: during a full sign-in, refresh and logout at the real IdP, and during
// attacks that put tokens and codes in front of the gateway, every line the gateway writes is one
// structured JSON object, and none carries a token, code, state, cookie value or secret — not whole,
// not in part.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-ignore -- plain ESM script without type declarations
import { createCookieJar, signInAtIdp, signOutAtIdp } from '../../scripts/idp-login.mjs';
import { CLIENT_ID, CLIENT_SECRET, LIFECYCLE_ACCESS_TTL, SESSION_SECRET } from '../setup/constants';
import { deliverLogoutToken } from '../support/backchannel';
import { callback, signInWithScript, startSignIn } from '../support/flows';
import { gateway } from '../support/gateway';
import { clock, idp, lifecycleGateway, storedSession } from '../support/lifecycle';
import { captureLogs, type CapturedLogs } from '../support/logs';
import { API, NAVIGATE, SESSION_COOKIE, now, signJwt, testIssuer } from './helpers';

let logs: CapturedLogs;
beforeEach(async () => {
  await idp.reset();
  logs = captureLogs();
});
afterEach(() => {
  logs.restore();
  clock.real();
});

/** Every line is a JSON object with level, event and time, and contains none of `secrets` (nor a 16-character piece of one). */
function expectCleanLogs(secrets: (string | undefined)[]) {
  expect(logs.lines.length).toBeGreaterThan(0);
  for (const entry of logs.entries()) {
    expect(['info', 'warn', 'error']).toContain(entry['level']);
    expect(typeof entry['event']).toBe('string');
    expect(typeof entry['time']).toBe('string');
  }
  const all = logs.lines.join('\n');
  for (const secret of secrets.filter((s): s is string => typeof s === 'string' && s.length >= 16)) {
    expect(all, `a secret (${secret.slice(0, 6)}…) in the log`).not.toContain(secret);
    for (let at = 0; at + 16 <= secret.length; at += 8) {
      const piece = secret.slice(at, at + 16);
      if (/^eyJ[A-Za-z0-9_-]*$/.test(piece) && at === 0) continue; // "eyJhbGciOiJSUzI1" is every JWT's first piece
      expect(all, `a piece of a secret (${piece.slice(0, 6)}…) in the log`).not.toContain(piece);
    }
  }
  expect(all).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}/);
}

describe('the operator’s log', () => {
  it('during a full sign-in, refresh, logout and a failed refresh at the real IdP: structured, no credential', async () => {
    const gw = lifecycleGateway();
    const idpJar = createCookieJar();
    const started = await startSignIn(gw, '/app');
    const txCookie = gw.jar.get(`${SESSION_COOKIE}-tx-${started.state.slice(0, 12)}`);
    const callbackUrl = new URL(String(await signInAtIdp(started.authorizeUrl.href, 'alice', { jar: idpJar })));
    expect((await gw.fetch(callbackUrl.href, { headers: NAVIGATE })).status).toBe(303);
    const first = (await storedSession(gw))!;
    const cookie = gw.jar.get(SESSION_COOKIE)!;
    expect((await gw.fetch('/app', { headers: NAVIGATE })).status).toBe(200);
    expect((await gw.fetch('/_auth/userinfo', { headers: API })).status).toBe(200);

    clock.set(now() + LIFECYCLE_ACCESS_TTL - 10);
    expect((await gw.fetch('/app', { headers: API })).status).toBe(200);
    const second = (await storedSession(gw))!;
    expect(second.refreshToken).not.toBe(first.refreshToken);
    // A refresh the IdP cannot answer (warning lines), then one it refuses (the session ends).
    await idp.fault('down');
    clock.set(now() + LIFECYCLE_ACCESS_TTL - 10 + LIFECYCLE_ACCESS_TTL);
    await gw.fetch('/app', { headers: API });
    await idp.fault('pass');
    clock.real();

    const logout = await gw.fetch('/_auth/logout', { method: 'POST', headers: { ...NAVIGATE, 'sec-fetch-site': 'same-origin' } });
    const back = String(await signOutAtIdp(logout.headers.get('location')!, { jar: idpJar }));
    await gw.fetch(back, { headers: NAVIGATE });

    expect(logs.lines.some((l) => l.includes('"session_refreshed"'))).toBe(true);
    expect(logs.lines.some((l) => l.includes('"session_refresh_failed"'))).toBe(true);
    expectCleanLogs([
      callbackUrl.searchParams.get('code')!, started.state, started.nonce, txCookie, cookie, cookie.split('.')[1],
      first.idToken, first.accessToken, first.refreshToken, second.idToken, second.accessToken, second.refreshToken,
      CLIENT_SECRET, SESSION_SECRET, new URL(logout.headers.get('location')!).searchParams.get('state') ?? undefined,
    ]);
  });

  it('during attacks: stolen codes, forged and misdirected tokens, logout tokens, garbage cookies', async () => {
    const secrets: (string | undefined)[] = [CLIENT_SECRET, SESSION_SECRET];
    const gw = gateway({ OIDC_ISSUER: testIssuer, API_AUDIENCE: 'https://api.example/logs', ROUTES: [{ path: '/api/**', auth: 'api' }] });

    // A code injected under a wrong iss, and a code the token endpoint refuses.
    const { state } = await startSignIn(gw);
    secrets.push(state);
    for (const iss of ['https://evil.example', testIssuer]) {
      const code = `stolen-code-${crypto.randomUUID()}`;
      secrets.push(code);
      await callback(gw, { code, state, iss });
    }
    // An ID token the gateway refuses, carrying its access token.
    const refused = await signInWithScript(gw, { accessToken: `at-${crypto.randomUUID()}`, idToken: { claims: { aud: 'someone-else' } } });
    secrets.push(refused.code);

    // Bearer tokens: genuine but for another audience, expired, forged, and an opaque one.
    for (const claims of [{ aud: 'https://other.example' }, { exp: now() - 3600 }]) {
      const token = await signJwt({ header: { typ: 'at+jwt' }, claims: { iss: testIssuer, aud: 'https://api.example/logs', sub: 'x', iat: now(), exp: now() + 60, ...claims } });
      secrets.push(token);
      await gw.fetch('/api/x', { headers: { ...API, authorization: `Bearer ${token}` } });
    }
    for (const token of [`opaque-${crypto.randomUUID()}`, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']) {
      secrets.push(token);
      await gw.fetch('/api/x', { headers: { ...API, authorization: `Bearer ${token}` } });
    }
    // Logout tokens: a forged one and a valid one.
    for (const aud of ['another-client', CLIENT_ID]) {
      const token = await signJwt({
        header: { typ: 'logout+jwt' },
        claims: { iss: testIssuer, aud, iat: now(), exp: now() + 120, jti: crypto.randomUUID(), events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sub: 'victim' },
      });
      secrets.push(token);
      await deliverLogoutToken(gw, token);
    }
    // Garbage and stolen session cookies.
    const victim = gateway({ OIDC_ISSUER: testIssuer });
    await signInWithScript(victim);
    const stolen = victim.jar.get(SESSION_COOKIE)!;
    secrets.push(stolen, stolen.split('.')[1]);
    for (const cookie of [`${SESSION_COOKIE}=${stolen}x`, `${SESSION_COOKIE}=${stolen.split('.')[0]}.${'A'.repeat(43)}`]) {
      await gw.fetch('/page', { headers: { ...NAVIGATE, cookie }, cookies: false });
    }

    expect(logs.lines.some((l) => l.includes('"request_refused"'))).toBe(true);
    expect(logs.lines.some((l) => l.includes('"backchannel_logout_rejected"'))).toBe(true);
    expectCleanLogs(secrets);
  });
});
