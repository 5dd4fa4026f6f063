import * as oauth from 'oauth4webapi';
import type { Config } from '../config';
import { GatewayError } from '../http/errors';
import type { Transaction } from '../session/transaction';
import { identityClaims, type Session } from '../session/model';
import { idpResponseError, type Provider } from './provider';
import { idTokenError, verifyIdToken } from './id-token';

/** What a completed sign-in yields: the session's identity and token fields. */
export type SignInResult = Pick<Session, 'sub' | 'claims' | 'idToken' | 'accessToken' | 'refreshToken' | 'accessTokenExpiresAt' | 'sid'>;

/**
 * The redirect back from the IdP (Core 3.1.2.5 – 3.1.3.7): state and `iss` (RFC 9207) first, then
 * the code is redeemed with the PKCE verifier, the ID token verified, and UserInfo read when the ID
 * token lacks the profile claims the scopes asked for.
 */
export async function completeSignIn(
  provider: Provider,
  config: Config,
  callbackParams: URLSearchParams,
  tx: Transaction,
  redirectUri: string,
  now: number,
): Promise<SignInResult> {
  const { as, client, clientAuth, httpOptions } = provider;

  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, client, callbackParams, tx.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) throw authorizationError(error, tx);
    throw new GatewayError('callback_invalid', 'The sign-in response was not valid for this sign-in. Please try again.', {
      detail: `authorization response rejected: ${(error as Error).message}`,
      retryHref: loginHref(tx),
      cause: error,
    });
  }

  let tokens: oauth.TokenEndpointResponse;
  try {
    const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, tx.verifier, httpOptions);
    tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: tx.nonce,
      requireIdToken: true,
      // Core 3.1.2.1: with max_age the ID token must carry auth_time, and it must be recent enough.
      ...(tx.max_age !== undefined ? { maxAge: tx.max_age } : {}),
    });
  } catch (error) {
    if (tx.max_age !== undefined && isStaleAuthTime(error)) {
      // The IdP returned a valid ID token but did not re-authenticate as max_age asked (Core
      // 3.1.2.1): the same outcome as an acr it did not meet below, not a broken IdP response.
      throw new GatewayError('forbidden', 'This page needs a more recent sign-in than the identity provider performed.', {
        detail: `step-up: asked for max_age ${tx.max_age}, the ID token's auth_time is older`,
        retryHref: loginHref(tx),
      });
    }
    throw tokenError(error, tx);
  }

  const idToken = tokens.id_token!;
  const idClaims = await verifyIdToken(provider, config, idToken, { nonce: tx.nonce, now });
  if (tx.acr_values && !(typeof idClaims['acr'] === 'string' && tx.acr_values.includes(idClaims['acr']))) {
    // acr_values is only a request (Core 3.1.2.1); the IdP may sign the user in more weakly.
    throw new GatewayError('forbidden', 'This page needs a stronger sign-in than the identity provider performed.', {
      detail: `step-up: asked for acr ${tx.acr_values.join(' ')}, got ${typeof idClaims['acr'] === 'string' ? idClaims['acr'].slice(0, 64) : 'none'}`,
      retryHref: loginHref(tx),
    });
  }

  let userinfo: Record<string, unknown> | undefined;
  if (tokens.access_token && needsUserInfo(config.scopes, idClaims) && as.userinfo_endpoint) {
    userinfo = await fetchUserInfo(provider, tokens.access_token, idClaims.sub);
  }

  return {
    sub: idClaims.sub,
    claims: identityClaims(idClaims, userinfo),
    idToken,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    accessTokenExpiresAt: typeof tokens.expires_in === 'number' ? now + tokens.expires_in : undefined,
    sid: typeof idClaims['sid'] === 'string' ? idClaims['sid'] : undefined,
  };
}

/** Only when the scopes asked for profile data the ID token does not carry (Core 5.4 lets IdPs put it in either). */
export function needsUserInfo(scopes: string[], claims: Record<string, unknown>): boolean {
  if (scopes.includes('email') && claims['email'] === undefined) return true;
  if (scopes.includes('profile') && claims['name'] === undefined && claims['preferred_username'] === undefined) return true;
  return false;
}

export async function fetchUserInfo(provider: Provider, accessToken: string, sub: string): Promise<Record<string, unknown>> {
  const { as, client, httpOptions } = provider;
  try {
    const response = await oauth.userInfoRequest(as, client, accessToken, httpOptions);
    const signed = response.headers.get('content-type')?.startsWith('application/jwt') ?? false;
    // Core 5.3.2: the `sub` must equal the ID token's, or the answer is about someone else.
    const claims = await oauth.processUserInfoResponse(as, client, sub, response);
    if (signed) await oauth.validateApplicationLevelSignature(as, response, httpOptions);
    return claims as Record<string, unknown>;
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('userinfo_invalid', 'The identity provider’s user information could not be verified.', {
      detail: `UserInfo rejected: ${(error as { code?: string }).code ?? ''} ${(error as Error).message?.slice(0, 200)}`,
      cause: error,
    });
  }
}

/** oauth4webapi's max_age check failed: `auth_time` present and well-formed, but too old. */
function isStaleAuthTime(error: unknown): boolean {
  if (!(error instanceof oauth.OperationProcessingError) || error.code !== oauth.JWT_TIMESTAMP_CHECK) return false;
  return (error.cause as { claim?: unknown } | undefined)?.claim === 'auth_time';
}

function loginHref(tx: Transaction): string {
  return `/_auth/login?rd=${encodeURIComponent(tx.returnTo)}`;
}

const DENIED = new Set(['access_denied', 'unauthorized_client', 'consent_required', 'interaction_required', 'login_required', 'account_selection_required']);

function authorizationError(error: oauth.AuthorizationResponseError, tx: Transaction): GatewayError {
  const code = /^[\x20-\x7e]{1,64}$/.test(error.error) ? error.error : 'invalid_error_code';
  const denied = DENIED.has(code);
  return new GatewayError(
    denied ? 'idp_denied' : 'idp_error',
    denied
      ? `The identity provider did not sign you in (${code}).`
      : `The identity provider reported an error (${code}). Please try again later.`,
    {
      detail: `authorization error ${code}`,
      retryHref: loginHref(tx),
      extra: { idp_error: code },
    },
  );
}

function tokenError(error: unknown, tx: Transaction): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof oauth.ResponseBodyError) {
    // An expired or already-used code: the user can simply start again.
    if (error.error === 'invalid_grant') {
      return new GatewayError('callback_invalid', 'This sign-in link has expired or was already used. Please sign in again.', {
        detail: `token endpoint: invalid_grant (HTTP ${error.status})`,
        retryHref: loginHref(tx),
        cause: error,
      });
    }
    return new GatewayError('idp_error', 'The identity provider refused to complete the sign-in.', {
      detail: `token endpoint: ${error.error} (HTTP ${error.status})`,
      cause: error,
    });
  }
  const code = (error as { code?: string })?.code;
  if (code === oauth.JWT_CLAIM_COMPARISON || code === oauth.JWT_TIMESTAMP_CHECK || (code === oauth.INVALID_RESPONSE && /JWT|ID Token/i.test((error as Error).message))) {
    return idTokenError(error);
  }
  return idpResponseError(error, 'token endpoint');
}
