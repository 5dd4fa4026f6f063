import * as oauth from 'oauth4webapi';
import type { Config } from '../config';
import { configProblem, GatewayError } from '../http/errors';
import type { SessionDpopKey } from '../session/model';
import { settingKey, type Provider } from './provider';

/**
 * DPoP (RFC 9449) toward the IdP for the gateway's own sessions (OIDC_DPOP): each session gets its own
 * key pair at sign-in, and every request the gateway makes with that session's grant — the code
 * redemption, each refresh, UserInfo — carries a proof signed with it, so the IdP binds the access token
 * to the key (`cnf.jkt`, RFC 9449 6). The private key exists only inside the encrypted session
 * (session/model.ts `dpopKey`): never logged, never forwarded, never sent to the browser.
 *
 * Proofs arriving at the gateway from API clients are another matter: oidc/dpop.ts.
 */

/** ES256: every DPoP-capable IdP accepts it (RFC 9449 5.1's example, FAPI 2.0's short list), and WebCrypto makes it. */
export const SESSION_KEY_ALG = 'ES256';
const CURVE = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** A new key pair for a session being signed in, as the private JWK the session keeps (with its public half). */
export async function newSessionKey(): Promise<SessionDpopKey> {
  const pair = (await crypto.subtle.generateKey(CURVE, true, ['sign', 'verify'])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey;
  // Only the members that make the key: no key_ops / ext noise in every stored session.
  return { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y!, d: jwk.d! };
}

/**
 * The oauth4webapi DPoP handle of a session's key: it signs a proof per request (`htm`, `htu`, `iat`,
 * a random `jti`, `ath` for UserInfo) and remembers the nonce each IdP response carries.
 */
export async function dpopHandle(provider: Provider, key: SessionDpopKey): Promise<oauth.DPoPHandle> {
  const { d, ...publicJwk } = key;
  // The private half is usable for signing only and cannot be exported from this object again.
  const privateKey = await crypto.subtle.importKey('jwk', { ...publicJwk, d }, CURVE, false, ['sign']);
  // oauth4webapi puts the public key in each proof's `jwk` header: it must be exportable.
  const publicKey = await crypto.subtle.importKey('jwk', publicJwk, CURVE, true, ['verify']);
  return oauth.DPoP(provider.client, { privateKey, publicKey }, {
    // A handle lives for one sign-in or refresh; the IdP's nonce outlives it (see below).
    [oauth.modifyAssertion]: (_header, payload) => {
      const remembered = typeof payload['htu'] === 'string' ? nonces.get(originOf(payload['htu'])) : undefined;
      if (remembered !== undefined) payload['nonce'] = remembered;
    },
  });
}

/**
 * The request options of one IdP call with a proof: the handle, and a fetch that remembers every
 * `DPoP-Nonce` the IdP sends (RFC 9449 8.2) for the whole isolate, so the next session's first proof
 * already carries it instead of costing a `use_dpop_nonce` round trip.
 */
export function withProof(provider: Provider, handle: oauth.DPoPHandle | undefined): typeof provider.httpOptions & oauth.DPoPRequestOptions {
  if (!handle) return provider.httpOptions;
  const fetch = provider.fetch;
  return {
    ...provider.httpOptions,
    DPoP: handle,
    [oauth.customFetch]: async (url: string, init: RequestInit) => {
      const response = await fetch(url, init);
      remember(originOf(url), response.headers.get('dpop-nonce'));
      return response;
    },
  };
}

/**
 * RFC 9449 8 and 9: an IdP that wants a nonce refuses the first proof with `use_dpop_nonce` and sends
 * one in `DPoP-Nonce`; the request is made once more with it (the handle has it now). Only once: an IdP
 * that refuses its own fresh nonce is not asked in a loop. `attempt` must be safe to repeat — a
 * `use_dpop_nonce` refusal comes before the IdP looks at the code or refresh token.
 */
export async function onceMoreOnNonce<T>(handle: oauth.DPoPHandle | undefined, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (handle && oauth.isDPoPNonceError(error)) return attempt();
    throw error;
  }
}

/**
 * Before a sign-in redeems its code with a proof: an IdP that advertises its DPoP algorithms (RFC 9449
 * 5.1) must list ours, or every sign-in would fail at its token endpoint. One that advertises none may
 * still bind; if it does not, its `token_type` answer says so (`requireBoundTokens`).
 */
export function checkIdpDpop(provider: Provider, config: Config): void {
  const algs = provider.as.dpop_signing_alg_values_supported;
  if (Array.isArray(algs) && !algs.includes(SESSION_KEY_ALG)) {
    throw configProblem(settingKey(config, 'OIDC_DPOP'), `is on, but the identity provider accepts DPoP proofs signed with ${algs.join(', ')} only, not ${SESSION_KEY_ALG}`);
  }
}

/**
 * RFC 9449 5: a token endpoint that bound the token answers `token_type: DPoP`. A `Bearer` answer to a
 * request with a proof is an IdP that ignored it: the session would hold an unbound token while the
 * operator asked for bound ones, so the answer is refused as the IdP's error.
 */
export function requireBoundTokens(tokens: oauth.TokenEndpointResponse, step: string): void {
  // oauth4webapi lower-cases token_type.
  if (tokens.token_type !== 'dpop') {
    throw new GatewayError('idp_bad_response', 'The identity provider did not bind the tokens to this gateway’s key (OIDC_DPOP).', {
      detail: `${step}: token_type ${String(tokens.token_type).slice(0, 32)} in answer to a request with a DPoP proof`,
    });
  }
}

// ── the IdPs' nonces, per isolate ─────────────────────────────────────────────────────────────────

/** A few IdP origins (token endpoint and UserInfo may differ); bounded all the same. */
const NONCES_KEPT = 32;
/** RFC 9449 8.1: a nonce is NQCHARs; anything else (or oversized) is not remembered. */
const NONCE = /^[\x21\x23-\x5B\x5D-\x7E]{1,512}$/;
const nonces = new Map<string, string>();

function remember(origin: string, nonce: string | null): void {
  if (nonce === null || !NONCE.test(nonce)) return;
  nonces.delete(origin);
  if (nonces.size >= NONCES_KEPT) nonces.delete(nonces.keys().next().value!);
  nonces.set(origin, nonce);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/** Test hook: forget the IdPs' nonces (as a new isolate would), so a first proof goes without one. */
export function forgetIdpNonces(): void {
  nonces.clear();
}
