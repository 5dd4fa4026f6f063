// Multi-step flows through the gateway (run inside workerd: fetch only).
//
//   signIn(gw, { user, rd })        full sign-in at the local IdP → the callback's response (303 to rd)
//   startSignIn(gw, rd)             just the /_auth/login redirect: { authorizeUrl, state, nonce, ... }
//   callback(gw, params)            GET /_auth/callback?code&state&iss through the gateway
//   scriptCode(testIssuerUrl, s)    POST /control/codes at the test issuer → code
//   signInWithScript(gw, script)    startSignIn + scriptCode (nonce, PKCE challenge filled in) + callback,
//                                   for the negative ID-token cases against the test issuer
//   tokenRequestFor(url, code)      what the test issuer's token endpoint received for `code`
import type { CodeScript, TokenRequestRecord } from '../setup/protocol';
import type { Gateway } from './gateway';
// @ts-ignore -- plain ESM script without type declarations
import { signInAtIdp } from '../../scripts/idp-login.mjs';

export type { CodeScript, IdTokenScript, TokenRequestRecord } from '../setup/protocol';

async function describeResponse(res: Response): Promise<string> {
  let body = '';
  try {
    body = (await res.clone().text()).slice(0, 500);
  } catch {
    body = '<unreadable body>';
  }
  const location = res.headers.get('location');
  return `${res.status}${location ? ` Location: ${location}` : ''}${body ? ` body: ${body}` : ''}`;
}

export interface StartedSignIn {
  /** The gateway's answer to /_auth/login (a redirect). */
  response: Response;
  authorizeUrl: URL;
  state: string;
  nonce: string;
  codeChallenge: string | null;
  redirectUri: string | null;
}

/** GET /_auth/login?rd=… and read the authorization request off the redirect. */
export async function startSignIn(gw: Gateway, rd = '/'): Promise<StartedSignIn> {
  const response = await gw.fetch(`/_auth/login?rd=${encodeURIComponent(rd)}`, { headers: { accept: 'text/html' } });
  const location = response.headers.get('location');
  if (response.status < 300 || response.status > 399 || !location) {
    throw new Error(`startSignIn: /_auth/login should redirect to the IdP, got ${await describeResponse(response)}`);
  }
  const authorizeUrl = new URL(location, 'https://localhost/');
  if (authorizeUrl.hostname === 'localhost') {
    throw new Error(`startSignIn: /_auth/login redirected to the gateway itself, not to the IdP: ${location}`);
  }
  const p = authorizeUrl.searchParams;
  const state = p.get('state');
  const nonce = p.get('nonce');
  if (!state || !nonce) throw new Error(`startSignIn: authorization request lacks state or nonce: ${location}`);
  return { response, authorizeUrl, state, nonce, codeChallenge: p.get('code_challenge'), redirectUri: p.get('redirect_uri') };
}

/** The full sign-in at the local IdP. Returns the callback's response (the contract says 303 to `rd`). */
export async function signIn(gw: Gateway, { user = 'alice', rd = '/' }: { user?: string; rd?: string } = {}): Promise<Response> {
  const { authorizeUrl } = await startSignIn(gw, rd);
  let callbackUrl: string;
  try {
    callbackUrl = String(await signInAtIdp(authorizeUrl.href, user));
  } catch (err) {
    throw new Error(`signIn: signing in as ${user} at the IdP failed (${authorizeUrl.href}): ${String(err)}`, { cause: err });
  }
  const response = await gw.fetch(callbackUrl, { headers: { accept: 'text/html' } });
  if (response.status < 300 || response.status > 399) {
    throw new Error(`signIn: the callback should redirect to ${rd}, got ${await describeResponse(response)}`);
  }
  return response;
}

/** GET /_auth/callback with the given parameters (undefined ones left out) through the gateway. */
export function callback(gw: Gateway, params: Record<string, string | undefined>, init: RequestInit = {}): Promise<Response> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  return gw.fetch(`/_auth/callback?${q}`, { headers: { accept: 'text/html' }, ...init });
}

async function control<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`test issuer ${init?.method ?? 'GET'} ${url}: ${await describeResponse(res)}`);
  return (await res.json()) as T;
}

/** Scripts what the test issuer's token endpoint answers for a new code; returns the code. */
export async function scriptCode(testIssuerUrl: string, script: CodeScript = {}): Promise<string> {
  const { code } = await control<{ code: string }>(`${new URL(testIssuerUrl).origin}/control/codes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(script),
  });
  return code;
}

/** A separate issuer at the test issuer (`/t/<id>`) with overridden discovery metadata (`null` deletes a field). */
export async function createTestIssuer(testIssuerUrl: string, metadata: Record<string, unknown> = {}): Promise<string> {
  const { issuer } = await control<{ issuer: string }>(`${new URL(testIssuerUrl).origin}/control/issuers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ metadata }),
  });
  return issuer;
}

/** What the test issuer's token endpoint received when `code` was redeemed (no code: the last request). */
export function tokenRequestFor(testIssuerUrl: string, code?: string): Promise<TokenRequestRecord> {
  const origin = new URL(testIssuerUrl).origin;
  return control<TokenRequestRecord>(code === undefined ? `${origin}/control/last-token-request` : `${origin}/control/token-requests/${encodeURIComponent(code)}`);
}

export interface ScriptedSignIn extends StartedSignIn {
  code: string;
  /** The callback's response: what the test asserts on. */
  callbackResponse: Response;
}

/**
 * Sign-in against the test issuer (the gateway's OIDC_ISSUER must point at it): starts the sign-in,
 * scripts a code whose ID token carries the request's nonce (unless the script sets `nonce`, or `null`
 * to leave it out) and whose redemption checks the PKCE challenge, then calls the callback with
 * `code`, `state` and `iss` (override or drop them with `callbackParams`).
 */
export async function signInWithScript(
  gw: Gateway,
  script: CodeScript = {},
  { rd = '/', callbackParams = {} }: { rd?: string; callbackParams?: Record<string, string | undefined> } = {},
): Promise<ScriptedSignIn> {
  const started = await startSignIn(gw, rd);
  const issuer = String(gw.env.OIDC_ISSUER ?? started.authorizeUrl.origin);
  const withNonce: CodeScript =
    script.idToken === null
      ? { ...script }
      : { ...script, idToken: { ...script.idToken, claims: { nonce: started.nonce, ...script.idToken?.claims } } };
  if (started.codeChallenge && withNonce.codeChallenge === undefined) withNonce.codeChallenge = started.codeChallenge;
  const code = await scriptCode(issuer, withNonce);
  const callbackResponse = await callback(gw, { code, state: started.state, iss: issuer, ...callbackParams });
  return { ...started, code, callbackResponse };
}
