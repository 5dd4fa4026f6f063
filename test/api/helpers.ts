// Helpers for the API tests (run inside workerd): an API client that discovers its authorization
// server from the gateway (RFC 9728), gets tokens for a resource (RFC 8707) — plain or DPoP-bound
// (RFC 9449) — and makes DPoP proofs, right or wrong on purpose.
import { inject } from 'vitest';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { GATEWAY_RESOURCE } from '../setup/constants';
import { gateway, type Gateway } from '../support/gateway';
import { base64url, userTokens, type TokenSet } from '../support/tokens';

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
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))));
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

/**
 * The code flow with PKCE as API_CLIENT_ID at `issuer`, for `resource` (RFC 8707); with `dpop`, the
 * token request carries a proof and the access token comes back bound to that key (`token_type: DPoP`).
 */
export function tokensFor({ issuer = apiIdp, user = 'alice', resource = GATEWAY_RESOURCE, scope = 'openid mcp:tools', dpop }: { issuer?: string; user?: string; resource?: string; scope?: string; dpop?: DpopKey } = {}): Promise<TokenSet> {
  return userTokens({ issuer, user, resource, scope, dpop: dpop && ((htu) => proof(dpop, { htm: 'POST', htu })) });
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
