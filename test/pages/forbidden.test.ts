// The 403 page tells the refused user who they are signed in as, and offers both ways out without
// JavaScript: "Sign out" (a POST form to /_auth/logout) and "Sign in as someone else"
// (/_auth/login?rd=<this path>&prompt=login, which makes the IdP ask for credentials again).
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { API, NAVIGATE, signedInAs, signedInWithClaims, waysOnward } from './helpers';

describe('the 403 page', () => {
  it('says who is signed in and offers sign-out and sign-in as someone else', async () => {
    const gw = await signedInAs('bob');
    const res = await gw.fetch('/admin/reports?year=2026', { headers: NAVIGATE });
    expect(res.status).toBe(403);
    const html = await res.text();
    expect(html).toContain('<p>Signed in as Bob Builder.</p>');
    const { links, forms } = waysOnward(html);
    expect(links).toContainEqual(['/_auth/login?rd=%2Fadmin%2Freports%3Fyear%3D2026&prompt=login', 'Sign in as someone else']);
    expect(forms).toEqual([['/_auth/logout', 'Sign out']]);
    expect(html).not.toMatch(/<script/i);
  });

  it('names the user by name, else email, else their id, always escaped', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ sub: 'u-1', name: '<img src=x onerror=alert(1)>', email: 'eve@example.com' }, 'Signed in as &lt;img src=x onerror=alert(1)&gt;.'],
      [{ sub: 'u-2', email: 'dana@example.com' }, 'Signed in as dana@example.com.'],
      [{ sub: 'u-3"&' }, 'Signed in as u-3&quot;&amp;.'],
    ];
    for (const [claims, line] of cases) {
      const gw = await signedInWithClaims(claims);
      const html = await (await gw.fetch('/admin/x', { headers: NAVIGATE })).text();
      expect(html).toContain(`<p>${line}</p>`);
      expect(html).not.toContain('<img src=x');
    }
  });

  it('“Sign in as someone else” starts a sign-in at which the IdP must ask for credentials', async () => {
    const gw = await signedInAs('bob');
    const html = await (await gw.fetch('/admin/x', { headers: NAVIGATE })).text();
    const [href] = waysOnward(html).links.find(([, label]) => label === 'Sign in as someone else')!;
    const res = await gw.fetch(href, { headers: NAVIGATE });
    expect(res.status).toBe(302);
    const authorize = new URL(res.headers.get('location')!);
    expect(authorize.searchParams.get('prompt')).toBe('login');
  });

  it('“Sign out” ends the session (the form posts from this site)', async () => {
    const gw = await signedInAs('bob');
    expect((await gw.fetch('/page', { headers: NAVIGATE })).status).toBe(200);
    const out = await gw.fetch('/_auth/logout', { method: 'POST', headers: { ...NAVIGATE, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(out.status).toBe(303);
    expect((await gw.fetch('/page', { headers: NAVIGATE })).status).toBe(302);
  });

  it('lets its sign-out form go on to the IdP’s end-session endpoint (CSP form-action covers redirects), nowhere else', async () => {
    const gw = await signedInAs('bob');
    const res = await gw.fetch('/admin/x', { headers: NAVIGATE });
    const idp = new URL(String(gw.env['OIDC_ISSUER'])).origin;
    expect(res.headers.get('content-security-policy')).toContain(`form-action 'self' ${idp};`);
    const elsewhere = await gateway().fetch('/_auth/nope', { headers: NAVIGATE });
    expect(elsewhere.headers.get('content-security-policy')).toContain("form-action 'self';");
    const confirm = await gateway().fetch('/_auth/logout', { headers: { ...NAVIGATE, 'sec-fetch-site': 'cross-site' } });
    expect(confirm.headers.get('content-security-policy')).toContain(`form-action 'self' ${idp};`);
  });

  it('tells a program nothing about the user (JSON), and the log keeps the sub', async () => {
    const gw = await signedInAs('bob');
    const body = await (await gw.fetch('/admin/x', { headers: API })).text();
    expect(JSON.parse(body)).toMatchObject({ error: 'forbidden' });
    expect(body).not.toContain('Bob');
    expect(body).not.toContain('Signed in as');
  });

  it('is for users the rule refuses: alice, an admin, is forwarded', async () => {
    const gw = await signedInAs('alice');
    expect((await gw.fetch('/admin/x', { headers: NAVIGATE })).status).toBe(200);
  });
});
