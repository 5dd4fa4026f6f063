// Workers KV fails (reads, writes or deletes reject). Sign-ins and protected pages get a clear 503
// instead of a 500, nobody is let in on a session that cannot be read, public pages stay up
// (anonymously), sessions are intact once KV answers again, and logout still ends what it can.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deliverLogoutToken } from '../support/backchannel';
import { signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import type { CapturedLogs } from '../support/logs';
import { clock } from '../support/lifecycle';
import { signJwt } from '../attacks/helpers';
import { API, NAVIGATE, captureLogs, expectReadableRefusal, flakyKv, header, now, realKv, testIssuer } from './helpers';

const SESSION = '__Host-edgegate';
const ROUTES = [{ path: '/pub/**', auth: 'public' }];

let logs: CapturedLogs;
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => logs.restore());

async function signedIn(kv: ReturnType<typeof flakyKv>, overrides: Record<string, unknown> = {}): Promise<Gateway> {
  // COORDINATOR off: KV is then the only place sessions live, the case these faults are about.
  const gw = gateway({ OIDC_ISSUER: testIssuer, SESSIONS: kv.binding, ROUTES, COORDINATOR: undefined, ...overrides });
  const { callbackResponse } = await signInWithScript(gw, { idToken: { claims: { sub: 'alice' } } });
  expect(callbackResponse.status).toBe(303);
  return gw;
}

describe('KV failing', () => {
  it('reads: protected pages answer 503 (page or JSON) and let nobody in; the session is back when KV is', async () => {
    const kv = flakyKv();
    const gw = await signedIn(kv);
    kv.failing.add('get');
    await expectReadableRefusal(await gw.fetch('/app', { headers: NAVIGATE }), 503, 'session_store_unavailable', 'html');
    const api = await gw.fetch('/app', { headers: API });
    expect(api.headers.get('set-cookie'), 'the session cookie is kept for when KV is back').toBeNull();
    await expectReadableRefusal(api, 503, 'session_store_unavailable', 'json');
    expect(gw.jar.get(SESSION)).toBeTruthy();

    kv.failing.clear();
    const back = await gw.fetch('/app', { headers: NAVIGATE });
    expect(back.status).toBe(200);
    expect(header((await back.json()) as never, 'x-user')).toBe('alice');
  });

  it('reads: a public page with a session cookie is served anonymously instead of failing', async () => {
    const kv = flakyKv();
    const gw = await signedIn(kv);
    kv.failing.add('get');
    const res = await gw.fetch('/pub/page', { headers: NAVIGATE });
    expect(res.status).toBe(200);
    expect(header((await res.json()) as never, 'x-user'), 'no identity that could not be checked').toBeUndefined();
    expect(logs.lines.some((l) => l.includes('session_unreadable'))).toBe(true);
  });

  it('writes: the callback answers 503 and signs nobody in (no session cookie, the sign-in cleared)', async () => {
    const kv = flakyKv();
    const gw = gateway({ OIDC_ISSUER: testIssuer, SESSIONS: kv.binding, COORDINATOR: undefined });
    kv.failing.add('put');
    const { callbackResponse } = await signInWithScript(gw);
    const cookies = callbackResponse.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith(`${SESSION}=`) && !c.startsWith(`${SESSION}=;`))).toBe(false);
    expect(cookies.some((c) => c.includes('edgegate-tx-'))).toBe(true);
    await expectReadableRefusal(callbackResponse, 503, 'session_store_unavailable', 'html');
    kv.failing.clear();
    expect((await gw.fetch('/app', { headers: API })).status).toBe(401);
  });

  it('reads, at logout: the cookie is cleared and the session is still deleted by its id', async () => {
    const kv = flakyKv();
    const gw = await signedIn(kv);
    const id = gw.jar.get(SESSION)!.split('.')[0]!;
    expect(await realKv.get(`session:${id}`)).not.toBeNull();
    kv.failing.add('get');
    const res = await gw.fetch('/_auth/logout', { method: 'POST', headers: { ...NAVIGATE, 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(303);
    expect(gw.jar.get(SESSION)).toBeUndefined();
    expect(await realKv.get(`session:${id}`), 'gone from KV: a copied cookie no longer works').toBeNull();
  });

  it('everything, at logout: the browser is still signed out, and the operator is told the session outlives it', async () => {
    const kv = flakyKv();
    const gw = await signedIn(kv);
    for (const op of ['get', 'put', 'delete', 'list'] as const) kv.failing.add(op);
    const res = await gw.fetch('/_auth/logout', { method: 'POST', headers: { ...NAVIGATE, 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(303);
    expect(gw.jar.get(SESSION)).toBeUndefined();
    expect(logs.lines.some((l) => l.includes('logout_incomplete'))).toBe(true);
  });

  it('writes of the idle-timeout touch: the request is still served (the touch is best effort)', async () => {
    const kv = flakyKv();
    const gw = await signedIn(kv, { SESSION_IDLE_TTL: '600' }); // the touch is due every 60 s
    kv.failing.add('put');
    try {
      clock.set(Math.floor(Date.now() / 1000) + 200); // past the touch interval, within the tokens' life
      expect((await gw.fetch('/app', { headers: API })).status).toBe(200);
      expect(logs.lines.some((l) => l.includes('session_touch_failed'))).toBe(true);
    } finally {
      clock.real();
    }
  });

  it('list/get of the back-channel logout index: 400 temporarily_unavailable, the IdP may retry', async () => {
    const kv = flakyKv();
    const gw = await signedIn(kv);
    const token = await signJwt({
      header: { typ: 'logout+jwt' },
      claims: { iss: testIssuer, aud: 'edgegate-test', iat: now(), exp: now() + 120, jti: crypto.randomUUID(), events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sub: 'alice' },
    });
    kv.failing.add('list');
    kv.failing.add('get');
    const res = await deliverLogoutToken(gw, token);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('temporarily_unavailable');
  });
});
