// `amr`, `acr` and `email_verified` conditions against real ID tokens (the scriptable test issuer signs
// them with the claims a test asks for). They are judged on the ID token's own values: a UserInfo
// answer cannot add an authentication method, and an `amr` that is not an array of strings names none.
import { describe, expect, inject, it } from 'vitest';
import { signInWithScript } from '../support/flows';
import { NAVIGATE, echoOf, identityHeaders, withRoutes } from '../routes/helpers';

const testIssuer = inject('testIssuerUrl');

const ROUTES = [
  { path: '/mfa/**', auth: 'session', allow: { amr: ['mfa'] } },
  { path: '/hwk-and-pin/**', auth: 'session', allow: { amr: ['hwk', 'pin'] } },
  { path: '/loa2/**', auth: 'session', allow: { acr: ['urn:example:loa:2', 'urn:example:loa:3'] } },
  { path: '/no-sms/**', auth: 'session', deny: { amr: ['sms'] } },
  { path: '/no-weak/**', auth: 'session', deny: { acr: ['urn:example:loa:1'] } },
  { path: '/unverified-only/**', auth: 'session', deny: { email_verified: true } },
];

/** A gateway signed in at the test issuer with an ID token carrying `claims` (and UserInfo answering `userinfo`). */
async function signedInWith(claims: Record<string, unknown>, userinfo?: Record<string, unknown>) {
  const gw = withRoutes(ROUTES, { OIDC_ISSUER: testIssuer });
  const result = await signInWithScript(gw, { idToken: { claims }, ...(userinfo ? { userinfo } : {}) });
  expect(result.callbackResponse.status).toBe(303);
  return gw;
}

async function status(gw: Awaited<ReturnType<typeof signedInWith>>, path: string): Promise<number> {
  const res = await gw.fetch(path, { headers: NAVIGATE });
  await res.body?.cancel();
  return res.status;
}

describe('amr', () => {
  it('every listed method must be named; order and extra methods do not matter', async () => {
    const gw = await signedInWith({ amr: ['pwd', 'mfa', 'otp'] });
    expect(identityHeaders(await echoOf(await gw.fetch('/mfa/x', { headers: NAVIGATE })))['x-user']).toBe('test-user');
    expect(await status(gw, '/hwk-and-pin/x')).toBe(403);
    const both = await signedInWith({ amr: ['pin', 'hwk'] });
    expect(await status(both, '/hwk-and-pin/x')).toBe(200);
  });

  it.each([
    ['no amr', {}],
    ['amr as a string', { amr: 'mfa' }],
    ['amr naming another method', { amr: ['pwd'] }],
    ['amr with a look-alike', { amr: ['MFA', 'mfa '] }],
    ['amr with a non-string member', { amr: [{ mfa: true }] }],
  ])('%s: refused (403, the page names the method)', async (_label, claims) => {
    const gw = await signedInWith(claims);
    const res = await gw.fetch('/mfa/x', { headers: NAVIGATE });
    const page = await res.text();
    expect(res.status).toBe(403);
    expect(page).toContain('a sign-in using mfa (amr)');
    expect(page).toContain('ROUTES[0] allow: amr');
  });

  it('comes from the ID token only: UserInfo cannot add a method', async () => {
    const gw = await signedInWith({ amr: ['pwd'] }, { sub: 'test-user', amr: ['mfa'], email: 'x@example.com' });
    expect(await status(gw, '/mfa/x')).toBe(403);
  });

  it('deny: a sign-in naming a denied method is refused, others pass', async () => {
    expect(await status(await signedInWith({ amr: ['sms', 'pwd'] }), '/no-sms/x')).toBe(403);
    expect(await status(await signedInWith({ amr: ['otp', 'pwd'] }), '/no-sms/x')).toBe(200);
  });
});

describe('acr', () => {
  it('exact values only', async () => {
    expect(await status(await signedInWith({ acr: 'urn:example:loa:3' }), '/loa2/x')).toBe(200);
    for (const acr of ['urn:example:loa:1', 'urn:example:loa:2:weak', 'URN:EXAMPLE:LOA:2', ['urn:example:loa:2']]) {
      expect(await status(await signedInWith({ acr }), '/loa2/x'), JSON.stringify(acr)).toBe(403);
    }
    expect(await status(await signedInWith({}), '/loa2/x')).toBe(403);
  });

  it('deny: a denied level is refused; unlike acr_values, nobody is sent to sign in again', async () => {
    const gw = await signedInWith({ acr: 'urn:example:loa:1' });
    const res = await gw.fetch('/no-weak/x', { headers: NAVIGATE });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('ROUTES[4] deny: acr');
    expect(await status(await signedInWith({ acr: 'urn:example:loa:2' }), '/no-weak/x')).toBe(200);
  });
});

describe('email_verified', () => {
  it('is the boolean from the IdP: true, and only true, counts as verified', async () => {
    expect(await status(await signedInWith({ email: 'a@example.com', email_verified: true }), '/unverified-only/x')).toBe(403);
    expect(await status(await signedInWith({ email: 'a@example.com', email_verified: 'true' }), '/unverified-only/x')).toBe(200);
    expect(await status(await signedInWith({ email: 'a@example.com' }), '/unverified-only/x')).toBe(200);
  });
});
