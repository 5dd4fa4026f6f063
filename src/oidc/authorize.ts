import * as oauth from 'oauth4webapi';
import type { Config } from '../config';
import type { Transaction } from '../session/transaction';
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
): Promise<SignInStart> {
  const transaction: Transaction = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    verifier: oauth.generateRandomCodeVerifier(),
    returnTo,
    createdAt: now,
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
  return { authorizationUrl: url, transaction };
}
