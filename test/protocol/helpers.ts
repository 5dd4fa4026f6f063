// Helpers for test/protocol (run inside workerd): gateways in front of the protocol IdPs, the trip to
// the IdP and back in either response mode, and front-channel ID tokens signed by the test issuer.
import { expect, inject } from 'vitest';
// @ts-ignore -- plain ESM script without type declarations
import { authorizeAtIdp, createCookieJar } from '../../scripts/idp-login.mjs';
import { CLIENT_SECRET, PROTOCOL_CLIENTS, PROTOCOL_ORIGIN } from '../setup/constants';
import { createTestIssuer } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';

export const protocolIssuer = inject('idpIssuerProtocol');
export const parIssuer = inject('idpIssuerPar');
export const testIssuer = inject('testIssuerUrl');
export const clientKeys = inject('protocolClientKeys');
export { CLIENT_SECRET, PROTOCOL_CLIENTS, PROTOCOL_ORIGIN };
export const CALLBACK = `${PROTOCOL_ORIGIN}/_auth/callback`;

export const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate' } as const;
export const API = { accept: 'application/json' } as const;

/**
 * A gateway in front of the protocol IdP, as the client_secret_basic client unless overridden, served
 * at PROTOCOL_ORIGIN: paths given to its `fetch` go there (full URLs as they are).
 */
export function protocolGateway(overrides: Record<string, unknown> = {}): Gateway {
  return onProtocolOrigin(gateway({ OIDC_ISSUER: protocolIssuer, OIDC_CLIENT_ID: PROTOCOL_CLIENTS.basic, OIDC_CLIENT_SECRET: CLIENT_SECRET, ...overrides }));
}

export function onProtocolOrigin(gw: Gateway): Gateway {
  return { ...gw, fetch: (target, init) => gw.fetch(typeof target === 'string' && target.startsWith('/') ? PROTOCOL_ORIGIN + target : target, init) };
}

export type IdpJar = ReturnType<typeof createCookieJar>;
export type AuthorizationResponse = { method: 'GET'; url: string } | { method: 'POST'; url: string; body: URLSearchParams };

export function newIdpJar(): IdpJar {
  return createCookieJar();
}

/** Follows the gateway's redirect to the IdP there (signing `user` in if asked to) and returns how the IdP answers. */
export async function atIdp(location: string, { user = 'alice', jar = newIdpJar() }: { user?: string; jar?: IdpJar } = {}): Promise<AuthorizationResponse> {
  return (await authorizeAtIdp(location, user, { jar })) as AuthorizationResponse;
}

/** Hands the IdP's answer to the gateway as a browser would: a GET, or the auto-submitted cross-site form. */
export function deliver(gw: Gateway, response: AuthorizationResponse, init: { cookies?: boolean; store?: boolean } = {}): Promise<Response> {
  if (response.method === 'GET') return gw.fetch(response.url, { headers: { accept: 'text/html' }, ...init });
  return gw.fetch(response.url, {
    method: 'POST',
    body: response.body,
    headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site', origin: 'null' },
    ...init,
  });
}

/** GET /_auth/login (or any path) and the redirect to the IdP it answers. */
export async function redirectToIdp(gw: Gateway, path = '/_auth/login?rd=%2Fhome'): Promise<{ response: Response; location: URL }> {
  const response = await gw.fetch(path, { headers: NAVIGATE });
  const location = response.headers.get('location');
  expect([response.status, location?.startsWith('http://127.0.0.1')], await response.clone().text()).toEqual([302, true]);
  return { response, location: new URL(location!) };
}

/** The whole sign-in: gateway → IdP (sign in) → gateway. Returns the callback's response. */
export async function signInThrough(gw: Gateway, { user = 'alice', jar = newIdpJar(), path = '/_auth/login?rd=%2Fhome' }: { user?: string; jar?: IdpJar; path?: string } = {}): Promise<Response> {
  const { location } = await redirectToIdp(gw, path);
  return deliver(gw, await atIdp(location.href, { user, jar }));
}

/** What the echo upstream saw for a signed-in request. */
export async function upstreamIdentity(gw: Gateway, path = '/whoami'): Promise<Record<string, string>> {
  const res = await gw.fetch(path, { headers: NAVIGATE });
  expect(res.status, await res.clone().text()).toBe(200);
  const echo = (await res.json()) as { headers: Record<string, string | string[]> };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(echo.headers)) if (k.startsWith('x-user')) out[k] = String(v);
  return out;
}

/** A test-issuer tenant that offers the hybrid and ID-token flows and form_post. */
export function hybridTestIssuer(metadata: Record<string, unknown> = {}): Promise<string> {
  return createTestIssuer(testIssuer, { response_types_supported: ['code', 'code id_token', 'id_token'], ...metadata });
}

/** Any JWT signed by the test issuer's keys (RS256 kid rs-1 unless `sign` says otherwise). */
export async function signAtTestIssuer(claims: Record<string, unknown>, sign: 'RS256' | 'ES256' | 'wrong-key' | 'none' = 'RS256'): Promise<string> {
  const res = await fetch(`${new URL(testIssuer).origin}/control/sign`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ claims, sign }),
  });
  if (!res.ok) throw new Error(`sign: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { jwt: string }).jwt;
}

/** `c_hash` / `at_hash` (Core 3.3.2.11): the left half of the hash, base64url. */
export async function leftHalfHash(value: string, hash: 'SHA-256' | 'SHA-384' | 'SHA-512' = 'SHA-256'): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest(hash, new TextEncoder().encode(value)));
  const half = digest.slice(0, digest.length / 2);
  return btoa(String.fromCharCode(...half)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export const nowS = () => Math.floor(Date.now() / 1000);

/** A refusal as the browser sees it: status and code on the page, no session, still sent to sign in. */
export async function expectRefused(gw: Gateway, res: Response, status: number, code: string): Promise<void> {
  const body = await res.text();
  expect(res.status, body.slice(0, 300)).toBe(status);
  expect(body).toContain(`Error ${code}`);
  expect(body).not.toMatch(/eyJ[\w-]{8,}\./);
  expect(gw.jar.get('__Host-edgegate')).toBeUndefined();
  const next = await gw.fetch('/private', { headers: NAVIGATE, store: false });
  expect(next.status).toBe(302);
  expect(next.headers.get('location')).toMatch(new RegExp(`^${String(gw.env.OIDC_ISSUER)}/`));
}
