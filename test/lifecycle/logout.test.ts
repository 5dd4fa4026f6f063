// RP-initiated logout completed (issue 4.6): the refresh token is revoked at the IdP (RFC 7009), the
// logout request carries `state`, and the post-logout landing page takes the browser on to `rd`.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
// @ts-ignore -- plain ESM script without type declarations
import { signOutAtIdp } from '../../scripts/idp-login.mjs';
import { signInWithScript } from '../support/flows';
import { gateway } from '../support/gateway';
import { API, NAVIGATE, clock, idp, introspect, kv, lifecycleGateway, signInWithIdpJar, storedSession } from '../support/lifecycle';

beforeEach(() => idp.reset());
afterEach(() => clock.real());

const SAME_ORIGIN = { ...NAVIGATE, 'sec-fetch-site': 'same-origin' };

describe('/_auth/logout', () => {
  it('revokes the refresh token at the IdP’s revocation endpoint (RFC 7009)', async () => {
    const gw = lifecycleGateway();
    await signInWithIdpJar(gw, 'alice');
    const { refreshToken } = (await storedSession(gw))!;
    expect((await introspect(refreshToken!)).active).toBe(true);

    const res = await gw.fetch('/_auth/logout', { method: 'POST', headers: SAME_ORIGIN });
    expect(res.status).toBe(303);
    expect((await idp.stats()).revocation).toBe(1);
    expect((await introspect(refreshToken!)).active).toBe(false);
  });

  it('sends state to the IdP and lands on /_auth/signed-out, which leads on to rd', async () => {
    const gw = lifecycleGateway();
    const idpJar = await signInWithIdpJar(gw, 'alice');
    const res = await gw.fetch('/_auth/logout?rd=%2Fgoodbye%3Fsee%3Dyou', { headers: SAME_ORIGIN });
    const endSession = new URL(res.headers.get('location')!);
    expect(endSession.origin).toBe(inject('idpIssuerLifecycle'));
    const state = endSession.searchParams.get('state');
    expect(state).toMatch(/^v1\.[\w-]+$/);
    expect(state, 'the return path is sealed, not readable').not.toContain('goodbye');

    const back = new URL(String(await signOutAtIdp(endSession.href, { jar: idpJar })));
    expect(back.origin + back.pathname).toBe('https://localhost/_auth/signed-out');
    expect(back.searchParams.get('state')).toBe(state);
    const landing = await gw.fetch(back.href, { headers: NAVIGATE });
    expect(landing.status).toBe(200);
    expect(landing.headers.get('cache-control')).toBe('no-store');
    const page = await landing.text();
    expect(page).toContain('You are signed out');
    expect(page).toContain('href="/goodbye?see=you"');
  });

  it('the landing page ignores a forged, foreign or stale state and links to "/"', async () => {
    const gw = gateway();
    const forged = await gw.fetch('/_auth/signed-out?state=v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { headers: NAVIGATE });
    expect(await forged.text()).toContain('href="/"');

    const logout = await gw.fetch('/_auth/logout?rd=%2Flater', { headers: SAME_ORIGIN });
    const location = new URL(logout.headers.get('location')!);
    expect(location.pathname).toBe('/_auth/signed-out');
    const fresh = await gw.fetch(location.href, { headers: NAVIGATE });
    expect(await fresh.text()).toContain('href="/later"');

    clock.set(Math.floor(Date.now() / 1000) + 601);
    const stale = await gw.fetch(location.href, { headers: NAVIGATE });
    expect(await stale.text()).toContain('href="/"');
  });

  it('never leads off-site: rd is a same-origin path or "/"', async () => {
    const gw = gateway();
    for (const rd of ['https://evil.example/', '//evil.example', '/\\evil.example']) {
      const logout = await gw.fetch(`/_auth/logout?rd=${encodeURIComponent(rd)}`, { headers: SAME_ORIGIN });
      const landing = await gw.fetch(logout.headers.get('location')!, { headers: NAVIGATE });
      const page = await landing.text();
      expect(page).toContain('href="/"');
      expect(page).not.toContain('evil');
    }
  });

  it('with an IdP without revocation or end_session endpoints: the local session simply ends', async () => {
    const gw = gateway({ OIDC_ISSUER: inject('testIssuerUrl'), OIDC_SCOPES: 'openid offline_access' });
    await signInWithScript(gw, { tokenResponse: { refresh_token: 'rt-without-revocation' } });
    const res = await gw.fetch('/_auth/logout', { method: 'POST', headers: API });
    expect(res.status).toBe(200);
    expect((await gw.fetch('/page', { headers: API })).status).toBe(401);
  });

  it('removes the session’s logout index entries (KV-only mode: they are in KV)', async () => {
    const gw = lifecycleGateway({ COORDINATOR: undefined });
    await signInWithIdpJar(gw, 'alice');
    const before = (await kv.list({ prefix: 'idx:' })).keys.length;
    await gw.fetch('/_auth/logout', { method: 'POST', headers: API });
    const after = (await kv.list({ prefix: 'idx:' })).keys.length;
    expect(before - after, 'its sid, sub and verified-email entries').toBe(3);
  });
});
