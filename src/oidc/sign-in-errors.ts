import * as oauth from 'oauth4webapi';
import { GatewayError } from '../http/errors';
import type { Transaction } from '../session/transaction';
import { idTokenError } from './id-token';
import { idpResponseError } from './provider';

/**
 * What can go wrong between the IdP's answer and a session, as typed errors (http/errors.ts): the
 * IdP's own error responses, responses that do not fit this sign-in, and token-endpoint failures.
 */

/** Errors while reading the authorization response: the IdP's own errors, or a response that does not fit this sign-in. */
export function rethrow(error: unknown, tx: Transaction): never {
  if (error instanceof GatewayError) throw error;
  if (error instanceof oauth.AuthorizationResponseError) throw authorizationError(error, tx);
  // Front-channel ID tokens fail as GatewayErrors already (oidc/front-channel.ts, id-token.ts).
  if (error instanceof TypeError || error instanceof oauth.UnsupportedOperationError || error instanceof oauth.OperationProcessingError) {
    throw new GatewayError('callback_invalid', 'The sign-in response was not valid for this sign-in. Please try again.', {
      detail: `authorization response rejected: ${(error as Error).message.slice(0, 200)}`,
      retryHref: loginHref(tx),
      cause: error,
    });
  }
  throw idpResponseError(error, 'authorization response');
}

/** oauth4webapi's max_age check failed: `auth_time` present and well-formed, but too old. */
export function isStaleAuthTime(error: unknown): boolean {
  if (!(error instanceof oauth.OperationProcessingError) || error.code !== oauth.JWT_TIMESTAMP_CHECK) return false;
  return (error.cause as { claim?: unknown } | undefined)?.claim === 'auth_time';
}

/**
 * The IdP returned a valid ID token but did not re-authenticate as max_age asked (Core 3.1.2.1): the
 * same outcome as an acr it did not meet, not a broken IdP response.
 */
export function staleAuthTime(tx: Transaction): GatewayError {
  return new GatewayError('forbidden', 'This page needs a more recent sign-in than the identity provider performed.', {
    detail: `step-up: asked for max_age ${tx.max_age}, the ID token's auth_time is older`,
    retryHref: loginHref(tx),
  });
}

export function loginHref(tx: Transaction): string {
  return `/_auth/login?rd=${encodeURIComponent(tx.returnTo)}`;
}

const DENIED = new Set(['access_denied', 'unauthorized_client', 'consent_required', 'interaction_required', 'login_required', 'account_selection_required']);

/**
 * Core 3.1.2.6: what a `prompt=none` request answers when the IdP cannot sign the user in without
 * showing something. A silent attempt then falls back to an interactive sign-in.
 */
const NEEDS_INTERACTION = new Set(['login_required', 'interaction_required', 'consent_required', 'account_selection_required']);

/** The IdP's error code when a silent attempt should fall back to an interactive sign-in, else null. */
export function interactionNeeded(error: unknown, tx: Transaction): string | null {
  if (!tx.silent || !(error instanceof GatewayError) || error.code !== 'idp_denied') return null;
  const code = error.extra['idp_error'];
  return code !== undefined && NEEDS_INTERACTION.has(code) ? code : null;
}

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

export function tokenError(error: unknown, tx: Transaction): GatewayError {
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
