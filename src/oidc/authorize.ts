import * as oauth from 'oauth4webapi';
import type { Config } from '../config';
import type { Transaction } from '../session/transaction';
import type { StepUp } from '../policy/decide';
import type { Provider } from './provider';

export interface SignInStart {
  authorizationUrl: URL;
  transaction: Transaction;
}

/**
 * The authorization request (Core 3.1.2.1) with PKCE S256 (RFC 7636), a fresh `state` against CSRF
 * and a fresh `nonce` against ID-token replay — on every sign-in, no exceptions.
 */
export async function beginSignIn(
  provider: Provider,
  config: Config,
  redirectUri: string,
  returnTo: string,
  now: number,
  stepUp?: StepUp,
): Promise<SignInStart> {
  const transaction: Transaction = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    verifier: oauth.generateRandomCodeVerifier(),
    returnTo,
    createdAt: now,
    ...(stepUp?.acr_values ? { acr_values: [...stepUp.acr_values] } : {}),
    ...(stepUp?.max_age !== undefined ? { max_age: stepUp.max_age } : {}),
  };
  const url = new URL(provider.as.authorization_endpoint!);
  const params = url.searchParams;
  params.set('response_type', 'code');
  params.set('client_id', config.clientId);
  params.set('redirect_uri', redirectUri);
  params.set('scope', config.scopes.join(' '));
  params.set('state', transaction.state);
  params.set('nonce', transaction.nonce);
  params.set('code_challenge', await oauth.calculatePKCECodeChallenge(transaction.verifier));
  params.set('code_challenge_method', 'S256');
  const prompt: string[] = [];
  // Core 11: an IdP may ignore offline_access unless consent is asked for (oidc-provider does).
  if (config.scopes.includes('offline_access')) prompt.push('consent');
  if (transaction.acr_values) params.set('acr_values', transaction.acr_values.join(' '));
  if (transaction.max_age !== undefined) params.set('max_age', String(transaction.max_age));
  if (stepUp?.reauthenticate) prompt.push('login');
  if (prompt.length > 0) params.set('prompt', prompt.join(' '));
  return { authorizationUrl: url, transaction };
}
