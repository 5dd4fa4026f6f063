// `allow` through the gateway with real users of the local IdP (scripts/idp.mjs):
//   alice  alice@example.com, verified, groups admins + staff
//   bob    bob@example.com, verified, groups staff
//   carol  carol@contractor.example, email_verified: false, no groups
//   any other login name <name>: <name>@example.com, verified, no groups
// All given keys must hold; a refusal is 403, a readable page for session rules and JSON for api
// rules, naming what is missing and nothing about the user.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../support/gateway';
import { API, NAVIGATE, echoOf, identityHeaders, refusal, signedInAs } from './helpers';

const ROUTES = [
  { path: '/only-alice/**', auth: 'session', allow: { emails: ['alice@example.com'] } },
  { path: '/dave/**', auth: 'session', allow: { emails: ['dave@EXAMPLE.com'] } },
  { path: '/Dave/**', auth: 'session', allow: { emails: ['Dave@Example.COM'] } },
  { path: '/example/**', auth: 'session', allow: { email_domains: ['Example.com'] } },
  { path: '/contractors/**', auth: 'session', allow: { email_domains: ['contractor.example'] } },
  { path: '/admins/**', auth: 'session', allow: { groups: ['admins'] } },
  { path: '/staff-or-admins/**', auth: 'session', allow: { groups: ['admins', 'staff'] } },
  { path: '/claims/**', auth: 'session', allow: { claims: { preferred_username: ['alice', 'carol'] } } },
  { path: '/verified/**', auth: 'session', allow: { claims: { email_verified: true } } },
  { path: '/verified-string/**', auth: 'session', allow: { claims: { email_verified: 'true' } } },
  { path: '/all/**', auth: 'session', allow: { groups: ['staff'], email_domains: ['example.com'], claims: { preferred_username: 'bob' } } },
  { path: '/api/admins/**', auth: 'api', allow: { groups: ['admins'] } },
];

const users: Record<string, Gateway> = {};
beforeAll(async () => {
  for (const user of ['alice', 'bob', 'carol', 'dave', 'Dave', 'mallory@evil.example']) users[user] = await signedInAs(user, ROUTES);
});

async function allowed(user: string, path: string) {
  const echo = await echoOf(await users[user]!.fetch(path, { headers: NAVIGATE }));
  expect(identityHeaders(echo)['x-user']).toBe(user);
}

async function forbidden(user: string, path: string): Promise<string> {
  const res = await users[user]!.fetch(path, { headers: NAVIGATE });
  const page = await res.text();
  expect(res.status, `${user} ${path}: ${page.slice(0, 200)}`).toBe(403);
  expect(res.headers.get('content-type')).toContain('text/html');
  return page;
}

const table: [path: string, yes: string[], no: string[]][] = [
  ['/only-alice/x', ['alice'], ['bob', 'carol', 'dave']],
  // The configured domain is compared case-insensitively, the local part exactly (RFC 5321 2.4).
  ['/dave/x', ['dave'], ['Dave', 'alice']],
  ['/Dave/x', ['Dave'], ['dave']],
  ['/example/x', ['alice', 'bob', 'dave'], ['carol', 'mallory@evil.example']],
  ['/contractors/x', [], ['carol', 'alice']],
  ['/admins/x', ['alice'], ['bob', 'carol']],
  ['/staff-or-admins/x', ['alice', 'bob'], ['carol', 'dave']],
  ['/claims/x', ['alice'], ['bob', 'dave']],
  ['/verified/x', ['alice', 'bob'], ['carol']],
  // Exact types: the boolean true is not the string "true".
  ['/verified-string/x', [], ['alice', 'bob']],
  ['/all/x', ['bob'], ['alice', 'carol', 'dave']],
];

describe('allow conditions', () => {
  for (const [path, yes, no] of table) {
    it(`${path}: in ${yes.join(', ') || 'nobody'}; out ${no.join(', ')}`, async () => {
      for (const user of yes) await allowed(user, path);
      for (const user of no) await forbidden(user, path);
    });
  }
});

describe('email edge cases', () => {
  it('an unverified address never satisfies an email condition, even at the allowed domain (carol)', async () => {
    const page = await forbidden('carol', '/contractors/x');
    expect(page).toContain('a verified email address');
  });

  it('an address with two "@" is no address: "mallory@evil.example@example.com" is not at example.com', async () => {
    const page = await forbidden('mallory@evil.example', '/example/x');
    expect(page).toContain('an email address at example.com');
  });
});

describe('the 403 answer', () => {
  it('says what is missing, for every failed key, on a readable page', async () => {
    const page = await forbidden('carol', '/all/x');
    expect(page).toMatch(/<title>[^<]*Access denied/);
    expect(page).toContain('membership in staff');
    expect(page).toContain('a verified email address');
    expect(page).toContain('claim &quot;preferred_username&quot; with the value &quot;bob&quot;');

    const alice = await forbidden('alice', '/all/x');
    expect(alice).not.toContain('membership in staff');
    expect(alice).toContain('preferred_username');
  });

  it('leaks none of the user’s own claims beyond the “signed in as” name (and does not list who is allowed by address)', async () => {
    const page = await forbidden('bob', '/only-alice/x');
    // The page is shown only to this user, and names them once so they can switch account (docs/configuration.md "Pages").
    expect(page.split('Bob Builder').length - 1, 'the display name, once').toBe(1);
    expect(page).toMatch(/Signed in as <strong>Bob Builder<\/strong>|Signed in as Bob Builder/);
    for (const own of ['bob@example.com', 'staff', '"bob"']) expect(page).not.toContain(own);
    expect(page).not.toContain('alice@example.com');
    expect(page).toContain('an email address that is allowed here');

    const claims = await forbidden('bob', '/claims/x');
    expect(claims).not.toContain('bob');
  });

  it('is JSON on api rules, with the same message and no user data', async () => {
    const res = await users['bob']!.fetch('/api/admins/x', { headers: NAVIGATE });
    const r = await refusal(res);
    expect([r.status, r.error]).toEqual([403, 'forbidden']);
    expect(r.message).toContain('membership in admins');
    expect(JSON.stringify(r.body)).not.toMatch(/bob|staff/i);
    expect(r.challenge).toBeNull();

    const alice = await echoOf(await users['alice']!.fetch('/api/admins/x', { headers: API }));
    expect(identityHeaders(alice)['x-user-groups']).toBe('admins,staff');
  });

  it('programs get the JSON form on session rules too', async () => {
    const r = await refusal(await users['bob']!.fetch('/admins/x', { headers: API }));
    expect([r.status, r.error]).toEqual([403, 'forbidden']);
  });
});
