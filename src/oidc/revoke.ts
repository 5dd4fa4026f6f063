import * as oauth from 'oauth4webapi';
import { idpResponseError, type Provider } from './provider';

/**
 * Token revocation (RFC 7009): tells the IdP a token is no longer needed, so a refresh token does not
 * outlive the session it was issued for. `unsupported` when the IdP advertises no revocation endpoint.
 * Throws a GatewayError when the IdP cannot be reached or refuses; callers treat it as best effort.
 */
export async function revokeToken(provider: Provider, token: string, hint: 'refresh_token' | 'access_token'): Promise<'revoked' | 'unsupported'> {
  const { as, client, clientAuth, httpOptions } = provider;
  if (!as.revocation_endpoint) return 'unsupported';
  try {
    // RFC 7009 2.1: the hint only speeds up the IdP's lookup; it must find the token either way.
    const response = await oauth.revocationRequest(as, client, clientAuth, token, { ...httpOptions, additionalParameters: { token_type_hint: hint } });
    await oauth.processRevocationResponse(response);
  } catch (error) {
    throw idpResponseError(error, 'revocation endpoint');
  }
  return 'revoked';
}
