// Policy v2 as a decision table (identity × client address × country × AS × rule), run twice with the
// same rows: through the worker (real sessions from the local IdP; CF-Connecting-IP and request.cf
// injected as Cloudflare would set them) and through the `check` command's decideSample (the claims
// those sessions hold). Both must give the same outcome.
//   alice  verified, groups admins + staff · bob  verified, staff · carol  unverified, no groups
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../support/gateway';
import { NAVIGATE, API, echoOf, identityHeaders, refusal, signedInAs, withRoutes } from '../routes/helpers';
import { decideSample, explainSample } from '../../src/check/main';
import { parseRoutes } from '../../src/policy/rules';
import { judgeRequest } from '../../src/policy/readings';

const ROUTES = [
  { path: '/office/**', auth: 'session', allow: { groups: ['staff'], ips: ['203.0.113.0/24', '2001:db8::/32'] } },
  { path: '/eu/**', auth: 'session', allow: { countries: ['DE', 'AT'] } },
  { path: '/no-ru/**', auth: 'session', deny: { countries: ['RU'] } },
  { path: '/admin/**', auth: 'session', allow: { groups: ['admins'] }, deny: { ips: ['203.0.113.66'] } },
  { path: '/either/**', auth: 'session', allow_any: [{ groups: ['admins'] }, { ips: ['198.51.100.0/24'], countries: ['DE'] }] },
  { path: '/asn/**', auth: 'session', allow: { asns: [64500] } },
  { path: '/pub/**', auth: 'public', deny: { countries: ['RU', 'T1'] } },
  { path: '/verified/**', auth: 'session', allow: { email_verified: true } },
  { path: '/no-contractors/**', auth: 'session', deny: { email_domains: ['contractor.example'], claims: { name: { present: true }, level: { min: 3 } } } },
  { path: '/api/office/**', auth: 'api', allow: { ips: ['203.0.113.0/24'] } },
];

/** The claims the local IdP's users end up with in their sessions (scripts/idp.mjs). */
const CLAIMS: Record<string, Record<string, unknown>> = {
  alice: { sub: 'alice', name: 'Alice Admin', email: 'alice@example.com', email_verified: true, groups: ['admins', 'staff'] },
  bob: { sub: 'bob', name: 'Bob Builder', email: 'bob@example.com', email_verified: true, groups: ['staff'] },
  carol: { sub: 'carol', name: 'Carol Contractor', email: 'carol@contractor.example', email_verified: false, groups: [] },
};

type Outcome = 'forward' | 'forbidden' | 'sign-in';
interface Row {
  user: string | null;
  ip?: string;
  country?: string;
  asn?: number;
  path: string;
  expect: Outcome;
}

const rows: Row[] = [
  { user: 'bob', ip: '203.0.113.7', path: '/office/x', expect: 'forward' },
  { user: 'bob', ip: '::ffff:203.0.113.7', path: '/office/x', expect: 'forward' }, // IPv4-mapped IPv6
  { user: 'bob', ip: '::FFFF:cb00:7107', path: '/office/x', expect: 'forward' }, // the same, in hex
  { user: 'bob', ip: '2001:db8:1::5', path: '/office/x', expect: 'forward' },
  { user: 'bob', ip: '2001:db9::5', path: '/office/x', expect: 'forbidden' },
  { user: 'bob', ip: '198.51.100.1', path: '/office/x', expect: 'forbidden' },
  { user: 'bob', path: '/office/x', expect: 'forbidden' }, // no CF-Connecting-IP: no allowed network
  { user: 'bob', ip: '203.0.113.007', path: '/office/x', expect: 'forbidden' }, // not one reading: unknown
  { user: 'carol', ip: '203.0.113.7', path: '/office/x', expect: 'forbidden' },
  { user: 'bob', country: 'DE', path: '/eu/x', expect: 'forward' },
  { user: 'bob', country: 'US', path: '/eu/x', expect: 'forbidden' },
  { user: 'bob', path: '/eu/x', expect: 'forbidden' }, // no request.cf
  { user: 'bob', country: 'DE', path: '/no-ru/x', expect: 'forward' },
  { user: 'bob', country: 'RU', path: '/no-ru/x', expect: 'forbidden' },
  { user: 'bob', path: '/no-ru/x', expect: 'forbidden' }, // when unsure, deny
  { user: null, country: 'RU', path: '/no-ru/x', expect: 'forbidden' }, // refused before any sign-in
  { user: null, country: 'DE', path: '/no-ru/x', expect: 'sign-in' },
  { user: 'alice', ip: '203.0.113.7', path: '/admin/x', expect: 'forward' },
  { user: 'alice', ip: '203.0.113.66', path: '/admin/x', expect: 'forbidden' }, // deny beats allow
  { user: 'bob', ip: '203.0.113.7', path: '/admin/x', expect: 'forbidden' },
  { user: 'alice', ip: '192.0.2.1', country: 'US', path: '/either/x', expect: 'forward' },
  { user: 'bob', ip: '198.51.100.9', country: 'DE', path: '/either/x', expect: 'forward' },
  { user: 'bob', ip: '198.51.100.9', country: 'FR', path: '/either/x', expect: 'forbidden' },
  { user: 'bob', ip: '203.0.113.7', country: 'DE', path: '/either/x', expect: 'forbidden' },
  { user: 'bob', asn: 64500, path: '/asn/x', expect: 'forward' },
  { user: 'bob', asn: 64501, path: '/asn/x', expect: 'forbidden' },
  { user: null, country: 'DE', path: '/pub/x', expect: 'forward' },
  { user: null, country: 'T1', path: '/pub/x', expect: 'forbidden' },
  { user: 'alice', country: 'RU', path: '/pub/x', expect: 'forbidden' },
  { user: 'bob', path: '/verified/x', expect: 'forward' },
  { user: 'carol', path: '/verified/x', expect: 'forbidden' },
  // Denied on the (unverified) address too: refusing more is the safe mistake. The `name` claim is present for every user.
  { user: 'carol', path: '/no-contractors/x', expect: 'forbidden' },
  { user: 'bob', path: '/no-contractors/x', expect: 'forbidden' },
];

const users: Record<string, Gateway> = {};
beforeAll(async () => {
  for (const user of ['alice', 'bob', 'carol']) users[user] = await signedInAs(user, ROUTES);
});

function requestOf(row: Row): RequestInit {
  const headers: Record<string, string> = { ...NAVIGATE };
  if (row.ip) headers['cf-connecting-ip'] = row.ip;
  const cf: Record<string, unknown> = {};
  if (row.country) cf['country'] = row.country;
  if (row.asn !== undefined) cf['asn'] = row.asn;
  return { headers, ...(Object.keys(cf).length > 0 ? { cf } : {}) } as RequestInit;
}

async function throughWorker(row: Row): Promise<Outcome> {
  const gw = row.user ? users[row.user]! : withRoutes(ROUTES);
  const res = await gw.fetch(row.path, { ...requestOf(row), cookies: row.user !== null });
  const text = await res.text();
  if (res.status === 200) return 'forward';
  if (res.status === 403) return 'forbidden';
  if (res.status === 302) return 'sign-in';
  throw new Error(`${row.path}: unexpected ${res.status} ${text.slice(0, 200)}`);
}

function throughCheck(row: Row): Outcome {
  const parsed = parseRoutes(ROUTES);
  if ('problems' in parsed) throw new Error(JSON.stringify(parsed.problems));
  const { rule } = judgeRequest(parsed.rules, { host: 'localhost', method: 'GET', rawPath: row.path }, 'sensitive');
  const network = { ...(row.ip ? { ip: row.ip } : {}), ...(row.country ? { country: row.country } : {}), ...(row.asn !== undefined ? { asn: row.asn } : {}) };
  const verdict = decideSample(rule, 'GET', { ...(row.user ? { claims: CLAIMS[row.user]! } : {}), network });
  if (verdict.action === 'forward' || verdict.action === 'forbidden' || verdict.action === 'sign-in') return verdict.action;
  throw new Error(`unexpected verdict ${verdict.action}`);
}

const label = (row: Row) => `${row.user ?? 'anonymous'} ${row.path} ip=${row.ip ?? '-'} country=${row.country ?? '-'} asn=${row.asn ?? '-'} → ${row.expect}`;

describe('the decision table, through the worker and through check', () => {
  for (const row of rows) {
    it(label(row), async () => {
      expect(await throughWorker(row)).toBe(row.expect);
      expect(throughCheck(row)).toBe(row.expect);
    });
  }
});

describe('the 403 answer names the condition, not the user', () => {
  it('a deny on the network: which rule and key, and no address', async () => {
    const res = await users['alice']!.fetch('/admin/x', requestOf({ user: 'alice', ip: '203.0.113.66', path: '/admin/x', expect: 'forbidden' }));
    const page = await res.text();
    expect(res.status).toBe(403);
    expect(page).toContain('This page is not available from your network');
    expect(page).toContain('ROUTES[3] deny: ips');
    expect(page).not.toContain('203.0.113');
    expect(page).not.toContain('alice');
  });

  it('an unmet allow network condition names the key, not the configured ranges', async () => {
    const res = await users['bob']!.fetch('/office/x', requestOf({ user: 'bob', ip: '198.51.100.1', path: '/office/x', expect: 'forbidden' }));
    const page = await res.text();
    expect(page).toContain('a connection from an allowed network');
    expect(page).toContain('ROUTES[0] allow: ips');
    expect(page).not.toMatch(/203\.0\.113|2001:db8|198\.51/);
  });

  it('JSON on api rules, with rule and condition as fields', async () => {
    const r = await refusal(await users['bob']!.fetch('/api/office/x', { headers: { ...API, 'cf-connecting-ip': '198.51.100.1' } }));
    expect([r.status, r.error, r.body['rule'], r.body['condition']]).toEqual([403, 'forbidden', '9', 'allow: ips']);
    expect(JSON.stringify(r.body)).not.toMatch(/bob|staff|198\.51/);
    const ok = await echoOf(await users['bob']!.fetch('/api/office/x', { headers: { ...API, 'cf-connecting-ip': '203.0.113.1' } }));
    expect(identityHeaders(ok)['x-user']).toBe('bob');
  });

  it('check prints the decision and the condition that decided', () => {
    const parsed = parseRoutes(ROUTES);
    if ('problems' in parsed) throw new Error('invalid');
    const lines = explainSample(parsed.rules, '/admin/x', 'sensitive', { asking: { claims: CLAIMS['alice']!, network: { ip: '203.0.113.66' } }, settings: {} });
    expect(lines.at(-1)).toBe('  decision: 403 forbidden by ROUTES[3] deny: ips: not available from your network');
  });
});
