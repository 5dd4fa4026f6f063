// Every error page has a way onward: the error's own retry link, sign-in for a 401, the same page
// again for a failure that may pass, the start of the site, and the support link when one is set.
// Every link stays on this site (or is the configured support URL).
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { startSignIn, callback } from '../support/flows';
import { BRAND, NAVIGATE, signedInAs, waysOnward } from './helpers';

type Case = [label: string, status: number, run: (overrides: Record<string, unknown>) => Promise<Response>, expected: [string, string][]];

const cases: Case[] = [
  ['an unknown gateway endpoint', 404, (o) => gateway(o).fetch('/_auth/nope', { headers: NAVIGATE }), [['/', 'Back to the start']]],
  ['an ambiguous path', 400, (o) => gateway(o).fetch('/a%2fb', { headers: NAVIGATE }), [['/', 'Back to the start']]],
  ['a bad sign-in link', 400, (o) => gateway(o).fetch('/_auth/login?rd=%2Fdocs&prompt=bogus', { headers: NAVIGATE }), [['/_auth/login?rd=%2Fdocs', 'Try again'], ['/', 'Back to the start']]],
  ['a callback without state', 400, (o) => gateway(o).fetch('/_auth/callback?code=abc', { headers: NAVIGATE }), [['/', 'Back to the start']]],
  ['the user denied consent at the IdP', 403, async (o) => {
    const gw = gateway(o);
    const { state } = await startSignIn(gw, '/docs');
    return callback(gw, { error: 'access_denied', state, iss: String(gw.env['OIDC_ISSUER']) });
  }, [['/', 'Back to the start']]],
  ['no session on a form POST', 401, (o) => gateway(o).fetch('/docs/edit?id=7', { method: 'POST', headers: NAVIGATE, body: 'a=1' }), [['/_auth/login?rd=%2Fdocs%2Fedit%3Fid%3D7', 'Sign in'], ['/', 'Back to the start']]],
  ['the IdP unreachable', 503, (o) => gateway({ ...o, OIDC_ISSUER: 'http://127.0.0.1:9' }).fetch('/docs?page=2', { headers: NAVIGATE }), [['/docs?page=2', 'Try again'], ['/', 'Back to the start']]],
  ['the upstream unreachable', 503, async (o) => (await signedInAs('bob', { ...o, UPSTREAM_URL: 'http://127.0.0.1:1' })).fetch('/docs', { headers: NAVIGATE }), [['/docs', 'Try again'], ['/', 'Back to the start']]],
  ['a broken configuration', 500, (o) => gateway({ ...o, SESSION_SECRET: 'too-short' }).fetch('https://app.example.com/docs', { headers: NAVIGATE }), [['/docs', 'Try again'], ['/', 'Back to the start']]],
  ['a user outside the allowed group', 403, async (o) => (await signedInAs('bob', o)).fetch('/admin/x', { headers: NAVIGATE }), [['/_auth/login?rd=%2Fadmin%2Fx&prompt=login', 'Sign in as someone else'], ['/', 'Back to the start']]],
];

describe('every error page has a way onward', () => {
  it.each(cases)('%s (%i)', async (_label, status, run, expected) => {
    const res = await run({});
    expect(res.status).toBe(status);
    const html = await res.text();
    const { links, forms } = waysOnward(html);
    expect(links.length + forms.length, html).toBeGreaterThan(0);
    for (const link of expected) expect(links).toContainEqual(link);
    for (const [href] of links) {
      expect(href.startsWith('/') && !href.startsWith('//'), href).toBe(true);
    }
  });

  it.each(cases)('%s (%i): with BRAND_SUPPORT_URL, also the support link', async (_label, status, run) => {
    const res = await run(BRAND);
    expect(res.status).toBe(status);
    expect(waysOnward(await res.text()).links).toContainEqual(['https://help.acme.example/it', 'Contact support']);
  });

  it('never links "Try again" to another site through a path that starts with //', async () => {
    const res = await gateway({ UPSTREAM_URL: 'http://127.0.0.1:1', ROUTES: [{ path: '/**', auth: 'public' }] }).fetch('https://localhost//evil.example/x', { headers: NAVIGATE });
    expect(res.status).toBeGreaterThanOrEqual(400);
    const { links } = waysOnward(await res.text());
    for (const [href] of links) expect(href.startsWith('//'), href).toBe(false);
  });
});
