// Script on a page of the site (an XSS, a compromised dependency) asks `/_auth/logout` for JSON and
// reads the ID token out of `logout_url`'s `id_token_hint` — a token of the user it could replay
// wherever ID tokens are mistaken for credentials. The JSON answer carries only a gateway URL; a
// navigation to it is redirected to the IdP's end_session_endpoint with the hint, so RP-initiated
// logout keeps working, but script (fetch, XHR) never sees that redirect.
import { describe, expect, inject, it } from 'vitest';
import { gateway } from '../support/gateway';
import { signIn } from '../support/flows';
import { NAVIGATE, echoOf } from './helpers';

const idp = inject('idpIssuer');
const ROUTES = [{ path: '/whoami', auth: 'session', pass_id_token: true }];
const SCRIPT = { accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin' };

async function signedInWithIdToken() {
  const gw = gateway({ ROUTES });
  await signIn(gw, { user: 'alice' });
  const idToken = (await echoOf(await gw.fetch('/whoami', { headers: NAVIGATE }))).headers['x-forwarded-id-token'] as string;
  expect(idToken).toMatch(/^eyJ/);
  return { gw, idToken };
}

describe('the JSON answer of /_auth/logout', () => {
  it('carries no ID token, and its logout_url leads a navigation to the IdP with the hint', async () => {
    const { gw, idToken } = await signedInWithIdToken();
    const res = await gw.fetch('/_auth/logout', { method: 'POST', headers: SCRIPT });
    expect(res.status).toBe(200);
    const text = await res.text();
    const signature = idToken.split('.')[2]!;
    expect(text).not.toContain(signature);
    expect(text).not.toContain('id_token_hint');
    expect(text).not.toMatch(/eyJ[\w-]{8,}\./);
    const { signed_out, logout_url } = JSON.parse(text) as { signed_out: boolean; logout_url: string };
    expect(signed_out).toBe(true);
    expect(new URL(logout_url).origin).toBe('https://localhost');

    // Script cannot follow it: fetch/XHR get a refusal, not the redirect.
    const scripted = await gw.fetch(logout_url, { headers: SCRIPT });
    expect(scripted.status).toBe(400);
    expect(scripted.headers.get('location')).toBeNull();
    expect(await scripted.text()).not.toContain(signature);

    const navigation = await gw.fetch(logout_url, { headers: { ...NAVIGATE, 'sec-fetch-site': 'same-origin' } });
    expect(navigation.status).toBe(303);
    expect(navigation.headers.get('referrer-policy')).toBe('no-referrer');
    const location = new URL(navigation.headers.get('location')!);
    expect(location.origin).toBe(idp);
    expect(location.searchParams.get('id_token_hint')).toBe(idToken);
    expect(location.searchParams.get('client_id')).toBe('edgegate-test');
    expect(location.searchParams.get('post_logout_redirect_uri')).toBe('https://localhost/_auth/signed-out');
    expect(location.searchParams.get('state')).toBeTruthy();
  });

  it('a tampered logout_url leads nowhere but the signed-out page', async () => {
    const { gw } = await signedInWithIdToken();
    const { logout_url } = (await (await gw.fetch('/_auth/logout', { method: 'POST', headers: SCRIPT })).json()) as { logout_url: string };
    const url = new URL(logout_url);
    for (const [name, value] of url.searchParams) url.searchParams.set(name, value.slice(0, -3) + (value.endsWith('AAA') ? 'BBB' : 'AAA'));
    const res = await gw.fetch(url, { headers: { ...NAVIGATE, 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('https://localhost/_auth/signed-out');
  });
});
