// The pure pieces behind test/attacks' identity cases: the header form of one value, what marks a JWT
// as not an access token, claims objects without a prototype, and the check command's warning.
import { describe, expect, it } from 'vitest';
import { checkAllow } from '../../src/policy/allow';
import { parseRoutes } from '../../src/policy/rules';
import { emailVerified, headerForm, identityFromClaims } from '../../src/policy/identity';
import { notAnAccessToken } from '../../src/oidc/access-token';
import { identityClaims } from '../../src/session/model';
import { runCheck } from '../../src/check/main';

/** Decodes the RFC 8187 form as an upstream would. */
const read = (carried: string) => (carried.startsWith("UTF-8''") ? decodeURIComponent(carried.slice(7)) : carried);

describe('headerForm', () => {
  it.each(['alice', 'Alice Admin', "O'Brien", 'a@b.example', 'x%41y', 'Forschung & Entwicklung', '123'])('plain ASCII %j is sent as is', (value) => {
    expect(headerForm(value, false)).toBe(value);
  });

  it.each(['josé', 'Zoë Ångström', '李雷', 'emoji 🙂', 'nbsp\u00a0inside', "UTF-8''admin", "utf-8''admin", "iso-8859-1'en'admin", 'café'])(
    '%j is encoded, and decodes to exactly itself',
    (value) => {
      const carried = headerForm(value, false) as string;
      expect(carried).toMatch(/^UTF-8''[A-Za-z0-9!#$&+\-.^_`|~%]*$/);
      expect(read(carried)).toBe(value);
    },
  );

  it.each([
    ['admin\t', /control/],
    ['admin\r\nX-User: root', /control/],
    ['a\u0000b', /control/],
    ['a\u0085b', /control/], // C1 NEL
    [' admin', /whitespace/],
    ['admin ', /whitespace/],
    ['\u00a0admin', /whitespace/],
    ['admin\u2028', /whitespace/],
    ['', /empty/],
    ['\ud800x', /Unicode/],
  ])('%j cannot be carried', (value, problem) => {
    expect(headerForm(value, false)).toEqual({ problem: expect.stringMatching(problem) });
  });

  it('a comma is fine in a single value, not in a list item', () => {
    expect(headerForm('Doe, Jane', false)).toBe('Doe, Jane');
    expect(headerForm('ops,admins', true)).toEqual({ problem: expect.stringMatching(/comma/) });
  });
});

describe('email_verified', () => {
  it.each([
    [{ email_verified: true }, false, true],
    [{ email_verified: false }, false, false],
    [{ email_verified: 'false' }, false, false],
    [{ email_verified: 'true' }, false, false],
    [{ email_verified: 1 }, false, false],
    [{ email_verified: null }, true, false],
    [{}, false, false],
    [{}, true, true],
    [{ email_verified: false }, true, false],
  ])('%j with OIDC_ASSUME_EMAIL_VERIFIED=%s → %s', (claims, assume, expected) => {
    expect(emailVerified(claims, assume)).toBe(expected);
  });

  it('USER_CLAIM = email refuses an unverified address instead of falling back to sub', () => {
    const options = { userClaim: 'email', assumeEmailVerified: false };
    expect(identityFromClaims('s1', { email: 'a@example.com', email_verified: 'false' }, options)).toEqual({ unusable: expect.stringMatching(/not verified/) });
    expect(identityFromClaims('s1', { email: 'a@example.com', email_verified: true }, options)).toMatchObject({ user: 'a@example.com', email: 'a@example.com' });
  });
});

describe('notAnAccessToken', () => {
  const base = { iss: 'https://idp.example', aud: 'app', sub: 'u', exp: 2, iat: 1 };
  it.each([
    ['JWT', { ...base, nonce: 'n' }, /nonce/],
    [undefined, { ...base, at_hash: 'x', scope: 'openid' }, /at_hash/],
    ['at+jwt', { ...base, c_hash: 'x', client_id: 'c' }, /c_hash/],
    ['JWT', { ...base, typ: 'ID', scope: 'openid' }, /typ ID/],
    ['JWT', { ...base, typ: 'Refresh', scope: 'openid' }, /typ Refresh/],
    ['JWT', { ...base, token_use: 'id', scope: 'x' }, /token_use/],
    ['JWT', { ...base, events: {}, scope: 'x' }, /events/],
    ['JWT', base, /untyped/],
  ])('typ %s, %j: %s', (typ, claims, reason) => {
    expect(notAnAccessToken(typ, claims)).toMatch(reason);
  });

  it.each([
    ['at+jwt', { ...base, client_id: 'c' }],
    ['application/at+jwt', base],
    ['JWT', { ...base, typ: 'Bearer', nonce: 'n' }], // Keycloak before 25
    ['JWT', { ...base, scope: 'read' }],
    [undefined, { ...base, scp: 'read' }],
    [undefined, { ...base, roles: ['Task.Write'] }],
    ['JWT', { ...base, token_use: 'access', client_id: 'c' }],
  ])('typ %s, %j is an access token', (typ, claims) => {
    expect(notAnAccessToken(typ, claims)).toBeNull();
  });
});

describe('identityClaims', () => {
  it('builds a claims object without a prototype and without __proto__, constructor, prototype', () => {
    const userinfo = JSON.parse('{"sub":"m","__proto__":{"groups":["admins"]},"constructor":{"prototype":{"x":1}},"prototype":1,"name":"M"}') as Record<string, unknown>;
    const claims = identityClaims({ sub: 'm', nonce: 'n' }, userinfo);
    expect(Object.getPrototypeOf(claims)).toBeNull();
    expect(Object.keys(claims).sort()).toEqual(['name', 'sub']);
    expect(claims['groups']).toBeUndefined();
    expect(checkAllow(allowGroups(), claims).ok).toBe(false);
  });
});

function allowGroups() {
  const parsed = parseRoutes([{ path: '/x', auth: 'session', allow: { groups: ['admins'] } }]);
  if ('problems' in parsed) throw new Error('bad rule');
  return parsed.rules[0]!.allow!;
}

describe('npm run check', () => {
  it('warns when API_AUDIENCE equals OIDC_CLIENT_ID, and only then', () => {
    const same = runCheck({ source: 'wrangler.toml', routes: [{ path: '/api/**', auth: 'api' }], samples: [], settings: { OIDC_CLIENT_ID: 'app', API_AUDIENCE: 'app' } });
    expect(same.exitCode).toBe(0);
    expect(same.text).toMatch(/warning: API_AUDIENCE equals OIDC_CLIENT_ID/);
    const other = runCheck({ source: 'wrangler.toml', routes: [], samples: [], settings: { OIDC_CLIENT_ID: 'app', API_AUDIENCE: 'https://api.example' } });
    expect(other.text).not.toMatch(/warning/);
  });
});
