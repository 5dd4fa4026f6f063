import * as oauth from 'oauth4webapi';
import type { Config } from '../config';
import { GatewayError } from '../http/errors';
import type { Transaction } from '../session/transaction';
import type { StepUp } from '../policy/decide';
import type { LoginOptions } from '../config/auth-params';
import { checkIdpSupport, usesPar } from './flow';
import { idpResponseError, type Provider } from './provider';

export interface SignInStart {
  authorizationUrl: URL;
  transaction: Transaction;
}

export interface SignInOptions extends LoginOptions {
  stepUp?: StepUp | undefined;
  /** `prompt=none` first (a session ended; docs/protocols.md "Silent re-authentication"). */
  silent?: boolean;
}

/**
 * The authorization request (Core 3.1.2.1 / 3.3.2.1) with PKCE S256 (RFC 7636) whenever a code is
 * asked for, a fresh `state` against CSRF and a fresh `nonce` against ID-token replay — on every
 * sign-in, no exceptions. Pushed first (RFC 9126) when OIDC_USE_PAR says so.
 */
export async function beginSignIn(
  provider: Provider,
  config: Config,
  redirectUri: string,
  returnTo: string,
  now: number,
  options: SignInOptions = {},
): Promise<SignInStart> {
  const { as } = provider;
  checkIdpSupport(config, as);
  const { stepUp } = options;
  const transaction: Transaction = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    verifier: oauth.generateRandomCodeVerifier(),
    returnTo,
    createdAt: now,
    ...(stepUp?.acr_values ? { acr_values: [...stepUp.acr_values] } : {}),
    ...(stepUp?.max_age !== undefined ? { max_age: stepUp.max_age } : {}),
    ...(options.silent ? { silent: true as const } : {}),
    ...(options.loginHint ? { loginHint: options.loginHint } : {}),
  };

  const params = new URLSearchParams();
  // Static extras first (OIDC_AUTH_PARAMS); the protocol's own parameters below always win.
  for (const [name, value] of config.authParams) params.append(name, value);
  params.set('response_type', config.responseType);
  if (config.responseMode !== 'query') params.set('response_mode', config.responseMode);
  params.set('client_id', config.clientId);
  params.set('redirect_uri', redirectUri);
  params.set('scope', config.scopes.join(' '));
  params.set('state', transaction.state);
  params.set('nonce', transaction.nonce);
  if (config.responseType !== 'id_token') {
    params.set('code_challenge', await oauth.calculatePKCECodeChallenge(transaction.verifier));
    params.set('code_challenge_method', 'S256');
  }
  // A step-up's acr_values replace the configured default; they are checked at the callback, the default is not.
  if (transaction.acr_values) params.set('acr_values', transaction.acr_values.join(' '));
  if (transaction.max_age !== undefined) params.set('max_age', String(transaction.max_age));
  if (transaction.loginHint) params.set('login_hint', transaction.loginHint);
  const prompt = promptFor(config, options, params.get('prompt'));
  if (prompt) params.set('prompt', prompt);
  else params.delete('prompt');

  const url = new URL(as.authorization_endpoint!);
  if (usesPar(config, as)) {
    const requestUri = await pushRequest(provider, params);
    // RFC 9126 4: only client_id and request_uri go through the browser.
    url.searchParams.set('client_id', config.clientId);
    url.searchParams.set('request_uri', requestUri);
  } else {
    for (const [name, value] of params) url.searchParams.append(name, value);
  }
  return { authorizationUrl: url, transaction };
}

/**
 * `none` alone for a silent attempt (Core 3.1.2.1: none with anything else is an error). Otherwise
 * the link's prompt, else the configured one, plus `login` for a too-old sign-in (step-up) and
 * `consent` when offline_access is asked for (Core 11: oidc-provider ignores it without).
 */
function promptFor(config: Config, options: SignInOptions, configured: string | null): string | null {
  if (options.silent) return 'none';
  const base = options.prompt ?? configured ?? '';
  const values = new Set(base.split(' ').filter(Boolean));
  if (values.has('none')) return 'none';
  if (config.scopes.includes('offline_access')) values.add('consent');
  if (options.stepUp?.reauthenticate) values.add('login');
  return values.size > 0 ? [...values].join(' ') : null;
}

/** RFC 9126 2: the request goes to the IdP directly, authenticated like a token request. */
async function pushRequest(provider: Provider, params: URLSearchParams): Promise<string> {
  const { as, client, clientAuth, httpOptions } = provider;
  const body = new URLSearchParams(params);
  body.delete('client_id');
  let response: Response;
  try {
    response = await oauth.pushedAuthorizationRequest(as, client, clientAuth, body, httpOptions);
  } catch (error) {
    throw idpResponseError(error, 'pushed authorization request');
  }
  try {
    const result = await oauth.processPushedAuthorizationResponse(as, client, response);
    return result.request_uri;
  } catch (error) {
    throw parError(error);
  }
}

function parError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof oauth.ResponseBodyError || (error instanceof oauth.WWWAuthenticateChallengeError && error.status === 401)) {
    const raw = error instanceof oauth.ResponseBodyError ? error.error : 'invalid_client';
    const code = /^[\x20-\x7e]{1,64}$/.test(raw) ? raw : 'invalid_error_code';
    return new GatewayError('idp_error', `The identity provider refused to start the sign-in (${code}). This is usually a configuration problem; please tell the site's operator.`, {
      detail: `pushed authorization request: ${code} (HTTP ${error.status})${error instanceof oauth.ResponseBodyError && typeof error.cause.error_description === 'string' ? `: ${error.cause.error_description.slice(0, 200)}` : ''}`,
      extra: { idp_error: code },
      cause: error,
    });
  }
  return idpResponseError(error, 'pushed authorization request');
}
