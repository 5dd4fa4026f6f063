// Tokens the way an API client gets them (run inside workerd: fetch only): the authorization code
// flow with PKCE (RFC 7636) at a local IdP as API_CLIENT_ID, not as the gateway's client, for a
// resource server (RFC 8707 resource indicators) or for an ordinary UserInfo token.
//
//   userTokens({ user, scope, resource, issuer, dpop })   the code flow → the token endpoint's answer
//   issuerMetadata(issuer)                                 the IdP's discovery document (cached)
import { inject } from 'vitest';
import { API_CLIENT_ID, API_CLIENT_SECRET, REDIRECT_URI } from '../setup/constants';
// @ts-ignore -- plain ESM script without type declarations
import { signInAtIdp } from '../../scripts/idp-login.mjs';

export const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
/** client_secret_basic (RFC 6749 2.3.1: id and secret form-encoded before base64). */
export const basicAuth = (id: string, secret: string) => `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;
const random = (bytes: number) => base64url(crypto.getRandomValues(new Uint8Array(bytes)));

export interface IssuerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  introspection_endpoint: string;
  revocation_endpoint: string;
}

const metadataCache = new Map<string, Promise<IssuerMetadata>>();

/** The IdP's metadata (OpenID Connect Discovery, as RFC 8414 clients also try); the local IdPs never change theirs. */
export function issuerMetadata(issuer: string): Promise<IssuerMetadata> {
  let m = metadataCache.get(issuer);
  if (!m) {
    m = fetch(`${issuer}/.well-known/openid-configuration`).then(async (res) => {
      if (!res.ok) throw new Error(`metadata of ${issuer}: ${res.status}`);
      return (await res.json()) as IssuerMetadata;
    });
    metadataCache.set(issuer, m);
    m.catch(() => metadataCache.delete(issuer));
  }
  return m;
}

export interface TokenSet {
  access_token: string;
  token_type: string;
  id_token?: string;
  scope?: string;
  expires_in?: number;
}

export interface TokenOptions {
  /** Default: the API IdP (`idpIssuerApi`, the one with resource servers, test/setup/constants.ts). */
  issuer?: string;
  user?: string;
  scope?: string;
  /** The resource indicator, sent to both endpoints; without it, an ordinary (UserInfo) access token. */
  resource?: string;
  /** Makes the DPoP proof for the token request (RFC 9449 5): the token comes back bound to its key. */
  dpop?: (tokenEndpoint: string) => Promise<string>;
}

/** The code flow with PKCE as API_CLIENT_ID for `user` at `issuer`; the token endpoint's answer. */
export async function userTokens({ issuer = inject('idpIssuerApi'), user = 'alice', scope = 'openid', resource, dpop }: TokenOptions = {}): Promise<TokenSet> {
  const meta = await issuerMetadata(issuer);
  const verifier = random(32);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const authorize = new URL(meta.authorization_endpoint);
  const p = authorize.searchParams;
  p.set('client_id', API_CLIENT_ID);
  p.set('response_type', 'code');
  p.set('redirect_uri', REDIRECT_URI);
  p.set('scope', scope);
  p.set('state', random(16));
  p.set('nonce', random(16));
  p.set('code_challenge', challenge);
  p.set('code_challenge_method', 'S256');
  if (resource) p.set('resource', resource);
  const callbackUrl = new URL(String(await signInAtIdp(authorize.href, user)));
  const code = callbackUrl.searchParams.get('code');
  if (!code) throw new Error(`no code from ${issuer}: ${callbackUrl.href}`);
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  if (resource) body.set('resource', resource);
  const headers: Record<string, string> = { authorization: basicAuth(API_CLIENT_ID, API_CLIENT_SECRET) };
  if (dpop) headers['dpop'] = await dpop(meta.token_endpoint);
  const res = await fetch(meta.token_endpoint, { method: 'POST', body, headers });
  const tokens = (await res.json()) as TokenSet & { error?: string; error_description?: string };
  if (!res.ok || !tokens.access_token) throw new Error(`token endpoint of ${issuer}: ${res.status} ${JSON.stringify(tokens)}`);
  return tokens;
}
