// Helpers for the attack suite (test/attacks, run inside workerd): issuers of the scriptable test issuer,
// its request log, JWTs it signs, and a few hand-made tokens (JWE, oversized, deeply nested).
import { expect, inject } from 'vitest';
import type { EndpointFaults, SignScript } from '../setup/protocol';
import { CLIENT_ID } from '../setup/constants';
import { setCookies } from '../support/cookies';
import { callback, scriptCode, startSignIn } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';

export { API, NAVIGATE, header } from '../gateway/helpers';
export { echoOf, identityHeaders } from '../routes/helpers';

export const testIssuer = inject('testIssuerUrl');
export const SESSION_COOKIE = '__Host-edgegate';
export const now = () => Math.floor(Date.now() / 1000);

async function control<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${new URL(testIssuer).origin}/control/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`test issuer /control/${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A fresh issuer (`/t/<id>`) at the test issuer: its own request log entries, metadata and faults. */
export async function newIssuer(metadata: Record<string, unknown> = {}, faults: EndpointFaults = {}): Promise<string> {
  return (await control<{ issuer: string }>('issuers', { metadata, faults })).issuer;
}

/** From now on, `issuer`'s endpoints misbehave as `faults` says (`{}` heals them). */
export async function setFaults(issuer: string, faults: EndpointFaults): Promise<void> {
  await control('faults', { issuer, faults });
}

/** How many requests the test issuer received for `issuer` + `suffix` (e.g. "/jwks", "/token"). */
export async function requestsTo(issuer: string, suffix: string): Promise<number> {
  const log = await control<{ path: string }[]>('requests?since=0');
  const path = `${new URL(issuer).pathname.replace(/\/$/, '')}${suffix}`;
  return log.filter((e) => e.path === path).length;
}

/** Any JWT, signed by the test issuer (its published keys, or none / HS256 / a key it does not publish). */
export async function signJwt(script: SignScript): Promise<string> {
  return (await control<{ jwt: string }>('sign', script)).jwt;
}

export const b64u = (data: string | Uint8Array) =>
  btoa(typeof data === 'string' ? unescape(encodeURIComponent(data)) : String.fromCharCode(...data))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/** A compact JWE with PBES2 and an iteration count that would take minutes to derive, if anyone tried. */
export function pbes2Jwe(p2c = 2_147_483_647): string {
  const header = { alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c, p2s: b64u('saltsaltsaltsalt'), kid: 'rs-1' };
  return [b64u(JSON.stringify(header)), b64u(new Uint8Array(40)), b64u(new Uint8Array(12)), b64u('ciphertext'), b64u(new Uint8Array(16))].join('.');
}

/** A JWT-shaped token whose header nests arrays `depth` deep. */
export function deepJwt(depth: number): string {
  const header = `{"alg":"RS256","kid":"rs-1","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  return `${b64u(header)}.${b64u('{"sub":"x"}')}.${b64u('sig')}`;
}

/**
 * Wall-clock milliseconds `run` takes, CPU work included. workerd advances `Date.now()` only at I/O
 * (a Spectre mitigation), so a request that burns CPU without I/O would look instant; a round trip to
 * the test issuer before and after pins both ends to real time.
 */
export async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const ping = async () => {
    await (await fetch(`${new URL(testIssuer).origin}/control/requests?since=1000000000`)).arrayBuffer();
    return Date.now();
  };
  const start = await ping();
  const value = await run();
  return { ms: (await ping()) - start, value };
}

/**
 * A refusal at a gateway in front of any IdP (support/assertions' expectRefused assumes the test
 * issuer): status and code on a page that leaks nothing, no session, and the next page view is sent
 * to the IdP to sign in.
 */
export async function expectRefusedAt(gw: Gateway, res: Response, status: number, code: string | string[], secrets: string[] = []): Promise<void> {
  const body = await res.text();
  expect(res.status, body.slice(0, 300)).toBe(status);
  expect([code].flat()).toContain(/Error (\w+) ·/.exec(body)?.[1]);
  for (const secret of secrets) expect(body).not.toContain(secret);
  expect(body).not.toMatch(/eyJ[\w-]{8,}\./);
  expect(body).not.toMatch(/\n\s+at \S+/);
  for (const c of setCookies(res).filter((c) => c.name === SESSION_COOKIE)) expect(c.maxAge === 0 || c.value === '').toBe(true);
  expect(gw.jar.get(SESSION_COOKIE)).toBeUndefined();
  const next = await gw.fetch('/private', { headers: { accept: 'text/html' }, store: false });
  expect(next.status).toBe(302);
  expect(new URL(next.headers.get('location')!).origin).toBe(new URL(String(gw.env['OIDC_ISSUER'])).origin);
}

/**
 * A sign-in at `issuer` whose token endpoint answers with the ID token `makeIdToken` builds from the
 * claims a valid one would have (sub "mallory", this sign-in's nonce); UserInfo agrees on the sub.
 */
export async function signInWithIdToken(issuer: string, makeIdToken: (claims: Record<string, unknown>) => Promise<string>) {
  const gw = gateway({ OIDC_ISSUER: issuer });
  const { state, nonce, codeChallenge } = await startSignIn(gw);
  const claims = { iss: issuer, aud: CLIENT_ID, sub: 'mallory', iat: now(), exp: now() + 300, nonce };
  const code = await scriptCode(issuer, { codeChallenge: codeChallenge!, userinfo: { sub: 'mallory' }, tokenResponse: { id_token: await makeIdToken(claims) } });
  return { gw, code, res: await callback(gw, { code, state, iss: issuer }) };
}
