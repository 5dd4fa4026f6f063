// An attacker registers the victim's address at the IdP without proving it (many IdPs let anyone type
// any address into their profile) and hopes the gateway treats it as identity: as X-User with
// USER_CLAIM = "email", as X-User-Email, or for an `allow` email condition. Accounts of the local IdP
// (scripts/idp.mjs), all claiming alice@example.com:
//   carol                 her own address, email_verified: false
//   mallory-string-false  email_verified: "false" (a string, as some UserInfo endpoints send it)
//   mallory-no-verified   no email_verified at all
// Only the boolean `true` verifies; a missing claim counts as verified only with OIDC_ASSUME_EMAIL_VERIFIED.
import { describe, expect, it } from 'vitest';
import { API, NAVIGATE, echoOf, identityHeaders } from './helpers';
import { refusal, signedInAs } from '../routes/helpers';

const ROUTES = [
  { path: '/only-alice/**', auth: 'session', allow: { emails: ['alice@example.com'] } },
  { path: '/example/**', auth: 'session', allow: { email_domains: ['example.com'] } },
];
const ATTACKERS = ['carol', 'mallory-string-false', 'mallory-no-verified'];

describe('an unverified address is never identity', () => {
  it.each(ATTACKERS)('USER_CLAIM = "email": %s is refused (403), not forwarded as X-User', async (user) => {
    const gw = await signedInAs(user, ROUTES, { USER_CLAIM: 'email' });
    const res = await gw.fetch('/page', { headers: NAVIGATE });
    const page = await res.text();
    expect(res.status, page.slice(0, 300)).toBe(403);
    expect(page).toMatch(/verified/);
    expect(page).not.toContain('"rawHeaders"');
    const json = await refusal(await gw.fetch('/page', { headers: API }));
    expect([json.status, json.error]).toEqual([403, 'identity_unusable']);
  });

  it.each(ATTACKERS)('%s gets no X-User-Email', async (user) => {
    const gw = await signedInAs(user, ROUTES);
    const sent = identityHeaders(await echoOf(await gw.fetch('/page', { headers: NAVIGATE })));
    expect(sent['x-user']).toBe(user);
    expect(sent['x-user-email']).toBeUndefined();
  });

  it.each(ATTACKERS)('%s does not pass an email condition for alice@example.com or example.com', async (user) => {
    const gw = await signedInAs(user, ROUTES);
    for (const path of ['/only-alice/x', '/example/x']) {
      const res = await gw.fetch(path, { headers: NAVIGATE });
      expect(res.status, `${user} ${path}`).toBe(403);
    }
  });

  it('the real alice (email_verified: true) is still alice', async () => {
    const gw = await signedInAs('alice', ROUTES, { USER_CLAIM: 'email' });
    const sent = identityHeaders(await echoOf(await gw.fetch('/only-alice/x', { headers: NAVIGATE })));
    expect(sent['x-user']).toBe('alice@example.com');
    expect(sent['x-user-email']).toBe('alice@example.com');
  });

  it('OIDC_ASSUME_EMAIL_VERIFIED trusts a missing email_verified, never a false one', async () => {
    const settings = { USER_CLAIM: 'email', OIDC_ASSUME_EMAIL_VERIFIED: 'true' };
    const trusted = await signedInAs('mallory-no-verified', ROUTES, settings);
    expect(identityHeaders(await echoOf(await trusted.fetch('/only-alice/x', { headers: NAVIGATE })))['x-user']).toBe('alice@example.com');
    for (const user of ['carol', 'mallory-string-false']) {
      const gw = await signedInAs(user, ROUTES, settings);
      expect((await gw.fetch('/page', { headers: NAVIGATE })).status, user).toBe(403);
    }
  });
});
