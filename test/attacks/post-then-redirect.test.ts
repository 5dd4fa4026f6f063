// RFC 9700 4.12: a 307 or 308 after a POST makes the browser re-send the POST body — with a password
// or a code in it — to wherever the redirect points (the IdP, another site). Every redirect the gateway
// itself answers to a POST (or any other unsafe method) is a 303, which the browser follows with GET.
import { describe, expect, it } from 'vitest';
import { signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { API, NAVIGATE, testIssuer } from './helpers';

const ROUTES = [
  { path: '/pub/**', auth: 'public' },
  { path: '/api/**', auth: 'api' },
];
const FORM = { ...NAVIGATE, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' };
const GATEWAY_PATHS = ['/_auth/login?rd=%2Fx', '/_auth/callback?code=c&state=s', '/_auth/logout', '/_auth/logout?rd=%2Fx', '/_auth/signed-out', '/_auth/userinfo', '/_auth/frontchannel-logout', '/_auth/backchannel-logout', '/_auth/jwks', '/_auth/nope'];
const SITE_PATHS = ['/', '/page?x=1', '/pub/page', '/api/x'];

async function expectNo307(gw: Gateway, label: string) {
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    for (const path of [...GATEWAY_PATHS, ...SITE_PATHS]) {
      for (const headers of [FORM, { ...API, 'content-type': 'application/x-www-form-urlencoded' }]) {
        const res = await gw.fetch(path, { method, headers, body: 'password=hunter2&code=abc', store: false });
        await res.arrayBuffer();
        const what = `${label}: ${method} ${path} (${headers.accept})`;
        expect(res.status, what).not.toBe(500);
        if (res.status >= 300 && res.status < 400) expect(res.status, what).toBe(303);
      }
    }
  }
}

describe('redirects after unsafe methods', () => {
  it('without a session: every redirect the gateway answers is a 303 (or there is none)', async () => {
    await expectNo307(gateway({ OIDC_ISSUER: testIssuer, ROUTES }), 'anonymous');
  });

  it('with a session: the same, logout included', async () => {
    const gw = gateway({ OIDC_ISSUER: testIssuer, ROUTES });
    await signInWithScript(gw);
    await expectNo307(gw, 'signed in');
  });

  it('a POST to a protected page without a session is answered 401, not redirected to the IdP with its body', async () => {
    const res = await gateway({ OIDC_ISSUER: testIssuer }).fetch('/orders', { method: 'POST', headers: FORM, body: 'item=1' });
    expect(res.status).toBe(401);
    expect(res.headers.get('location')).toBeNull();
  });

  it('logout by POST answers 303 to the landing page', async () => {
    const gw = gateway({ OIDC_ISSUER: testIssuer });
    await signInWithScript(gw);
    const res = await gw.fetch('/_auth/logout', { method: 'POST', headers: FORM, body: '' });
    expect(res.status).toBe(303);
  });

  it('the upstream’s own redirects pass through unchanged (they are the site’s business)', async () => {
    const gw = gateway({ OIDC_ISSUER: testIssuer });
    await signInWithScript(gw);
    const res = await gw.fetch('/status/307', { method: 'POST', headers: FORM, body: 'a=1' });
    expect(res.status).toBe(307);
  });
});
