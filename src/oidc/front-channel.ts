import * as oauth from 'oauth4webapi';
import { decodeProtectedHeader, type JWTPayload } from 'jose';
import { toBase64Url, utf8 } from '../crypto/encoding';
import type { Config } from '../config';
import { GatewayError } from '../http/errors';
import type { Transaction } from '../session/transaction';
import { idTokenError, verifyIdToken } from './id-token';
import { loginHref, staleAuthTime } from './sign-in-errors';
import type { Provider } from './provider';

/**
 * ID tokens that arrive with the authorization response (through the browser, as a `form_post`)
 * rather than from the token endpoint. Nothing vouches for them but their signature: verifyIdToken
 * (pinned algorithms, iss, aud, azp, exp, iat, nonce) as for token-endpoint ID tokens, but with the
 * key cache's cooldown (the token came through a browser), then the flow's own rules (`c_hash`, auth_time).
 */
export interface FrontChannelIdToken {
  idToken: string;
  claims: JWTPayload & { sub: string };
}

/**
 * `code id_token` (Core 3.3.2.11 – 3.3.2.12): state and `iss` first, then the ID token — signature,
 * pinned algorithms, iss, aud, azp, exp, iat, nonce (verifyIdToken, with the IdP's one key cache) — and
 * `c_hash` over the code, all before the code is redeemed. Returns the response parameters ready for
 * redemption.
 *
 * oauth4webapi's validateCodeIdTokenResponse does the same, but verifies the signature with a key cache
 * of its own (a second JWKS read per IdP, and ~2 KiB gzipped of bundle that jose already covers): the
 * checks it makes beyond verifyIdToken's are made here, as it makes them.
 */
export async function validateCodeIdToken(
  provider: Provider,
  config: Config,
  callbackParams: URLSearchParams,
  tx: Transaction,
  now: number,
): Promise<FrontChannelIdToken & { params: URLSearchParams }> {
  const { as, client } = provider;
  const params = new URLSearchParams(callbackParams);
  const idTokens = params.getAll('id_token');
  params.delete('id_token');
  // RFC 9207 2.4: the ID token's own iss binds the issuer here; an `iss` parameter present must still match.
  const validated = oauth.validateAuthResponse({ ...as, authorization_response_iss_parameter_supported: false }, client, params, tx.state);
  const codes = params.getAll('code');
  const idToken = oneIdToken(idTokens);
  if (codes.length !== 1 || !codes[0]) throw callbackInvalid(tx, codes.length === 0 ? 'code id_token response carries no code' : 'several code parameters');
  const claims = await verifyIdToken(provider, config, idToken, { nonce: tx.nonce, now });
  if (typeof claims['nonce'] !== 'string') throw idTokenError(new Error('nonce is missing'));
  // As oauth4webapi: a front-channel ID token older than an hour is not this sign-in's.
  if (claims.iat! < now - MAX_FRONT_CHANNEL_AGE) throw idTokenError(new Error('iat is too far in the past'));
  checkAuthTime(claims, tx, now, config);
  // Core 3.3.2.11: c_hash is required; s_hash (FAPI 1), when present, must match the state.
  const { alg } = decodeProtectedHeader(idToken);
  if (typeof claims['c_hash'] !== 'string' || claims['c_hash'] !== (await leftHalfHash(codes[0], alg))) throw idTokenError(new Error('c_hash does not match the code'));
  if (claims['s_hash'] !== undefined) {
    const state = params.get('state');
    if (state === null || claims['s_hash'] !== (await leftHalfHash(state, alg))) throw idTokenError(new Error('s_hash does not match the state'));
  }
  return { idToken, claims, params: validated };
}

/** oauth4webapi's bound on a hybrid response's ID token age (its validateCodeIdTokenResponse). */
const MAX_FRONT_CHANNEL_AGE = 3600;

/**
 * Core 3.3.2.11: the left half of the hash of the token's `alg` (SHA-256 for RS256, ES256, PS256…;
 * SHA-512 for EdDSA over Ed25519, as oauth4webapi), base64url. An alg without a hash matches nothing.
 */
async function leftHalfHash(value: string, alg: string | undefined): Promise<string | undefined> {
  const bits = alg === 'EdDSA' || alg === 'Ed25519' ? '512' : /^(?:RS|PS|ES)(256|384|512)$/.exec(alg ?? '')?.[1];
  if (!bits) return undefined;
  const digest = new Uint8Array(await crypto.subtle.digest(`SHA-${bits}`, utf8.encode(value)));
  return toBase64Url(digest.subarray(0, digest.length / 2));
}

/** Core 3.1.2.1: with max_age, auth_time is required and must be recent enough; when present, it is a number. */
function checkAuthTime(claims: JWTPayload, tx: Transaction, now: number, config: Config): void {
  const authTime = claims['auth_time'];
  if (authTime === undefined && tx.max_age === undefined) return;
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) {
    throw idTokenError(new Error(tx.max_age === undefined ? 'auth_time is not a number' : 'auth_time is missing (max_age was requested)'));
  }
  if (tx.max_age !== undefined && now - authTime > tx.max_age + config.clockSkew) throw staleAuthTime(tx);
}

/** Exactly one non-empty `id_token` parameter: a second one could be read instead of the one checked. */
function oneIdToken(idTokens: string[]): string {
  if (idTokens.length !== 1 || !idTokens[0]) throw idTokenError(new Error(idTokens.length === 0 ? 'the authorization response carries no ID token' : 'several id_token parameters'));
  return idTokens[0];
}

function callbackInvalid(tx: Transaction, detail: string): GatewayError {
  return new GatewayError('callback_invalid', 'The sign-in response was not valid for this sign-in. Please try again.', { detail, retryHref: loginHref(tx) });
}

/**
 * `id_token` (Core 3.2.2.5 – 3.2.2.11): state and `iss` first, then the ID token, whose `nonce` is
 * mandatory (the only thing tying it to this browser's sign-in). No code and no access token may come
 * with it: this gateway asked for neither.
 */
export async function validateIdTokenOnly(
  provider: Provider,
  config: Config,
  callbackParams: URLSearchParams,
  tx: Transaction,
  now: number,
): Promise<FrontChannelIdToken> {
  const { as, client } = provider;
  const rest = new URLSearchParams(callbackParams);
  const idTokens = rest.getAll('id_token');
  rest.delete('id_token');
  // Throws the IdP's error (AuthorizationResponseError) or a state / iss mismatch first. RFC 9207 2.4:
  // a response with an ID token may leave `iss` out (the token's own iss binds the issuer, checked
  // below); one that is present must still match, as oauth4webapi does for the hybrid flow.
  oauth.validateAuthResponse({ ...as, authorization_response_iss_parameter_supported: false }, client, rest, tx.state);
  for (const unexpected of ['code', 'access_token', 'token_type']) {
    if (rest.has(unexpected)) throw callbackInvalid(tx, `id_token response carries an unexpected ${unexpected}`);
  }
  const idToken = oneIdToken(idTokens);
  const claims = await verifyIdToken(provider, config, idToken, { nonce: tx.nonce, now });
  if (typeof claims['nonce'] !== 'string') throw idTokenError(new Error('nonce is missing'));
  checkAuthTime(claims, tx, now, config);
  return { idToken, claims };
}
