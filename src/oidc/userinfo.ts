import * as oauth from 'oauth4webapi';
import { jwtVerify } from 'jose';
import { ASYMMETRIC_ALGS } from '../config/schema';
import { GatewayError } from '../http/errors';
import { keysForIdpAnswers } from './jwks';
import type { Provider } from './provider';
import { onceMoreOnNonce, withProof } from './dpop-client';

/** Only when the scopes asked for profile data the ID token does not carry (Core 5.4 lets IdPs put it in either). */
export function needsUserInfo(scopes: string[], claims: Record<string, unknown>): boolean {
  if (scopes.includes('email') && claims['email'] === undefined) return true;
  if (scopes.includes('profile') && claims['name'] === undefined && claims['preferred_username'] === undefined) return true;
  return false;
}

/**
 * UserInfo (Core 5.3), at sign-in and after each refresh; with a DPoP-bound token, as `Authorization:
 * DPoP` with a proof (RFC 9449 7). Core 5.3.2: the `sub` must be `expectedSub` (at sign-in, the ID
 * token's), or the answer is about someone else; after a refresh the caller compares it.
 *
 * A signed answer (`application/jwt`, Core 5.3.2): oauth4webapi checks its `alg` against the IdP's
 * metadata and its `iss` and `aud`; the signature is checked here with the IdP's keys (oidc/jwks.ts),
 * the answer having come from the IdP over TLS. (oauth4webapi's validateApplicationLevelSignature would
 * read the keys a second time, into a cache of its own.)
 */
export async function fetchUserInfo(
  provider: Provider,
  accessToken: string,
  expectedSub: string | typeof oauth.skipSubjectCheck,
  dpop?: oauth.DPoPHandle,
): Promise<Record<string, unknown>> {
  const { as, client } = provider;
  try {
    return await onceMoreOnNonce(dpop, async () => {
      const response = await oauth.userInfoRequest(as, client, accessToken, withProof(provider, dpop));
      // The media type as oauth4webapi reads it: it parses exactly these answers as a JWT.
      const jwt = response.status === 200 && response.headers.get('content-type')?.split(';')[0] === 'application/jwt' ? await response.clone().text() : undefined;
      const claims = (await oauth.processUserInfoResponse(as, client, expectedSub, response)) as Record<string, unknown>;
      if (jwt !== undefined) {
        await jwtVerify(jwt, keysForIdpAnswers(provider.jwks), { algorithms: [...ASYMMETRIC_ALGS], clockTolerance: client[oauth.clockTolerance] ?? 0 });
      }
      return claims;
    });
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('userinfo_invalid', 'The identity provider’s user information could not be verified.', {
      detail: `UserInfo rejected: ${(error as { code?: string }).code ?? ''} ${(error as Error).message?.slice(0, 200)}`,
      cause: error,
    });
  }
}
