// An attacker picks a user name or group the IdP stores verbatim but an HTTP parser does not carry
// verbatim: a trailing tab (`preferred_username: "admin\t"` became `X-User: admin` once control
// characters were turned into spaces and the upstream trimmed them), a leading space in a group
// (`" admins"` arrived as `admins`), CR/LF, a comma inside one group, or a value that looks like the
// gateway's own encoding of non-ASCII text (`UTF-8''admin`). Accounts of the local IdP (scripts/idp.mjs):
//   mallory-tab     preferred_username "admin\t", name "Mallory\r\nX-User: admin",
//                   groups [" admins", "staff", "ops,admins", "x\u0000"]
//   mallory-marker  preferred_username and name starting with "UTF-8''"
//   jose            name "José Müller", preferred_username "josé", groups ["équipe", "staff"]
// X-User is never altered: a value that cannot be carried exactly is refused (403). Other headers
// leave such a value out (logged); non-ASCII is carried as RFC 8187 `UTF-8''<percent-encoded>`.
import { describe, expect, it } from 'vitest';
import { captureLogs } from '../support/logs';
import { API, NAVIGATE, echoOf, identityHeaders } from './helpers';
import { refusal, signedInAs } from '../routes/helpers';

const ROUTES = [{ path: '/admins/**', auth: 'session', allow: { groups: ['admins'] } }];

/** What a reader of the RFC 8187 form gets back. */
const decode = (value: string) => (value.startsWith("UTF-8''") ? decodeURIComponent(value.slice(7)) : value);

describe('identity values are forwarded exactly or not at all', () => {
  it('X-User from "admin\\t" is refused, not trimmed to "admin"', async () => {
    const gw = await signedInAs('mallory-tab', ROUTES, { USER_CLAIM: 'preferred_username' });
    const logs = captureLogs();
    try {
      const res = await gw.fetch('/page', { headers: NAVIGATE });
      const page = await res.text();
      expect(res.status, page.slice(0, 300)).toBe(403);
      expect(page).not.toContain('"rawHeaders"');
      const json = await refusal(await gw.fetch('/page', { headers: API }));
      expect([json.status, json.error]).toEqual([403, 'identity_unusable']);
    } finally {
      logs.restore();
    }
    expect(logs.lines.join('\n')).toMatch(/identity_unusable/);
    expect(logs.lines.join('\n')).not.toContain('admin\\t');
  });

  it('leaves out a name with CR/LF and groups that would change meaning, and logs it', async () => {
    const gw = await signedInAs('mallory-tab', ROUTES);
    const logs = captureLogs();
    let sent: Record<string, string>;
    try {
      sent = identityHeaders(await echoOf(await gw.fetch('/page', { headers: NAVIGATE })));
    } finally {
      logs.restore();
    }
    expect(sent['x-user']).toBe('mallory-tab');
    expect(sent['x-user-name']).toBeUndefined();
    expect(sent['x-user-groups']).toBe('staff');
    expect(Object.keys(sent).filter((name) => !name.startsWith('x-user'))).toEqual([]);
    expect(logs.lines.join('\n')).toMatch(/identity_values_omitted/);
  });

  it('allow judges the groups as forwarded: " admins" is not admins', async () => {
    const gw = await signedInAs('mallory-tab', ROUTES);
    expect((await gw.fetch('/admins/x', { headers: NAVIGATE })).status).toBe(403);
  });

  it('a value that looks like the encoded form is encoded itself, so it cannot decode to "admin"', async () => {
    const gw = await signedInAs('mallory-marker', ROUTES, { USER_CLAIM: 'preferred_username' });
    const sent = identityHeaders(await echoOf(await gw.fetch('/page', { headers: NAVIGATE })));
    expect(decode(sent['x-user']!)).toBe("UTF-8''admin");
    expect(decode(sent['x-user-name']!)).toBe("UTF-8''Admin");
  });

  it('non-ASCII names and groups arrive in the RFC 8187 form and decode to exactly the IdP’s value', async () => {
    const gw = await signedInAs('jose', ROUTES, { USER_CLAIM: 'preferred_username' });
    const sent = identityHeaders(await echoOf(await gw.fetch('/page', { headers: NAVIGATE })));
    expect(sent['x-user']).toBe("UTF-8''jos%C3%A9");
    expect(sent['x-user-name']).toBe("UTF-8''Jos%C3%A9%20M%C3%BCller");
    expect(sent['x-user-groups']).toBe("UTF-8''%C3%A9quipe,staff");
    expect(decode(sent['x-user-name']!)).toBe('José Müller');
  });

  it('plain ASCII values are unchanged', async () => {
    const gw = await signedInAs('alice', ROUTES, { USER_CLAIM: 'preferred_username' });
    const sent = identityHeaders(await echoOf(await gw.fetch('/admins/x', { headers: NAVIGATE })));
    expect(sent).toMatchObject({ 'x-user': 'alice', 'x-user-name': 'Alice Admin', 'x-user-groups': 'admins,staff', 'x-user-email': 'alice@example.com' });
  });
});
