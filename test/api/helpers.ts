// Helpers for the API tests (run inside workerd): an API client that discovers its authorization
// server from the gateway (RFC 9728), gets tokens for a resource (RFC 8707) — plain or DPoP-bound
// (RFC 9449) — and makes DPoP proofs, right or wrong on purpose.
import { inject } from 'vitest';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { API_CLIENT_ID, API_CLIENT_SECRET, GATEWAY_RESOURCE, REDIRECT_URI } from '../setup/constants';
import { gateway, type Gateway } from '../support/gateway';
// @ts-ignore -- plain ESM script without type declarations
import { signInAtIdp } from '../../scripts/idp-login.mjs';

export { GATEWAY_RESOURCE };
export const apiIdp = inject('idpIssuerApi');
export const ORIGIN = 'https://localhost';

/** A gateway guarding the API at /mcp with the API IdP (API_AUDIENCE = GATEWAY_RESOURCE). */
export function apiGateway(routes: unknown[], overrides: Record<string, unknown> = {}): Gateway {
  return gateway({ ROUTES: routes, OIDC_ISSUER: apiIdp, API_AUDIENCE: GATEWAY_RESOURCE, ...overrides });
}

/** All challenges of a WWW-Authenticate value: scheme → parameters (auth-params, RFC 9110 11.2). */
export function challenges(header: string | null): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  for (const raw of header?.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    let part = raw.trim();
    const scheme = /^([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)(?!=)/.exec(part);
    if (scheme && !part.startsWith(`${scheme[1]}=`)) {
      out[scheme[1]!] = current = {};
      part = part.slice(scheme[0].length);
      if (part === '') continue;
    }
    const param = /^([A-Za-z0-9_-]+)=(?:"((?:[^"\\]|\\.)*)"|(\S+))$/.exec(part);
    if (param && current) current[param[1]!] = param[2] ?? param[3]!;
  }
  return out;
}

const b64u = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const basic = (id: string, secret: string) => `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;

export interface DpopKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  alg: string;
  jkt: string;
}

export async function dpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, alg, jkt: await calculateJwkThumbprint(publicJwk) };
}

export async function ath(token: string): Promise<string> {
  return b64u(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))));
}

export interface ProofOptions {
  htm: string;
  htu: string;
  /** The access token the proof is for (`ath`); omitted at the token endpoint. */
  token?: string;
  nonce?: string;
  iat?: number;
  jti?: string;
  /** Overrides for the protected header / payload (`null` deletes). */
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

/** A DPoP proof JWT (RFC 9449 4.2) signed with `key`. */
export async function proof(key: DpopKey, options: ProofOptions): Promise<string> {
  const payload: Record<string, unknown> = {
    jti: options.jti ?? crypto.randomUUID(),
    htm: options.htm,
    htu: options.htu,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    ...(options.token ? { ath: await ath(options.token) } : {}),
    ...(options.nonce ? { nonce: options.nonce } : {}),
  };
  for (const [name, value] of Object.entries(options.claims ?? {})) {
    if (value === null) delete payload[name];
    else payload[name] = value;
  }
  const header: Record<string, unknown> = { alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk };
  for (const [name, value] of Object.entries(options.header ?? {})) {
    if (value === null) delete header[name];
    else header[name] = value;
  }
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

interface AsMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
}

/** The authorization server's metadata (OpenID Connect Discovery, as RFC 8414 clients also try). */
export async function asMetadata(issuer: string): Promise<AsMetadata> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`AS metadata ${issuer}: ${res.status}`);
  return (await res.json()) as AsMetadata;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  scope?: string;
}

/**
 * The code flow with PKCE as API_CLIENT_ID at `issuer`, for `resource` (RFC 8707); with `dpop`, the
 * token request carries a proof and the access token comes back bound to that key (`token_type: DPoP`).
 */
export async function tokensFor({ issuer = apiIdp, user = 'alice', resource = GATEWAY_RESOURCE, scope = 'openid mcp:tools', dpop }: { issuer?: string; user?: string; resource?: string; scope?: string; dpop?: DpopKey } = {}): Promise<TokenResponse> {
  const meta = await asMetadata(issuer);
  const verifier = b64u(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64u(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const authorize = new URL(meta.authorization_endpoint);
  const p = authorize.searchParams;
  p.set('client_id', API_CLIENT_ID);
  p.set('response_type', 'code');
  p.set('redirect_uri', REDIRECT_URI);
  p.set('scope', scope);
  p.set('state', b64u(crypto.getRandomValues(new Uint8Array(16))));
  p.set('code_challenge', challenge);
  p.set('code_challenge_method', 'S256');
  p.set('resource', resource);
  const callbackUrl = new URL(String(await signInAtIdp(authorize.href, user)));
  const code = callbackUrl.searchParams.get('code');
  if (!code) throw new Error(`no code from ${issuer}: ${callbackUrl.href}`);
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, resource });
  const headers: Record<string, string> = { authorization: basic(API_CLIENT_ID, API_CLIENT_SECRET) };
  if (dpop) headers['dpop'] = await proof(dpop, { htm: 'POST', htu: meta.token_endpoint });
  const res = await fetch(meta.token_endpoint, { method: 'POST', body, headers });
  const tokens = (await res.json()) as TokenResponse & { error?: string };
  if (!res.ok || !tokens.access_token) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(tokens)}`);
  return tokens;
}

/** JSON headers of an API call with `Authorization: DPoP <token>` and a proof for this request. */
export async function dpopHeaders(key: DpopKey, token: string, method: string, url: string, options: Partial<ProofOptions> = {}): Promise<Record<string, string>> {
  return { accept: 'application/json', authorization: `DPoP ${token}`, dpop: await proof(key, { htm: method, htu: url, token, ...options }) };
}

/** A DPoP-bound JWT access token for alice at GATEWAY_RESOURCE, its key, and a gateway guarding /mcp/**. */
export async function boundToken(routes: unknown[] = [{ path: '/mcp/**', auth: 'api' }], overrides: Record<string, unknown> = {}) {
  const key = await dpopKey();
  const { access_token: token, token_type } = await tokensFor({ dpop: key });
  if (token_type !== 'DPoP') throw new Error(`expected a DPoP-bound token, got token_type ${token_type}`);
  return { key, token, gw: apiGateway(routes, overrides) };
}
