// CLAIM_HEADERS and the identity header budget: extra claims as headers, carried exactly or left out, bounded.
import { describe, expect, inject, it, vi } from 'vitest';
import { gateway } from '../support/gateway';
import { signIn, signInWithScript } from '../support/flows';
import { header, upstreamSees, NAVIGATE } from '../gateway/helpers';

const testIssuer = inject('testIssuerUrl');

async function scriptedUser(claims: Record<string, unknown>, config: Record<string, unknown> = {}) {
  const gw = gateway({ OIDC_ISSUER: testIssuer, ...config });
  const { callbackResponse } = await signInWithScript(gw, {
    idToken: { claims: { sub: 'dana', email: 'dana@example.com', name: 'Dana', ...claims } },
  });
  expect(callbackResponse.status).toBe(303);
  return gw;
}

describe('CLAIM_HEADERS', () => {
  it('forwards mapped claims from the real IdP, strings and lists', async () => {
    const gw = gateway({ CLAIM_HEADERS: { preferred_username: 'X-User-Login', groups: 'X-Roles' } });
    await signIn(gw, { user: 'alice' });
    const echo = await upstreamSees(gw, '/');
    expect(header(echo, 'x-user-login')).toBe('alice');
    expect(header(echo, 'x-roles')).toBe('admins,staff');
  });

  it('accepts the mapping as a JSON string too, and numbers and booleans as values', async () => {
    const gw = await scriptedUser({ department: 'eng', level: 7, contractor: false }, { CLAIM_HEADERS: '{"department":"X-User-Department","level":"X-User-Level","contractor":"X-User-Contractor"}' });
    const echo = await upstreamSees(gw, '/');
    expect(header(echo, 'x-user-department')).toBe('eng');
    expect(header(echo, 'x-user-level')).toBe('7');
    expect(header(echo, 'x-user-contractor')).toBe('false');
  });

  it('strips the mapped headers from incoming requests, in any spelling', async () => {
    const gw = await scriptedUser({}, { CLAIM_HEADERS: { department: 'Dept-Code' } });
    const echo = await upstreamSees(gw, '/', { headers: { ...NAVIGATE, 'dept-code': 'finance', DEPT_CODE: 'finance' } });
    expect(header(echo, 'dept-code')).toBeUndefined();
    expect(echo.rawHeaders.join('\n').toLowerCase()).not.toContain('finance');
  });

  it("replaces a client's value of a mapped header with the IdP's: exactly one value upstream", async () => {
    const gw = await scriptedUser({ department: 'eng' }, { CLAIM_HEADERS: { department: 'Dept-Code' } });
    const echo = await upstreamSees(gw, '/', { headers: { ...NAVIGATE, 'dept-code': 'finance', 'x-user': 'mallory' } });
    expect(header(echo, 'dept-code')).toBe('eng');
    expect(header(echo, 'x-user')).toBe('dana');
    expect(echo.rawHeaders.filter((h) => h.toLowerCase() === 'dept-code')).toHaveLength(1);
  });

  it('leaves out values with CR/LF, control characters or whitespace at an edge, and logs which', async () => {
    const warn = vi.spyOn(console, 'warn');
    const gw = await scriptedUser(
      { department: 'eng\r\nX-Evil: 1\u0000', name: 'Dana\nAdmin', site: ' Oslo', roles: ['ops', 'admin\t', 'dev'] },
      { CLAIM_HEADERS: { department: 'X-User-Department', site: 'X-User-Site', roles: 'X-User-Roles' } },
    );
    const echo = await upstreamSees(gw, '/');
    expect(header(echo, 'x-user-department')).toBeUndefined();
    expect(header(echo, 'x-user-name')).toBeUndefined();
    expect(header(echo, 'x-user-site')).toBeUndefined();
    expect(header(echo, 'x-user-roles')).toBe('ops,dev');
    expect(header(echo, 'x-evil')).toBeUndefined();
    expect(header(echo, 'x-user')).toBe('dana');
    const line = warn.mock.calls.map(([l]) => String(l)).find((l) => l.includes('identity_values_omitted'));
    warn.mockRestore();
    expect(line).toBeDefined();
    expect(JSON.parse(line!).headers).toEqual(['x-user-name', 'x-user-department', 'x-user-site', 'x-user-roles']);
    expect(line).not.toContain('Dana');
  });

  it('carries non-ASCII values in the RFC 8187 form UTF-8\'\'<percent-encoded>, per list item', async () => {
    const gw = await scriptedUser({ name: 'Zoë Ångström', department: 'Forschung & Entwicklung', teams: ['Zürich', 'ops'] }, { CLAIM_HEADERS: { department: 'X-User-Department', teams: 'X-User-Teams' } });
    const echo = await upstreamSees(gw, '/');
    expect(header(echo, 'x-user-name')).toBe("UTF-8''Zo%C3%AB%20%C3%85ngstr%C3%B6m");
    expect(decodeURIComponent(header(echo, 'x-user-name')!.slice(7))).toBe('Zoë Ångström');
    expect(header(echo, 'x-user-department')).toBe('Forschung & Entwicklung');
    expect(header(echo, 'x-user-teams')).toBe("UTF-8''Z%C3%BCrich,ops");
  });

  it('leaves out objects and list items with commas (they would split ambiguously)', async () => {
    const gw = await scriptedUser({ address: { city: 'Oslo' }, groups: ['a,b', 'ops'] }, { CLAIM_HEADERS: { address: 'X-User-Address' } });
    const echo = await upstreamSees(gw, '/');
    expect(header(echo, 'x-user-address')).toBeUndefined();
    expect(header(echo, 'x-user-groups')).toBe('ops');
  });
});

describe('identity header budget', () => {
  it('truncates a huge groups list with a marker, logs it, and never fails the request', async () => {
    const groups = Array.from({ length: 2000 }, (_, i) => `group-with-a-long-name-${i}`);
    const warn = vi.spyOn(console, 'warn');
    const gw = await scriptedUser({ groups });
    const echo = await upstreamSees(gw, '/');
    const value = header(echo, 'x-user-groups')!;
    expect(value.length).toBeLessThanOrEqual(8192);
    expect(value.startsWith('group-with-a-long-name-0,group-with-a-long-name-1,')).toBe(true);
    expect(value.endsWith(',...')).toBe(true);
    expect(header(echo, 'x-user')).toBe('dana');
    expect(warn.mock.calls.some(([line]) => String(line).includes('identity_headers_truncated'))).toBe(true);
    warn.mockRestore();
  });

  it('keeps everything within IDENTITY_HEADER_BUDGET across built-in and mapped headers', async () => {
    const long = Array.from({ length: 400 }, (_, i) => `role-${i}`);
    const gw = await scriptedUser({ groups: long, roles: long }, { IDENTITY_HEADER_BUDGET: '2048', CLAIM_HEADERS: { roles: 'X-User-Roles' } });
    const echo = await upstreamSees(gw, '/');
    const names = ['x-user', 'x-user-email', 'x-user-name', 'x-user-groups', 'x-user-roles'];
    const total = names.reduce((sum, n) => sum + (header(echo, n) ? n.length + 2 + new TextEncoder().encode(header(echo, n)!).length : 0), 0);
    expect(total).toBeLessThanOrEqual(2048);
    expect(header(echo, 'x-user-groups')!.endsWith(',...')).toBe(true);
  });
});
