// `allow` conditions against a user's claims: strict parsing, exact comparison, no coercion, and a
// "missing" text that never repeats the user's own claims.
import { describe, expect, it } from 'vitest';
import { checkAllow, parseEmail, type Allow } from '../../src/policy/allow';
import { parseRoutes } from '../../src/policy/rules';

/** Allow conditions exactly as the worker gets them: through parseRoutes. */
function allowOf(allow: Record<string, unknown>): Allow {
  const result = parseRoutes([{ path: '/x', auth: 'session', allow }]);
  if ('problems' in result) throw new Error(JSON.stringify(result.problems));
  return result.rules[0]!.allow!;
}

const ok = { ok: true };

describe('no conditions', () => {
  it('allows everyone', () => {
    expect(checkAllow(undefined, {})).toEqual(ok);
  });
});

describe('emails', () => {
  const allow = allowOf({ emails: ['alice@example.com', 'Bob@Example.com'] });
  const check = (email: unknown, extra: Record<string, unknown> = {}) => checkAllow(allow, { email, email_verified: true, ...extra });

  it.each([
    ['alice@example.com', true],
    ['alice@EXAMPLE.COM', true], // domains compare case-insensitively
    ['Bob@example.com', true],
    ['Alice@example.com', false], // local parts compare exactly (not lower-cased)
    ['bob@example.com', false],
    ['a@b@example.com', false],
    ['alice@example.com@evil.net', false],
    ['"alice@example.com"@evil.net', false],
    ['alice@example.com.', false],
    ['alice@example.com ', false],
    [' alice@example.com', false],
    ['alice@example.com\n', false],
    ['ali\u200bce@example.com', false], // zero-width space
    ['alice@exаmple.com', false], // Cyrillic а
    ['alice@', false],
    ['@example.com', false],
    ['', false],
  ])('%j → %s', (email, expected) => {
    expect(check(email).ok).toBe(expected);
  });

  it('fails without a string email claim', () => {
    expect(check(undefined)).toEqual({ ok: false, failed: ['emails'], missing: 'an email address that is allowed here' });
    expect(check(['alice@example.com']).ok).toBe(false);
  });

  it('needs email_verified to be exactly true when the IdP sends it', () => {
    expect(check('alice@example.com', { email_verified: true }).ok).toBe(true);
    const unverified = { ok: false, failed: ['emails'], missing: expect.stringMatching(/^a verified email address/) };
    expect(check('alice@example.com', { email_verified: false })).toEqual(unverified);
    expect(check('alice@example.com', { email_verified: 'true' })).toEqual(unverified);
    expect(check('alice@example.com', { email_verified: 1 })).toEqual(unverified);
    expect(check('alice@example.com', { email_verified: null })).toEqual(unverified);
    expect(check('alice@example.com', { email_verified: 'false' })).toEqual(unverified);
  });

  it('counts a missing email_verified as unverified, unless the IdP is trusted to verify every address', () => {
    expect(checkAllow(allow, { email: 'alice@example.com' })).toEqual({ ok: false, failed: ['emails'], missing: expect.stringMatching(/^a verified email address/) });
    expect(checkAllow(allow, { email: 'alice@example.com' }, { assumeEmailVerified: true }).ok).toBe(true);
    expect(checkAllow(allow, { email: 'alice@example.com', email_verified: false }, { assumeEmailVerified: true }).ok).toBe(false);
  });

  it('does not list the allowed addresses or the user\'s address', () => {
    const result = check('mallory@example.com');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.missing).not.toMatch(/alice|bob|mallory/i);
  });
});

describe('email_domains', () => {
  const allow = allowOf({ email_domains: ['example.com'] });
  const check = (email: unknown, extra: Record<string, unknown> = {}) => checkAllow(allow, { email, email_verified: true, ...extra });

  it.each([
    ['user@example.com', true],
    ['user@EXAMPLE.COM', true],
    ['User.Name+tag@Example.Com', true],
    ['user@evilexample.com', false],
    ['user@example.com.evil.net', false],
    ['user@sub.example.com', false],
    ['user@example.com.', false],
    ['user@example..com', false],
    ['user@.example.com', false],
    ['user@example.co', false],
    ['user@exampl\u0435.com', false], // Cyrillic е
    ['user@ｅｘａｍｐｌｅ.com', false], // fullwidth
    ['user@example.com@example.com', false],
    ['a@b@example.com', false],
    ['user@[192.0.2.1]', false],
    ['example.com', false],
  ])('%j → %s', (email, expected) => {
    expect(check(email).ok).toBe(expected);
  });

  it('matches subdomains only when listed', () => {
    const both = allowOf({ email_domains: ['example.com', 'sub.example.com'] });
    expect(checkAllow(both, { email: 'user@sub.example.com', email_verified: true }).ok).toBe(true);
    expect(checkAllow(both, { email: 'user@deep.sub.example.com', email_verified: true }).ok).toBe(false);
  });

  it('does not fold Unicode look-alikes into ASCII (U+212A KELVIN SIGN lower-cases to "k")', () => {
    const kelvin = allowOf({ email_domains: ['kelvin.example'] });
    expect('\u212A'.toLowerCase()).toBe('k');
    expect(checkAllow(kelvin, { email: 'user@\u212Aelvin.example', email_verified: true }).ok).toBe(false);
    expect(checkAllow(kelvin, { email: 'user@Kelvin.example', email_verified: true }).ok).toBe(true);
  });

  it('fails on unverified addresses', () => {
    expect(check('user@example.com', { email_verified: false })).toEqual({
      ok: false,
      failed: ['email_domains'],
      missing: expect.stringMatching(/verified email/),
    });
    expect(check('user@example.com', { email_verified: 'true' }).ok).toBe(false);
  });

  it('says which domains are accepted', () => {
    expect(check('user@other.org')).toEqual({ ok: false, failed: ['email_domains'], missing: 'an email address at example.com' });
    const two = allowOf({ email_domains: ['a.example', 'b.example'] });
    expect(checkAllow(two, {})).toEqual({ ok: false, failed: ['email_domains'], missing: 'an email address at one of: a.example, b.example' });
  });
});

describe('groups', () => {
  const allow = allowOf({ groups: ['admins', 'ops'] });
  const check = (groups: unknown) => checkAllow(allow, { groups });

  it.each([
    [['users', 'admins'], true],
    [['ops'], true],
    ['admins', true], // a string claim is one group
    [['Admins'], false],
    [['admins '], false],
    ['admins,users', false],
    [['users'], false],
    [[], false],
    [[1, null, { admins: true }], false],
    [undefined, false],
    [{ admins: true }, false],
  ])('%j → %s', (groups, expected) => {
    expect(check(groups).ok).toBe(expected);
  });

  it('numbers are not group names', () => {
    expect(checkAllow(allowOf({ groups: ['1'] }), { groups: [1] }).ok).toBe(false);
  });

  it('says which groups are needed, without the user\'s groups', () => {
    expect(check(['users', 'secret-project'])).toEqual({ ok: false, failed: ['groups'], missing: 'membership in one of: admins, ops' });
    expect(checkAllow(allowOf({ groups: ['admins'] }), { groups: ['x'] })).toEqual({ ok: false, failed: ['groups'], missing: 'membership in admins' });
  });
});

describe('claims', () => {
  it.each([
    [{ dept: 'eng' }, { dept: 'eng' }, true],
    [{ dept: 'eng' }, { dept: ['ops', 'eng'] }, true],
    [{ dept: 'eng' }, { dept: 'Eng' }, false],
    [{ dept: 'eng' }, { dept: ['engineering'] }, false],
    [{ dept: 'eng' }, {}, false],
    [{ dept: 'eng' }, { dept: { name: 'eng' } }, false],
    [{ dept: ['eng', 'ops'] }, { dept: 'ops' }, true],
    [{ level: 1 }, { level: 1 }, true],
    [{ level: 1 }, { level: '1' }, false], // no type coercion
    [{ level: '1' }, { level: 1 }, false],
    [{ level: 1 }, { level: [true] }, false],
    [{ staff: true }, { staff: true }, true],
    [{ staff: true }, { staff: 'true' }, false],
    [{ staff: 'true' }, { staff: true }, false],
    [{ staff: false }, { staff: 0 }, false],
    [{ staff: false }, {}, false],
    [{ dept: 'eng', level: 2 }, { dept: 'eng', level: 2 }, true],
    [{ dept: 'eng', level: 2 }, { dept: 'eng', level: 3 }, false], // every claim must hold
  ])('%j with %j → %s', (claims, user, expected) => {
    expect(checkAllow(allowOf({ claims }), user).ok).toBe(expected);
  });

  it('never reads inherited properties as claims', () => {
    const allow = allowOf({ claims: { constructor: 'Object' } });
    expect(checkAllow(allow, {}).ok).toBe(false);
    expect(checkAllow(allow, { constructor: 'Object' }).ok).toBe(true);
  });

  it('names the claim and the accepted values, typed, without the user\'s value', () => {
    const result = checkAllow(allowOf({ claims: { dept: ['eng', 'ops'], level: 1 } }), { dept: 'sales', level: 1 });
    expect(result).toEqual({ ok: false, failed: ['claims'], missing: 'claim "dept" with one of the values "eng", "ops"' });
    const typed = checkAllow(allowOf({ claims: { level: 1 } }), { level: '1' });
    expect(typed).toEqual({ ok: false, failed: ['claims'], missing: 'claim "level" with the value 1' });
  });
});

describe('all given keys must hold', () => {
  const allow = allowOf({ email_domains: ['example.com'], groups: ['admins'], claims: { dept: 'eng' } });

  it('passes only when every key does', () => {
    expect(checkAllow(allow, { email: 'a@example.com', email_verified: true, groups: ['admins'], dept: 'eng' })).toEqual(ok);
  });

  it('lists every failing key, in a fixed order', () => {
    expect(checkAllow(allow, { email: 'a@example.com', email_verified: true, groups: ['users'], dept: 'eng' })).toEqual({
      ok: false,
      failed: ['groups'],
      missing: 'membership in admins',
    });
    const none = checkAllow(allow, { email: 'a@other.org', email_verified: true, groups: ['users'], dept: 'sales', name: 'Mallory' });
    expect(none).toEqual({
      ok: false,
      failed: ['email_domains', 'groups', 'claims'],
      missing: 'an email address at example.com; membership in admins; claim "dept" with the value "eng"',
    });
    if (!none.ok) expect(none.missing).not.toMatch(/other\.org|users|sales|Mallory/);
  });

  it('says "verified" once when both email keys fail on an unverified address', () => {
    const both = allowOf({ emails: ['a@example.com'], email_domains: ['example.com'] });
    const result = checkAllow(both, { email: 'a@example.com', email_verified: false });
    expect(result).toEqual({ ok: false, failed: ['emails', 'email_domains'], missing: expect.stringMatching(/^a verified email address \([^;]*\)$/) });
  });
});

describe('parseEmail', () => {
  it('keeps the local part, ASCII-lower-cases the domain', () => {
    expect(parseEmail('Alice.Smith@Example.COM')).toEqual({ local: 'Alice.Smith', domain: 'example.com' });
    expect(parseEmail('user@bücher.example')).toEqual({ local: 'user', domain: 'bücher.example' });
  });

  it('judges every ASCII character as the Unicode classes do, in the local part and in a label', () => {
    // The plain ASCII patterns stand in for the Unicode-property ones (built only for non-ASCII input).
    const badLocal = /[\s\p{Cc}\p{Cf}]/u;
    const labelChar = /[\p{L}\p{N}\p{M}]/u;
    for (let code = 0; code < 128; code++) {
      const ch = String.fromCharCode(code);
      if (ch === '@') continue;
      expect(parseEmail(`a${ch}b@c.example`) === undefined, `local ${code}`).toBe(badLocal.test(ch));
      if (ch === '.' || ch === '-') continue;
      expect(parseEmail(`a@x${ch}y.example`) === undefined, `label ${code}`).toBe(!labelChar.test(ch));
    }
    // Non-ASCII takes the Unicode path: letters of any script pass, invisible characters do not.
    expect(parseEmail('jörg@bücher.example')).toBeDefined();
    expect(parseEmail('a\u200bb@c.example')).toBeUndefined();
    expect(parseEmail('a@bü\u200bcher.example')).toBeUndefined();
    expect(parseEmail(`a@${'ü'.repeat(63)}.example`)).toBeDefined();
    expect(parseEmail(`a@${'ü'.repeat(64)}.example`)).toBeUndefined();
  });

  it.each(['a@b@c.example', 'a @c.example', 'a@c .example', 'a\u0000@c.example', 'a@c.example.', 'a@-c.example', 'a@c_d.example', `${'a'.repeat(65)}@c.example`, 'a@'])(
    'refuses %j',
    (value) => {
      expect(parseEmail(value)).toBeUndefined();
    },
  );
});
