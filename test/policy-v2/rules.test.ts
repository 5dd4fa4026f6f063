// Policy v2 in the config: every mistake is reported by name (an unknown key in deny / allow_any, a
// CIDR range with more than one reading, an identity condition on a public rule), and addresses parse
// strictly — in the config and from CF-Connecting-IP alike.
import { describe, expect, it } from 'vitest';
import { parseRoutes } from '../../src/policy/rules';
import { cidrContains, cidrText, parseCidr, parseIp } from '../../src/policy/cidr';

function problemsOf(rule: Record<string, unknown>) {
  const result = parseRoutes([{ path: '/first', auth: 'public' }, rule]);
  return 'problems' in result ? result.problems : [];
}
const base = { path: '/x/**', auth: 'session' };

describe('config errors by name', () => {
  it.each([
    ['unknown deny key', { ...base, deny: { country: ['RU'] } }, 'ROUTES[1].deny.country', /is not a deny key; expected one of: emails, email_domains, groups, claims, ips, countries, asns, amr, acr, email_verified/],
    ['unknown allow_any key', { ...base, allow_any: [{ groups: ['a'] }, { ip: ['10.0.0.0/8'] }] }, 'ROUTES[1].allow_any[1].ip', /is not an allow_any key/],
    ['unknown allow key', { ...base, allow: { networks: ['10.0.0.0/8'] } }, 'ROUTES[1].allow.networks', /is not an allow key/],
    ['allow_any not a list', { ...base, allow_any: { groups: ['a'] } }, 'ROUTES[1].allow_any', /expected a list of condition tables/],
    ['allow_any empty', { ...base, allow_any: [] }, 'ROUTES[1].allow_any', /is empty/],
    ['empty table in allow_any', { ...base, allow_any: [{}] }, 'ROUTES[1].allow_any[0]', /is empty/],
    ['empty deny', { ...base, deny: {} }, 'ROUTES[1].deny', /is empty/],
    ['host bits set', { ...base, allow: { ips: ['10.0.0.1/8'] } }, 'ROUTES[1].allow.ips[0]', /bits set after the \/8 prefix; write the network address \(e\.g\. 10\.0\.0\.0\/8\)/],
    ['octal-looking octet', { ...base, allow: { ips: ['010.0.0.0/8'] } }, 'ROUTES[1].allow.ips[0]', /without leading zeros/],
    ['short IPv4', { ...base, deny: { ips: ['10.1'] } }, 'ROUTES[1].deny.ips[0]', /CIDR range/],
    ['prefix too long', { ...base, allow: { ips: ['10.0.0.0/33'] } }, 'ROUTES[1].allow.ips[0]', /from 0 to 32/],
    ['IPv6 with a zone', { ...base, allow: { ips: ['fe80::1%eth0'] } }, 'ROUTES[1].allow.ips[0]', /no zone id/],
    ['IPv6 host bits', { ...base, allow: { ips: ['2001:db8::1/32'] } }, 'ROUTES[1].allow.ips[0]', /2001:db8::\/32/],
    ['ips not a list', { ...base, allow: { ips: '10.0.0.0/8' } }, 'ROUTES[1].allow.ips', /expected a list of CIDR ranges/],
    ['country of three letters', { ...base, allow: { countries: ['DEU'] } }, 'ROUTES[1].allow.countries[0]', /two-letter country code/],
    ['AS number as text', { ...base, allow: { asns: ['AS13335'] } }, 'ROUTES[1].allow.asns[0]', /AS number/],
    ['AS number 0', { ...base, allow: { asns: [0] } }, 'ROUTES[1].allow.asns[0]', /start at 1/],
    ['amr empty', { ...base, allow: { amr: [] } }, 'ROUTES[1].allow.amr', /is empty/],
    ['email_verified as text', { ...base, allow: { email_verified: 'true' } }, 'ROUTES[1].allow.email_verified', /true or false/],
    ['claim operator unknown', { ...base, allow: { claims: { level: { max: 3 } } } }, 'ROUTES[1].allow.claims.level', /\{ present = true \} or \{ min = <number> \}/],
    ['claim regex refused', { ...base, allow: { claims: { dept: { matches: '^eng' } } } }, 'ROUTES[1].allow.claims.dept', /string, number or boolean/],
    ['min as text', { ...base, allow: { claims: { level: { min: '3' } } } }, 'ROUTES[1].allow.claims.level', /min = <number>/],
    ['present false', { ...base, allow: { claims: { level: { present: false } } } }, 'ROUTES[1].allow.claims.level', /present = true/],
    ['allow_any on public', { path: '/x', auth: 'public', allow_any: [{ groups: ['a'] }] }, 'ROUTES[1].allow_any', /means nothing on a public rule/],
    ['identity deny on public', { path: '/x', auth: 'public', deny: { groups: ['a'], countries: ['RU'] } }, 'ROUTES[1].deny.groups', /only ips, countries, asns can refuse here/],
  ])('%s', (_label, rule, key, message) => {
    const problems = problemsOf(rule);
    expect(problems.map((p) => p.key)).toContain(key);
    expect(problems.find((p) => p.key === key)!.message).toMatch(message);
  });

  it('accepts the documented forms; a network deny on a public rule is fine', () => {
    expect(
      problemsOf({
        ...base,
        deny: { countries: ['ru', 'T1'], ips: ['192.0.2.0/24'], emails: ['mallory@example.com'] },
        allow_any: [{ groups: ['admins'], amr: ['mfa'] }, { ips: ['10.0.0.0/8', '2001:db8::/32', '::ffff:198.51.100.0/120'], asns: [13335], email_verified: true, acr: ['urn:x:2'], claims: { level: { min: 2 }, team: { present: true }, dept: ['eng'] } }],
      }),
    ).toEqual([]);
    expect(problemsOf({ path: '/y', auth: 'public', deny: { countries: ['RU'] } })).toEqual([]);
  });

  it('rules that differ only in policy are not identical; lists in another order are', () => {
    const result = parseRoutes([
      { ...base, deny: { ips: ['10.0.0.0/8'] } },
      { ...base, methods: ['GET'], deny: { ips: ['10.0.0.0/8', '192.0.2.0/24'] } },
      { ...base, methods: ['GET'], deny: { ips: ['192.0.2.0/24', '10.0.0.0/8'] } },
    ]);
    expect('problems' in result && result.problems.map((p) => p.key)).toEqual(['ROUTES[1]', 'ROUTES[2]']);
  });
});

describe('addresses: one reading each', () => {
  it.each(['203.0.113.7', '0.0.0.0', '255.255.255.255', '::', '::1', '2001:db8::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::ffff:1.2.3.4', '64:ff9b::192.0.2.1'])('%s parses', (ip) => {
    expect(parseIp(ip)).toBeTypeOf('bigint');
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', ' 1.2.3.4', '1.2.3.4 ', '0x1.2.3.4', '1:2:3:4:5:6:7:8:9', '1::2::3', ':::', '1:2:3:4:5:6:7:8::', 'fe80::1%1', '12345::', '::1.2.3', '1.2.3.4::', '２.3.4.5'])('%j is refused', (ip) => {
    expect(parseIp(ip)).toBeUndefined();
  });

  it('IPv4 and its IPv4-mapped IPv6 form are one address; IPv4-compatible and NAT64 forms are not', () => {
    const range = parseCidr('203.0.113.0/24');
    if ('problem' in range) throw new Error(range.problem);
    expect(cidrContains(range, parseIp('::ffff:203.0.113.9')!)).toBe(true);
    expect(cidrContains(range, parseIp('::203.0.113.9')!)).toBe(false);
    expect(cidrContains(range, parseIp('64:ff9b::203.0.113.9')!)).toBe(false);
    expect(cidrContains(range, parseIp('203.0.114.1')!)).toBe(false);
    expect(cidrText(range)).toBe('203.0.113.0/24');
  });

  it('an IPv6 range never matches an IPv4 client unless it covers the mapped block', () => {
    const v6 = parseCidr('2001:db8::/32');
    const all = parseCidr('::/0');
    if ('problem' in v6 || 'problem' in all) throw new Error('bad');
    expect(cidrContains(v6, parseIp('32.1.13.184')!)).toBe(false);
    expect(cidrContains(all, parseIp('32.1.13.184')!)).toBe(true);
    expect(cidrText(v6)).toBe('2001:db8::/32');
  });
});
