// Front-Channel Logout 1.0: the IdP's logout page loads /_auth/frontchannel-logout?iss=…&sid=… in an
// iframe. `iss` must be our issuer and `sid` the session's; the answer is a tiny no-store page that
// only the IdP may frame. (oidc-provider 9 dropped front-channel logout, so sessions come from the
// scriptable test issuer with a known `sid`.)
import { describe, expect, inject, it } from 'vitest';
import { signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { SESSION_COOKIE, stillSignedIn } from '../support/lifecycle';

const issuer = inject('testIssuerUrl');

async function signedIn(sid: string, sub = 'frank'): Promise<Gateway> {
  const gw = gateway({ OIDC_ISSUER: issuer });
  const { callbackResponse } = await signInWithScript(gw, { idToken: { claims: { sub, sid } } });
  expect(callbackResponse.status).toBe(303);
  return gw;
}

const frontchannel = (gw: Gateway, query: string, cookies = true) => gw.fetch(`/_auth/frontchannel-logout?${query}`, { headers: { accept: 'text/html' }, cookies });

describe('/_auth/frontchannel-logout', () => {
  it('ends the session whose sid matches, in a small no-store page only the IdP may frame', async () => {
    const sid = `sid-${crypto.randomUUID()}`;
    const gw = await signedIn(sid);
    const res = await frontchannel(gw, new URLSearchParams({ iss: issuer, sid }).toString(), true);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain(`frame-ancestors ${new URL(issuer).origin}`);
    expect(res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))).toMatch(/Max-Age=0/);
    expect((await res.text()).length).toBeLessThan(2000);
    expect(await stillSignedIn(gw)).toBe(false);
  });

  it('works without the session cookie (browsers do not send SameSite=Lax cookies to a cross-site iframe)', async () => {
    const sid = `sid-${crypto.randomUUID()}`;
    const gw = await signedIn(sid);
    const res = await frontchannel(gw, new URLSearchParams({ iss: issuer, sid }).toString(), false);
    expect(res.status).toBe(200);
    expect(await stillSignedIn(gw)).toBe(false);
  });

  it('ends every session of that IdP session, and only those', async () => {
    const sid = `sid-${crypto.randomUUID()}`;
    const tab1 = await signedIn(sid);
    const tab2 = await signedIn(sid);
    const elsewhere = await signedIn(`sid-${crypto.randomUUID()}`);
    await frontchannel(tab1, new URLSearchParams({ iss: issuer, sid }).toString(), false);
    expect(await stillSignedIn(tab1)).toBe(false);
    expect(await stillSignedIn(tab2)).toBe(false);
    expect(await stillSignedIn(elsewhere)).toBe(true);
  });

  it('a sid that is not the session’s ends nothing (the cookie’s session stays)', async () => {
    const gw = await signedIn(`sid-${crypto.randomUUID()}`);
    const res = await frontchannel(gw, new URLSearchParams({ iss: issuer, sid: 'some-other-sid' }).toString());
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await stillSignedIn(gw)).toBe(true);
  });

  for (const [name, query] of [
    ['another issuer', (sid: string) => new URLSearchParams({ iss: 'https://evil.example', sid })],
    ['the issuer with a trailing slash', (sid: string) => new URLSearchParams({ iss: `${issuer}/`, sid })],
    ['no iss', (sid: string) => new URLSearchParams({ sid })],
    ['no sid', () => new URLSearchParams({ iss: issuer })],
    ['an empty sid', () => new URLSearchParams({ iss: issuer, sid: '' })],
    ['two sids', (sid: string) => new URLSearchParams([['iss', issuer], ['sid', sid], ['sid', 'x']])],
  ] as const) {
    it(`refuses ${name} with 400 and ends nothing`, async () => {
      const sid = `sid-${crypto.randomUUID()}`;
      const gw = await signedIn(sid);
      const res = await frontchannel(gw, query(sid).toString());
      expect(res.status).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await stillSignedIn(gw)).toBe(true);
    });
  }
});
