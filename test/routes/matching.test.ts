// Matching on what is forwarded: traversal and encoding tricks against a public /assets/** and an
// admins-only /admin/**, end to end. Bob (staff) must never get a path under /admin to the upstream;
// alice (admins) must. Rules see exactly the path the upstream receives, never the query, a
// client-sent URL header or the User-Agent; a path whose plausible readings fall under different rules is a 400.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../support/gateway';
import { API, NAVIGATE, echoOf, identityHeaders, refusal, signedInAs, withRoutes } from './helpers';
import { CASES, ROUTES, type Outcome } from './matching-table';

let anon: Gateway;
let bob: Gateway;
let alice: Gateway;
beforeAll(async () => {
  anon = withRoutes(ROUTES);
  bob = await signedInAs('bob', ROUTES);
  alice = await signedInAs('alice', ROUTES);
});

async function expectOutcome(request: string, outcome: Outcome) {
  const anonymous = await anon.fetch(request, { headers: NAVIGATE, cookies: false });
  const asBob = await bob.fetch(request, { headers: NAVIGATE });
  const asAlice = await alice.fetch(request, { headers: NAVIGATE });

  if (outcome.kind === 'invalid') {
    for (const res of [anonymous, asBob, asAlice]) {
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('path_invalid');
    }
    const json = await refusal(await bob.fetch(request, { headers: API }));
    expect([json.status, json.error]).toEqual([400, 'path_invalid']);
    return;
  }

  if (outcome.kind === 'admin') {
    expect(anonymous.status).toBe(302);
    expect(asBob.status).toBe(403);
    await asBob.body?.cancel();
    const echo = await echoOf(asAlice);
    expect(echo.path).toBe(outcome.path);
    expect(identityHeaders(echo)['x-user']).toBe('alice');
    return;
  }

  if (outcome.kind === 'public') {
    const echo = await echoOf(anonymous);
    expect(echo.path).toBe(outcome.path);
    expect(identityHeaders(echo)).toEqual({});
  } else {
    expect(anonymous.status).toBe(302);
    await anonymous.body?.cancel();
  }
  // Bob gets through, but what the upstream receives is never under /admin.
  const echo = await echoOf(asBob);
  expect(echo.path).toBe(outcome.path);
  expect(echo.path).not.toMatch(/^\/admin(\/|$)/);
  expect(identityHeaders(echo)['x-user']).toBe('bob');
  await asAlice.body?.cancel();
}

describe('path tricks against /assets/** (public) and /admin/** (admins only)', () => {
  it.each(CASES)('%s → %j (%s)', async (request, outcome) => {
    await expectOutcome(request, outcome);
  });
});

describe('nothing but the path decides', () => {
  const URL_HEADERS = ['X-Original-URL', 'X-Rewrite-URL', 'X-Forwarded-Uri', 'X-Original-URI', 'X-Forwarded-Prefix', 'X-Forwarded-Path'];

  it('a client-sent URL header does not open /admin for bob', async () => {
    for (const name of URL_HEADERS) {
      const res = await bob.fetch('/admin/x', { headers: { ...NAVIGATE, [name]: '/assets/x' } });
      expect(res.status, name).toBe(403);
      await res.body?.cancel();
    }
  });

  it('a client-sent URL header does not make /assets protected, and IIS/Symfony-style overrides never reach the upstream', async () => {
    const headers = new Headers(NAVIGATE);
    for (const name of URL_HEADERS) headers.set(name, '/admin/x');
    headers.set('x_original_url', '/admin/x');
    const echo = await echoOf(await anon.fetch('/assets/app.css', { headers, cookies: false }));
    expect(echo.path).toBe('/assets/app.css');
    const received = echo.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const name of ['x-original-url', 'x_original_url', 'x-rewrite-url', 'x-forwarded-uri', 'x-original-uri', 'x-forwarded-prefix']) {
      expect(received, name).not.toContain(name);
    }
    // Not a URL override anywhere we know of: passed on like any other header.
    expect(received).toContain('x-forwarded-path');
  });

  it('the User-Agent changes nothing (crawlers, monitors and curl are treated alike)', async () => {
    for (const ua of ['Googlebot/2.1 (+http://www.google.com/bot.html)', 'curl/8.0', 'Mozilla/5.0', '', 'edgegate-internal']) {
      const anonymous = await anon.fetch('/admin/x', { headers: { ...NAVIGATE, 'user-agent': ua }, cookies: false });
      expect(anonymous.status, ua).toBe(302);
      const asBob = await bob.fetch('/admin/x', { headers: { ...NAVIGATE, 'user-agent': ua } });
      expect(asBob.status, ua).toBe(403);
      await asBob.body?.cancel();
    }
  });

  it('the Host header of an absolute URL cannot smuggle a path', async () => {
    const res = await bob.fetch('https://localhost/assets/x', { headers: { ...NAVIGATE, host: 'localhost/admin/x' } });
    const echo = await echoOf(res);
    expect(echo.path).toBe('/assets/x');
  });
});
