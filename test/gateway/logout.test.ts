// Logout: the session ends here first, then at the IdP (RP-initiated logout).
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { gateway } from '../support/gateway';
import { signIn } from '../support/flows';
import { API, NAVIGATE } from './helpers';

const kv = (env as unknown as { SESSIONS: KVNamespace }).SESSIONS;

describe('/_auth/logout', () => {
  it('deletes the session, clears the cookie and sends the browser to the IdP’s end_session_endpoint', async () => {
    const gw = gateway();
    await signIn(gw, { user: 'alice' });
    const [id] = gw.jar.get('__Host-edgegate')!.split('.');
    expect(await kv.get(`session:${id}`)).not.toBeNull();

    const res = await gw.fetch('/_auth/logout', { method: 'POST', headers: { ...NAVIGATE, 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin).toBe(inject('idpIssuer'));
    expect(location.searchParams.get('post_logout_redirect_uri')).toBe('https://localhost/_auth/signed-out');
    expect(location.searchParams.get('client_id')).toBe('edgegate-test');
    expect(location.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.getSetCookie().find((c) => c.startsWith('__Host-edgegate='))).toMatch(/Max-Age=0/);

    expect(await kv.get(`session:${id}`)).toBeNull();
    const after = await gw.fetch('/', { headers: API });
    expect(after.status).toBe(401);
  });

  it('is accepted by the IdP: its end_session_endpoint ends the IdP session and returns to /_auth/signed-out', async () => {
    const gw = gateway();
    await signIn(gw, { user: 'bob' });
    const res = await gw.fetch('/_auth/logout', { headers: NAVIGATE });
    const endSession = res.headers.get('location')!;
    // oidc-provider asks the browser to confirm with a form; submit it as a browser would.
    const page = await fetch(endSession, { redirect: 'manual' });
    const html = await page.text();
    const cookies = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    expect(action, html.slice(0, 300)).toBeTruthy();
    const confirm = await fetch(new URL(action!, endSession), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies },
      body: new URLSearchParams({ xsrf: xsrf ?? '', logout: 'yes' }),
    });
    expect([302, 303]).toContain(confirm.status);
    const back = confirm.headers.get('location')!;
    expect(back.startsWith('https://localhost/_auth/signed-out')).toBe(true);
    const landing = await gw.fetch(back, { headers: NAVIGATE });
    expect(landing.status).toBe(200);
    expect(await landing.text()).toContain('You are signed out');
  });

  it('without a session, still clears the cookie and lands on the signed-out page', async () => {
    const gw = gateway();
    const res = await gw.fetch('/_auth/logout', { headers: NAVIGATE });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('https://localhost/_auth/signed-out');
  });

  it('asks for confirmation instead of logging out on a cross-site request', async () => {
    const gw = gateway();
    await signIn(gw);
    const res = await gw.fetch('/_auth/logout', { headers: { ...NAVIGATE, 'sec-fetch-site': 'cross-site' } });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<form method="post" action="/_auth/logout">');
    // Still signed in.
    expect((await gw.fetch('/', { headers: API })).status).toBe(200);
  });

  it('answers JSON for API clients', async () => {
    const gw = gateway();
    await signIn(gw);
    const res = await gw.fetch('/_auth/logout', { method: 'POST', headers: API });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { signed_out: boolean; logout_url: string };
    expect(body.signed_out).toBe(true);
    // A gateway URL that a navigation follows to the IdP: the ID token never reaches page script
    // (test/attacks/read-id-token-from-logout-answer.test.ts).
    expect(body.logout_url).toMatch(/^https:\/\/localhost\/_auth\/logout\?end=/);
    const next = await gw.fetch(body.logout_url, { headers: NAVIGATE });
    expect(new URL(next.headers.get('location')!).origin).toBe(inject('idpIssuer'));
  });

  it('goes straight to the signed-out page when the IdP has no end_session_endpoint', async () => {
    const gw = gateway({ OIDC_ISSUER: inject('testIssuerUrl') });
    // A session at the test issuer: sign in through a scripted code.
    const { signInWithScript } = await import('../support/flows');
    const { callbackResponse } = await signInWithScript(gw, {});
    expect(callbackResponse.status).toBe(303);
    const res = await gw.fetch('/_auth/logout', { method: 'POST', headers: NAVIGATE });
    expect(res.headers.get('location')).toBe('https://localhost/_auth/signed-out');
  });
});
