import * as oauth from 'oauth4webapi';
import type { JWTPayload } from 'jose';
import type { Config } from '../config';
import { GatewayError } from '../http/errors';
import type { Transaction } from '../session/transaction';
import { identityClaims, type Session, type SessionDpopKey } from '../session/model';
import type { Provider } from './provider';
import { idTokenError, verifyIdToken } from './id-token';
import { validateCodeIdToken, validateIdTokenOnly, type FrontChannelIdToken } from './front-channel';
import { isStaleAuthTime, loginHref, rethrow, staleAuthTime, tokenError } from './sign-in-errors';
import { checkIdpDpop, dpopHandle, newSessionKey, onceMoreOnNonce, requireBoundTokens, withProof } from './dpop-client';
import { fetchUserInfo, needsUserInfo } from './userinfo';

/** What a completed sign-in yields: the session's identity and token fields. */
export type SignInResult = Pick<Session, 'sub' | 'claims' | 'idToken' | 'accessToken' | 'refreshToken' | 'accessTokenExpiresAt' | 'sid' | 'dpopKey'>;

type IdClaims = JWTPayload & { sub: string };

/**
 * The authorization response (Core 3.1.2.5 – 3.1.3.7, 3.2.2.5 – 3.2.2.11, 3.3.2.5 – 3.3.3.8), by
 * OIDC_RESPONSE_TYPE:
 * - `code`: state and `iss` (RFC 9207), then the code is redeemed with the PKCE verifier;
 * - `code id_token`: the front-channel ID token is verified first (signature, iss, aud, nonce, exp,
 *   `c_hash` over the code), then the code is redeemed; both ID tokens must name the same iss and sub;
 * - `id_token`: the ID token is all there is (nonce mandatory; no tokens for API calls).
 * Then the acr a step-up asked for, and UserInfo when the ID token lacks the claims the scopes asked for.
 */
export async function completeSignIn(
  provider: Provider,
  config: Config,
  callbackParams: URLSearchParams,
  tx: Transaction,
  redirectUri: string,
  now: number,
): Promise<SignInResult> {
  switch (config.responseType) {
    case 'code': {
      const params = validated(() => oauth.validateAuthResponse(provider.as, provider.client, callbackParams, tx.state), tx);
      return finish(provider, config, tx, now, await redeemCode(provider, config, params, tx, redirectUri, now));
    }
    case 'code id_token': {
      const front = await validateCodeIdToken(provider, config, callbackParams, tx, now).catch((error: unknown) => rethrow(error, tx));
      const redeemed = await redeemCode(provider, config, front.params, tx, redirectUri, now);
      // Core 3.3.3.6 / 3.3.2.12: both ID tokens are about the same user, from the same issuer.
      if (redeemed.idClaims.iss !== front.claims.iss || redeemed.idClaims.sub !== front.claims.sub) {
        throw idTokenError(new Error('the token endpoint ID token names another iss or sub than the authorization response one'));
      }
      return finish(provider, config, tx, now, redeemed);
    }
    case 'id_token': {
      const front: FrontChannelIdToken = await validateIdTokenOnly(provider, config, callbackParams, tx, now).catch((error: unknown) => rethrow(error, tx));
      return finish(provider, config, tx, now, { idToken: front.idToken, idClaims: front.claims });
    }
  }
}

interface Redeemed {
  idToken: string;
  idClaims: IdClaims;
  tokens?: oauth.TokenEndpointResponse;
  /** OIDC_DPOP: the key the tokens are bound to, and its handle for UserInfo. */
  dpop?: { key: SessionDpopKey; handle: oauth.DPoPHandle };
}

function validated(run: () => URLSearchParams, tx: Transaction): URLSearchParams {
  try {
    return run();
  } catch (error) {
    return rethrow(error, tx);
  }
}

async function redeemCode(provider: Provider, config: Config, params: URLSearchParams, tx: Transaction, redirectUri: string, now: number): Promise<Redeemed> {
  const { as, client, clientAuth } = provider;
  // OIDC_DPOP: a key pair of this session's own, made now; the code is redeemed with a proof by it (RFC 9449 5).
  let dpop: Redeemed['dpop'];
  if (config.dpop) {
    checkIdpDpop(provider, config);
    const key = await newSessionKey();
    dpop = { key, handle: await dpopHandle(provider, key) };
  }
  const options = withProof(provider, dpop?.handle);
  let tokens: oauth.TokenEndpointResponse;
  try {
    tokens = await onceMoreOnNonce(dpop?.handle, async () => {
      const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, tx.verifier, options);
      return oauth.processAuthorizationCodeResponse(as, client, response, {
        expectedNonce: tx.nonce,
        requireIdToken: true,
        // Core 3.1.2.1: with max_age the ID token must carry auth_time, and it must be recent enough.
        ...(tx.max_age !== undefined ? { maxAge: tx.max_age } : {}),
      });
    });
    if (dpop) requireBoundTokens(tokens, 'token endpoint');
  } catch (error) {
    if (tx.max_age !== undefined && isStaleAuthTime(error)) throw staleAuthTime(tx);
    throw tokenError(error, tx);
  }
  const idToken = tokens.id_token!;
  // The token came after the round trip to the IdP: judge its `iat` by the clock now, not the request's
  // start (with CLOCK_SKEW = 0 an IdP answering in the next second was refused as "iat in the future").
  const answeredAt = Math.max(now, Math.floor(Date.now() / 1000));
  const idClaims = await verifyIdToken(provider, config, idToken, { nonce: tx.nonce, now: answeredAt, fromTokenEndpoint: true });
  return dpop ? { idToken, idClaims, tokens, dpop } : { idToken, idClaims, tokens };
}

async function finish(provider: Provider, config: Config, tx: Transaction, now: number, { idToken, idClaims, tokens, dpop }: Redeemed): Promise<SignInResult> {
  if (tx.acr_values && !(typeof idClaims['acr'] === 'string' && tx.acr_values.includes(idClaims['acr']))) {
    // acr_values is only a request (Core 3.1.2.1); the IdP may sign the user in more weakly.
    throw new GatewayError('forbidden', 'This page needs a stronger sign-in than the identity provider performed.', {
      detail: `step-up: asked for acr ${tx.acr_values.join(' ')}, got ${typeof idClaims['acr'] === 'string' ? idClaims['acr'].slice(0, 64) : 'none'}`,
      retryHref: loginHref(tx),
    });
  }

  let userinfo: Record<string, unknown> | undefined;
  if (tokens?.access_token && needsUserInfo(config.scopes, idClaims) && provider.as.userinfo_endpoint) {
    userinfo = await fetchUserInfo(provider, tokens.access_token, idClaims.sub, dpop?.handle);
  }

  return {
    sub: idClaims.sub,
    claims: identityClaims(idClaims, userinfo),
    idToken,
    accessToken: tokens?.access_token,
    refreshToken: tokens?.refresh_token,
    accessTokenExpiresAt: typeof tokens?.expires_in === 'number' ? now + tokens.expires_in : undefined,
    sid: typeof idClaims['sid'] === 'string' ? idClaims['sid'] : undefined,
    ...(dpop ? { dpopKey: dpop.key } : {}),
  };
}
