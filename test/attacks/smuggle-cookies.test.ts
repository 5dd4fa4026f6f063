// Cookie tricks against the gateway's session cookie: sent twice (two Cookie header fields, joined
// with ", "), hidden inside another cookie's value, renamed (other case, without the __Host- prefix),
// buried under many or huge cookies. The gateway never reads a session out of anything but its own
// cookie, never forwards its cookie to the upstream in any disguise, does bounded work however many
// cookies arrive — and a real user with lots of upstream cookies still stays signed in.
import { describe, expect, it } from 'vitest';
import { signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { API, NAVIGATE, SESSION_COOKIE, echoOf, identityHeaders, testIssuer, timed } from './helpers';

const ROUTES = [{ path: '/pub/**', auth: 'public' }];

async function signedIn(sub = 'alice'): Promise<{ gw: Gateway; value: string }> {
  const gw = gateway({ OIDC_ISSUER: testIssuer, ROUTES });
  await signInWithScript(gw, { idToken: { claims: { sub } } });
  return { gw, value: gw.jar.get(SESSION_COOKIE)! };
}

/** A request with exactly these Cookie header fields (each appended separately). */
function withCookies(fields: string[], base: Record<string, string> = NAVIGATE): RequestInit & { cookies: false } {
  const headers = new Headers(base);
  for (const field of fields) headers.append('cookie', field);
  return { headers, cookies: false };
}

describe('the session cookie in disguise', () => {
  it('sent in two Cookie header fields: no session is read from the joined value, and the upstream never gets it', async () => {
    const { gw, value } = await signedIn();
    for (const fields of [[`a=1`, `${SESSION_COOKIE}=${value}`], [`${SESSION_COOKIE}=${value}`, `a=1`]]) {
      const denied = await gw.fetch('/page', withCookies(fields, API));
      expect(denied.status, fields.join(' | ')).toBe(401);
      const echo = await echoOf(await gw.fetch('/pub/page', withCookies(fields)));
      expect(JSON.stringify(echo), fields.join(' | ')).not.toContain(value);
      expect(identityHeaders(echo)).toEqual({});
    }
  });

  it('inside another cookie’s value (comma-joined or quoted): never read as the session, never forwarded', async () => {
    const { value } = await signedIn('mallory');
    const victim = gateway({ OIDC_ISSUER: testIssuer, ROUTES });
    // The last one is just a value (no parser splits it off), forwarded as such; the others are pieces
    // an RFC 2109 (comma) or quoting cookie parser at the upstream would read as a cookie of their own.
    const planted: [string, boolean][] = [
      [`pref=a, ${SESSION_COOKIE}=${value}`, true],
      [`pref="x; ${SESSION_COOKIE}=${value}"`, true],
      [`pref=a,${SESSION_COOKIE}=${value},b=2`, true],
      [`pref=${SESSION_COOKIE}=${value}`, false],
    ];
    for (const [cookie, separable] of planted) {
      const res = await victim.fetch('/page', withCookies([cookie], API));
      expect(res.status, cookie).toBe(401);
      const echo = await echoOf(await victim.fetch('/pub/page', withCookies([cookie])));
      expect(identityHeaders(echo), cookie).toEqual({});
      const forwarded = String(echo.headers['cookie'] ?? '');
      if (separable) expect(forwarded.split(/[;,]/).some((piece) => piece.trim().startsWith(`${SESSION_COOKIE}=`)), `${cookie} → ${forwarded}`).toBe(false);
    }
  });

  it('the upstream’s cookies around it arrive byte for byte, with commas in values intact', async () => {
    const { gw, value } = await signedIn();
    const echo = await echoOf(await gw.fetch('/page', withCookies([`a=1; list=x,y,z; ${SESSION_COOKIE}=${value}; b="q, r"`])));
    expect(echo.headers['cookie']).toBe('a=1; list=x,y,z; b="q, r"');
  });

  it.each([
    ['without the __Host- prefix (a sibling subdomain can set that)', (v: string) => `edgegate=${v}`],
    ['with the prefix in another letter case', (v: string) => `__host-edgegate=${v}`],
    ['under another name', (v: string) => `__Host-edgegate2=${v}`],
    ['with a trailing byte', (v: string) => `${SESSION_COOKIE}=${v}x`],
    // 43 base64url characters carry 258 bits for a 256-bit secret: the last character's low bits are
    // padding. A spelling with them set decodes to the same secret, and must not open the session.
    ['spelled non-canonically (padding bits of the secret set)', (v: string) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      return `${SESSION_COOKIE}=${v.slice(0, -1)}${alphabet[alphabet.indexOf(v.at(-1)!) ^ 1]}`;
    }],
  ])('%s: not a session', async (_label, cookie) => {
    const { gw, value } = await signedIn();
    expect((await gw.fetch('/page', withCookies([cookie(value)], API))).status).toBe(401);
  });
});

describe('many and huge cookies', () => {
  it('a real user with 20 KB of upstream cookies stays signed in (no sign-in loop)', async () => {
    const { gw, value } = await signedIn();
    const upstream = Array.from({ length: 50 }, (_, i) => `site_${i}=${'v'.repeat(400)}`);
    const res = await gw.fetch('/page', withCookies([[...upstream, `${SESSION_COOKIE}=${value}`].join('; ')]));
    const echo = await echoOf(res);
    expect(identityHeaders(echo)['x-user']).toBe('alice');
    expect(String(echo.headers['cookie']).length).toBeGreaterThan(20_000);
  });

  it.each([
    ['5000 tiny cookies', () => Array.from({ length: 5000 }, (_, i) => `c${i}=1`).join('; ')],
    ['3000 fake sign-in transaction cookies', () => Array.from({ length: 3000 }, (_, i) => `__Host-edgegate-tx-${String(i).padStart(12, '0')}=v1.${'A'.repeat(40)}`).join('; ')],
    ['one 1 MB cookie', () => `big=${'x'.repeat(1024 * 1024)}`],
    ['a 1 MB session cookie', () => `${SESSION_COOKIE}=${'A'.repeat(1024 * 1024)}`],
  ])('%s: answered quickly, no 500, no session, a bounded number of Set-Cookie headers', async (_label, make) => {
    const gw = gateway({ OIDC_ISSUER: testIssuer, ROUTES });
    const cookie = make();
    for (const path of ['/_auth/login?rd=%2F', '/page', '/_auth/callback?state=abc&code=x']) {
      const { ms, value: res } = await timed(() => gw.fetch(path, withCookies([cookie], { accept: 'text/html' })));
      await res.arrayBuffer();
      expect(res.status, path).not.toBe(500);
      expect(res.status, path).not.toBe(200);
      expect(ms, `${path}: bounded work`).toBeLessThan(1500);
      expect(res.headers.getSetCookie().length, path).toBeLessThanOrEqual(301);
    }
  });
});
