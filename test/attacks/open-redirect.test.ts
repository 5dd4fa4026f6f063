// An attacker crafts a link to the gateway whose redirect parameter sends the victim, after a genuine
// sign-in or sign-out, to a site of the attacker's (phishing that starts on the real domain). Every
// parameter that decides where the browser goes — `rd` of /_auth/login and /_auth/logout, the logout
// `state` read by /_auth/signed-out, the return path kept through sign-in — ends on this origin, for a
// broad corpus of encodings, schemes, backslash, whitespace and dot-segment tricks.
import { describe, expect, it } from 'vitest';
import { safeReturnPath } from '../../src/routes/return-path';
import { callback, scriptCode, signInWithScript, startSignIn } from '../support/flows';
import { gateway } from '../support/gateway';
import { NAVIGATE, testIssuer } from './helpers';

const ORIGIN = 'https://localhost';
const SAME_ORIGIN = { ...NAVIGATE, 'sec-fetch-site': 'same-origin' };

const EVIL = 'evil.example';
/** Values an attacker puts in `rd` (as they arrive after URL decoding). */
const CORPUS: string[] = [
  `https://${EVIL}/`, `http://${EVIL}`, `HTTPS://${EVIL}`, `https:${EVIL}`, `https:/${EVIL}`, `https:/\\${EVIL}`, `https:\\\\${EVIL}`,
  `//${EVIL}`, `///${EVIL}`, `////${EVIL}`, `//${EVIL}/%2F..`, `//${EVIL}%2F@localhost`, `//localhost@${EVIL}`, `//${EVIL}\\@localhost`,
  `/\\${EVIL}`, `\\/${EVIL}`, `\\\\${EVIL}`, `/\\/${EVIL}`, `/\\\\${EVIL}`, `\\${EVIL}`,
  `/..//${EVIL}`, `/.//${EVIL}`, `/./..//${EVIL}`, `/x/..//${EVIL}`, `/a/../..//${EVIL}`, `/%2e%2e//${EVIL}`, `/%2e//${EVIL}`, `/.%2e//${EVIL}`,
  `/..%2f%2f${EVIL}`, `/%2F%2F${EVIL}`, `/%2f/${EVIL}`, `/%5C${EVIL}`, `/%5c%5c${EVIL}`, `%2F%2F${EVIL}`, `%5C%5C${EVIL}`,
  `\t//${EVIL}`, `/\t/${EVIL}`, `//\t${EVIL}`, `\n//${EVIL}`, `/\n/${EVIL}`, `/\r\n/${EVIL}`, ` //${EVIL}`, `/ /${EVIL}`, `\u00a0//${EVIL}`, `/\u0000/${EVIL}`,
  `/\u3002${EVIL}`, `//${EVIL.replace('.', '\u3002')}`, `//${EVIL.replace('.', '\uff0e')}`, `/\uff0f${EVIL}`, `/\u2215${EVIL}`, `\u2044\u2044${EVIL}`,
  `/%0d%0aLocation:%20https://${EVIL}`, `/\r\nLocation: https://${EVIL}`, `/%E2%80%A8//${EVIL}`,
  `javascript:alert(document.domain)`, `JaVaScRiPt:alert(1)`, `/javascript:alert(1)`, `java\tscript:alert(1)`, `data:text/html,<script>alert(1)</script>`,
  `vbscript:msgbox(1)`, `file:///etc/passwd`, `blob:https://${EVIL}/x`, `mailto:a@${EVIL}`,
  `/_auth/logout`, `/_auth/login?rd=//${EVIL}`, `/%5Fauth/logout`, `//localhost/_auth/logout`,
  `?rd=//${EVIL}`, `#//${EVIL}`, `.//${EVIL}`, `..//${EVIL}`, `${EVIL}`, `@${EVIL}`, `:${EVIL}`,
  `/${'a'.repeat(3000)}`, '',
];

/** A location that a browser, from any page of this origin, resolves to this origin. */
function staysHome(location: string | null | undefined, what: string) {
  expect(location, what).toBeTypeOf('string');
  expect(location, what).toMatch(/^\/(?![/\\])/);
  // eslint-disable-next-line no-control-regex
  expect(location, what).not.toMatch(/[\x00-\x20\x7f\\]/);
  for (const base of [`${ORIGIN}/`, `${ORIGIN}/a/b/c?d`]) expect(new URL(location!, base).origin, what).toBe(ORIGIN);
  expect(new URL(location!, ORIGIN).pathname.startsWith('/_auth/'), what).toBe(false);
}

describe('safeReturnPath (every redirect parameter goes through it)', () => {
  it.each(CORPUS.map((rd) => [JSON.stringify(rd).slice(0, 60), rd]))('%s stays on this origin', (_label, rd) => {
    staysHome(safeReturnPath(rd, ORIGIN), rd);
  });

  it.each([
    ['/reports?q=1', '/reports?q=1'],
    ['/a/b/../c', '/a/c'],
    ['/caf%C3%A9', '/caf%C3%A9'],
    ['/café', '/caf%C3%A9'],
    ['/x?next=//elsewhere', '/x?next=//elsewhere'],
  ])('keeps the harmless same-origin path %s as %s', (rd, expected) => {
    expect(safeReturnPath(rd, ORIGIN)).toBe(expected);
  });
});

describe('rd of /_auth/login, after a real sign-in', () => {
  it('lands on this origin for every value of the corpus', async () => {
    for (const rd of CORPUS) {
      const gw = gateway({ OIDC_ISSUER: testIssuer });
      const { callbackResponse } = await signInWithScript(gw, {}, { rd });
      expect(callbackResponse.status, rd).toBe(303);
      staysHome(callbackResponse.headers.get('location'), `rd=${JSON.stringify(rd)}`);
    }
  });
});

describe('rd of /_auth/logout, through the signed-out landing page', () => {
  it('leads on to this origin only, for every value of the corpus (and the cross-site form keeps it safe)', async () => {
    const gw = gateway({ OIDC_ISSUER: testIssuer });
    for (const rd of CORPUS) {
      const logout = await gw.fetch(`/_auth/logout?rd=${encodeURIComponent(rd)}`, { headers: SAME_ORIGIN });
      expect(logout.status, rd).toBe(303);
      const location = logout.headers.get('location')!;
      expect(new URL(location).origin, rd).toBe(ORIGIN);
      const landing = await (await gw.fetch(location, { headers: NAVIGATE })).text();
      const link = /<a class="button" href="([^"]*)"/.exec(landing)?.[1]?.replace(/&amp;/g, '&');
      staysHome(link, `rd=${JSON.stringify(rd)} → ${link}`);

      const confirm = await (await gw.fetch(`/_auth/logout?rd=${encodeURIComponent(rd)}`, { headers: { ...NAVIGATE, 'sec-fetch-site': 'cross-site' } })).text();
      const action = /<form method="post" action="([^"]*)"/.exec(confirm)?.[1]?.replace(/&amp;/g, '&');
      expect(action, rd).toMatch(/^\/_auth\/logout(\?rd=[^"]*)?$/);
      staysHome(new URL(action!, ORIGIN).searchParams.get('rd') ?? '/', `form rd=${JSON.stringify(rd)}`);
    }
  });

  it('a forged, truncated or foreign state leads home', async () => {
    const gw = gateway({ OIDC_ISSUER: testIssuer });
    const logout = await gw.fetch('/_auth/logout?rd=%2Flater', { headers: SAME_ORIGIN });
    const state = new URL(logout.headers.get('location')!).searchParams.get('state')!;
    const other = gateway({ OIDC_ISSUER: testIssuer, SESSION_SECRET: 'another-secret-of-at-least-32-chars-Qx8' });
    for (const forged of [`//${EVIL}`, `https://${EVIL}`, state.slice(0, -4), `${state}A`, 'v1.' + 'A'.repeat(60), '']) {
      const page = await (await gw.fetch(`/_auth/signed-out?state=${encodeURIComponent(forged)}`, { headers: NAVIGATE })).text();
      expect(page, forged).toContain('href="/"');
    }
    const foreign = await (await other.fetch(`/_auth/signed-out?state=${encodeURIComponent(state)}`, { headers: NAVIGATE })).text();
    expect(foreign).toContain('href="/"');
  });
});

describe('the return path kept through sign-in from a protected page', () => {
  it.each([`/%2F%2F${EVIL}`, `/%5C${EVIL}`, `/%2F/${EVIL}`])('%s is refused (400), never turned into a redirect', async (path) => {
    const gw = gateway({ OIDC_ISSUER: testIssuer });
    const res = await gw.fetch(`${ORIGIN}${path}`, { headers: NAVIGATE });
    expect(res.status, path).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  // Leading empty segments are a path of this origin (forwarded as sent when every reading agrees), but
  // as a redirect target `//evil.example` names another host: after sign-in the browser lands on the
  // merged path instead.
  it.each([`//${EVIL}`, `/.//${EVIL}`, `/..//${EVIL}`, `/\\${EVIL}`, `///${EVIL}/x?y=//${EVIL}`])('%s leads through sign-in back to this origin', async (path) => {
    const gw = gateway({ OIDC_ISSUER: testIssuer });
    const res = await gw.fetch(`${ORIGIN}${path}`, { headers: NAVIGATE });
    expect(res.status, path).toBe(302);
    const authorize = new URL(res.headers.get('location')!);
    expect(authorize.origin).toBe(new URL(testIssuer).origin);
    const p = authorize.searchParams;
    const code = await scriptCode(testIssuer, { idToken: { claims: { nonce: p.get('nonce')! } }, codeChallenge: p.get('code_challenge')! });
    const done = await callback(gw, { code, state: p.get('state')!, iss: testIssuer });
    expect(done.status).toBe(303);
    staysHome(done.headers.get('location'), path);
    expect(done.headers.get('location')).toMatch(new RegExp(`^/${EVIL.replace('.', '\\.')}`));
  });

  it('a query that looks like a URL is kept as a query of this origin', async () => {
    const gw = gateway({ OIDC_ISSUER: testIssuer });
    const { callbackResponse } = await signInWithScript(gw, {}, { rd: `/page?next=https://${EVIL}&u=//${EVIL}` });
    const location = callbackResponse.headers.get('location');
    staysHome(location, 'query');
    expect(location).toBe(`/page?next=https://${EVIL}&u=//${EVIL}`);
  });

  it('the 401 for programs and the error page’s “try again” link carry only a same-origin rd', async () => {
    const gw = gateway({ OIDC_ISSUER: testIssuer });
    const res = await gw.fetch('/reports?x=//evil.example', { headers: { accept: 'application/json' } });
    const { login_url } = (await res.json()) as { login_url: string };
    staysHome(new URL(login_url, ORIGIN).searchParams.get('rd'), 'login_url rd');
    const { state } = await startSignIn(gw, `/..//${EVIL}`);
    const denied = await callback(gw, { error: 'access_denied', state, iss: testIssuer });
    const retry = /href="([^"]*)"/.exec(await denied.text())?.[1]?.replace(/&amp;/g, '&');
    expect(retry).toMatch(/^\/_auth\/login\?rd=/);
    staysHome(new URL(retry!, ORIGIN).searchParams.get('rd'), 'retry rd');
  });
});
