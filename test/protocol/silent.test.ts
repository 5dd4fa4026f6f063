// Silent re-authentication: a page navigation whose session has ended tries `prompt=none` first; the
// IdP's login_required & co. fall back to one interactive sign-in, never to a loop.
import { afterEach, describe, expect, it } from 'vitest';
import { setCookies } from '../support/cookies';
import { createTestIssuer } from '../support/flows';
import { gateway } from '../support/gateway';
import { clock } from '../support/lifecycle';
import { API, atIdp, deliver, NAVIGATE, newIdpJar, nowS, protocolGateway, protocolIssuer, redirectToIdp, signInThrough, testIssuer, upstreamIdentity, type IdpJar } from './helpers';
import type { Gateway } from '../support/gateway';

afterEach(() => clock.real());

/** Signs in, then lets the session run out (SESSION_MAX_TTL 60 s, the gateway's clock 2 minutes on). */
async function endedSession(overrides: Record<string, unknown> = {}): Promise<{ gw: Gateway; jar: IdpJar }> {
  const gw = protocolGateway({ SESSION_IDLE_TTL: '60', SESSION_MAX_TTL: '60', ...overrides });
  const jar = newIdpJar();
  expect((await signInThrough(gw, { jar })).status).toBe(303);
  clock.set(nowS() + 120);
  return { gw, jar };
}

function promptOf(res: Response): string | null {
  return new URL(res.headers.get('location')!).searchParams.get('prompt');
}

describe('silent re-authentication', () => {
  it('tries prompt=none when a session ended and signs in again without a form while the IdP session lives', async () => {
    const { gw, jar } = await endedSession();
    const res = await gw.fetch('/reports?q=1', { headers: NAVIGATE });
    expect(res.status).toBe(302);
    expect(promptOf(res)).toBe('none');
    // The browser dropped the session cookie with SESSION_MAX_TTL; the hint left beside it said
    // "signed in here before", and is spent now.
    expect(setCookies(res).find((c) => c.name === '__Host-edgegate-resume')?.maxAge).toBe(0);
    const answer = await atIdp(res.headers.get('location')!, { jar });
    const back = await deliver(gw, answer);
    expect([back.status, back.headers.get('location')]).toEqual([303, '/reports?q=1']);
    expect((await upstreamIdentity(gw))['x-user']).toBe('alice');
  });

  it('falls back to an interactive sign-in on login_required, once', async () => {
    const { gw } = await endedSession();
    const res = await gw.fetch('/reports', { headers: NAVIGATE });
    expect(promptOf(res)).toBe('none');
    // Another browser at the IdP (no IdP session): oidc-provider answers login_required.
    const answer = await atIdp(res.headers.get('location')!, { jar: newIdpJar() });
    expect(answer.method === 'GET' && new URL(answer.url).searchParams.get('error')).toBe('login_required');
    const fallback = await deliver(gw, answer);
    expect(fallback.status).toBe(303);
    const interactive = new URL(fallback.headers.get('location')!);
    expect(interactive.origin).toBe(protocolIssuer);
    expect(interactive.searchParams.get('prompt')).toBeNull();
    // The silent attempt's transaction is spent, the interactive one set.
    const txCookies = setCookies(fallback).filter((c) => c.name.startsWith('__Host-edgegate-tx-'));
    expect(txCookies.map((c) => c.maxAge === 0).sort()).toEqual([false, true]);

    // The interactive sign-in works…
    const again = await deliver(gw, await atIdp(interactive.href, { user: 'bob' }));
    expect([again.status, again.headers.get('location')]).toEqual([303, '/reports']);
    expect((await upstreamIdentity(gw))['x-user']).toBe('bob');
  });

  it('…and when the interactive one fails too, the answer is an error page, not another redirect', async () => {
    const { gw } = await endedSession();
    const res = await gw.fetch('/reports', { headers: NAVIGATE });
    const fallback = await deliver(gw, await atIdp(res.headers.get('location')!, { jar: newIdpJar() }));
    const interactive = new URL(fallback.headers.get('location')!);
    const error = new URLSearchParams({ error: 'login_required', state: interactive.searchParams.get('state')!, iss: protocolIssuer });
    const page = await gw.fetch(`/_auth/callback?${error}`, { headers: NAVIGATE });
    expect(page.status).toBe(403);
    expect(page.headers.get('location')).toBeNull();
    expect(await page.text()).toContain('Error idp_denied');
  });

  it('works with form_post: the IdP POSTs the error, the gateway answers 303 to the interactive sign-in', async () => {
    const { gw } = await endedSession({ OIDC_RESPONSE_MODE: 'form_post' });
    const res = await gw.fetch('/x', { headers: NAVIGATE });
    expect(promptOf(res)).toBe('none');
    const answer = await atIdp(res.headers.get('location')!, { jar: newIdpJar() });
    expect(answer.method).toBe('POST');
    const fallback = await deliver(gw, answer);
    expect(fallback.status).toBe(303);
    expect(new URL(fallback.headers.get('location')!).searchParams.get('prompt')).toBeNull();
  });

  it('never for an explicit /_auth/login, an API request, or with OIDC_SILENT_REAUTH = false', async () => {
    const { gw } = await endedSession();
    expect(promptOf(await gw.fetch('/_auth/login?rd=%2F', { headers: NAVIGATE }))).toBeNull();
    expect((await gw.fetch('/api/x', { headers: API })).status).toBe(401);
    clock.real();
    const off = await endedSession({ OIDC_SILENT_REAUTH: 'false' });
    const res = await off.gw.fetch('/x', { headers: NAVIGATE });
    expect(res.status).toBe(302);
    expect(promptOf(res)).toBeNull();
  });

  it('never for a step-up: a too-old sign-in must authenticate again (prompt=login)', async () => {
    const gw = protocolGateway({ ROUTES: JSON.stringify([{ path: '/recent/**', auth: 'session', max_age: 60 }]) });
    expect((await signInThrough(gw)).status).toBe(303);
    clock.set(nowS() + 300);
    const res = await gw.fetch('/recent/page', { headers: NAVIGATE });
    expect(res.status).toBe(302);
    expect(promptOf(res)).toBe('login');
  });

  it('not when the IdP lists its prompt values without "none"', async () => {
    const issuer = await createTestIssuer(testIssuer, { prompt_values_supported: ['login', 'consent'] });
    const gw = gateway({ OIDC_ISSUER: issuer });
    gw.jar.set('__Host-edgegate', 'AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    const res = await gw.fetch('/x', { headers: NAVIGATE });
    expect(res.status).toBe(302);
    expect(promptOf(res)).toBeNull();
  });

  it('/_auth/login?prompt=none asks silently and falls back like a gate redirect', async () => {
    const gw = protocolGateway();
    const { location } = await redirectToIdp(gw, '/_auth/login?rd=%2Fhere&prompt=none');
    expect(location.searchParams.get('prompt')).toBe('none');
    const fallback = await deliver(gw, await atIdp(location.href, { jar: newIdpJar() }));
    expect(fallback.status).toBe(303);
    expect(new URL(fallback.headers.get('location')!).searchParams.get('prompt')).toBeNull();
  });
});
