// Helpers for the ROUTES end-to-end tests (run inside workerd): gateways with rules, signed-in users,
// what the upstream saw, and access tokens from the API IdP and the test issuer.
import { expect, inject } from 'vitest';
import type { EchoBody, SignScript } from '../setup/protocol';
import { API_CLIENT_ID, API_CLIENT_SECRET } from '../setup/constants';
import { gateway, type Gateway } from '../support/gateway';
import { signIn } from '../support/flows';
import { basicAuth, issuerMetadata } from '../support/tokens';

export { API, NAVIGATE, header } from '../gateway/helpers';
/** Tokens for a user from the API IdP as an API client (API_CLIENT_ID): see test/support/tokens.ts. */
export { userTokens, type TokenSet } from '../support/tokens';

export const SESSION_COOKIE = '__Host-edgegate';

/** A gateway with these rules (`ROUTES` as wrangler.toml's `[[vars.ROUTES]]` produces it, or a JSON string). */
export function withRoutes(routes: unknown, overrides: Record<string, unknown> = {}): Gateway {
  return gateway({ ROUTES: routes, ...overrides });
}

/** A gateway with these rules whose jar holds a session of `user` (signed in at the local IdP on https://localhost). */
export async function signedInAs(user: string, routes: unknown, overrides: Record<string, unknown> = {}): Promise<Gateway> {
  const gw = withRoutes(routes, overrides);
  await signIn(gw, { user });
  return gw;
}

/** The `Cookie` header of a gateway's session, to send explicitly (e.g. to another host name). */
export function sessionCookieOf(gw: Gateway): string {
  const value = gw.jar.get(SESSION_COOKIE);
  if (!value) throw new Error('no session cookie in the jar');
  return `${SESSION_COOKIE}=${value}`;
}

/** The upstream's echo of a forwarded request; fails with the gateway's answer when it was not forwarded. */
export async function echoOf(res: Response): Promise<EchoBody> {
  const text = await res.text();
  expect(res.status, `expected the upstream's answer, got ${res.status}: ${text.slice(0, 300)}`).toBe(200);
  const body = JSON.parse(text) as EchoBody;
  expect(body.rawHeaders, 'not an echo from the upstream').toBeDefined();
  return body;
}

/** The identity headers the upstream received (lower-cased names), empty when none. */
export function identityHeaders(echo: EchoBody): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < echo.rawHeaders.length; i += 2) {
    const name = echo.rawHeaders[i]!.toLowerCase();
    if (/^(x[-_]user|x[-_]forwarded[-_](user|email|groups|preferred)|remote[-_]|x[-_]auth[-_]request)/.test(name)) out[name] = echo.rawHeaders[i + 1]!;
  }
  return out;
}

/** A gateway refusal: status, JSON error code and the headers that matter. */
export async function refusal(res: Response): Promise<{ status: number; error: string; message: string; challenge: string | null; body: Record<string, unknown> }> {
  const text = await res.text();
  expect(res.headers.get('content-type'), `expected a JSON refusal, got ${res.status}: ${text.slice(0, 300)}`).toContain('application/json');
  const body = JSON.parse(text) as Record<string, unknown> & { error: string; message: string };
  return { status: res.status, error: body.error, message: body.message, challenge: res.headers.get('www-authenticate'), body };
}

/** The parameters of a WWW-Authenticate: Bearer challenge (RFC 6750 3). */
export function challengeParams(header: string | null): Record<string, string> {
  expect(header).toMatch(/^Bearer /);
  const out: Record<string, string> = {};
  for (const m of header!.slice(7).matchAll(/([a-z_]+)=(?:"([^"]*)"|([^\s,]+))/g)) out[m[1]!] = m[2] ?? m[3]!;
  return out;
}

// --- Tokens ---------------------------------------------------------------------------------------

/** Revokes an access token at the API IdP (RFC 7009), as the client it was issued to. */
export async function revoke(token: string): Promise<void> {
  const meta = await issuerMetadata(inject('idpIssuerApi'));
  const res = await fetch(meta.revocation_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    headers: { authorization: basicAuth(API_CLIENT_ID, API_CLIENT_SECRET) },
  });
  if (!res.ok) throw new Error(`revocation: ${res.status} ${await res.text()}`);
}

/** Any JWT signed by the test issuer (its published keys, or `none`, HS256, a wrong key). */
export async function testIssuerJwt(script: SignScript): Promise<string> {
  const res = await fetch(`${new URL(inject('testIssuerUrl')).origin}/control/sign`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(script),
  });
  if (!res.ok) throw new Error(`test issuer /control/sign: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { jwt: string }).jwt;
}

/** The decoded payload of a JWT (no verification). */
export function jwtPayload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4))) as Record<string, unknown>;
}

/** Headers of a program calling an API with a bearer token. */
export const bearer = (token: string) => ({ accept: 'application/json', authorization: `Bearer ${token}` });
