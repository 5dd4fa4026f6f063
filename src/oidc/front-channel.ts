import * as oauth from 'oauth4webapi';
import type { JWTPayload } from 'jose';
import type { Config } from '../config';
import { GatewayError } from '../http/errors';
import type { Transaction } from '../session/transaction';
import { idTokenError, verifyIdToken } from './id-token';
import { loginHref, staleAuthTime } from './sign-in-errors';
import type { Provider } from './provider';

/**
 * ID tokens that arrive with the authorization response (through the browser, as a `form_post`)
 * rather than from the token endpoint. Nothing vouches for them but their signature, so they are
 * checked twice: by oauth4webapi (the flow's own rules: `c_hash`, nonce, auth_time) and by
 * verifyIdToken (pinned algorithms, iss, aud, azp, exp, iat), exactly like token-endpoint ID tokens.
 */
export interface FrontChannelIdToken {
  idToken: string;
  claims: JWTPayload & { sub: string };
}

/**
 * `code id_token` (Core 3.3.2.11 – 3.3.2.12): the ID token's signature, iss, aud, exp, nonce and
 * `c_hash` — the left half of the code's SHA-256/384/512 as the token's `alg` says — all hold before
 * the code is redeemed. Returns the response parameters ready for redemption.
 */
export async function validateCodeIdToken(
  provider: Provider,
  config: Config,
  callbackParams: URLSearchParams,
  tx: Transaction,
  now: number,
): Promise<FrontChannelIdToken & { params: URLSearchParams }> {
  const { as, client, httpOptions } = provider;
  // RFC 9207's iss, when present, is still compared; the ID token's own iss is what binds the issuer here.
  const params = await oauth.validateCodeIdTokenResponse(as, client, callbackParams, tx.nonce, tx.state, tx.max_age, httpOptions);
  const idToken = callbackParams.get('id_token')!;
  const claims = await verifyIdToken(provider, config, idToken, { nonce: tx.nonce, now });
  return { idToken, claims, params };
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
    if (rest.has(unexpected)) {
      throw new GatewayError('callback_invalid', 'The sign-in response was not valid for this sign-in. Please try again.', {
        detail: `id_token response carries an unexpected ${unexpected}`,
        retryHref: loginHref(tx),
      });
    }
  }
  if (idTokens.length !== 1 || !idTokens[0]) {
    throw idTokenError(new Error(idTokens.length === 0 ? 'the authorization response carries no ID token' : 'several id_token parameters'));
  }
  const idToken = idTokens[0];
  const claims = await verifyIdToken(provider, config, idToken, { nonce: tx.nonce, now });
  if (typeof claims['nonce'] !== 'string') throw idTokenError(new Error('nonce is missing'));
  if (tx.max_age !== undefined) {
    // Core 3.1.2.1: with max_age, auth_time is required and must be recent enough.
    const authTime = claims['auth_time'];
    if (typeof authTime !== 'number' || !Number.isFinite(authTime)) throw idTokenError(new Error('auth_time is missing (max_age was requested)'));
    if (now - authTime > tx.max_age + config.clockSkew) throw staleAuthTime(tx);
  }
  return { idToken, claims };
}
