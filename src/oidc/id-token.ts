import { jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../config';
import { GatewayError } from '../http/errors';
import type { Provider } from './provider';
import { keysForIdpAnswers } from './jwks';

/**
 * Verifies an ID token's signature with the issuer's published keys and re-checks the claims of
 * Core 3.1.3.7 independently of oauth4webapi (which validates claims but, for tokens fetched over
 * TLS, not signatures). Algorithms are pinned: never `none`, never HS* — a public key used as an
 * HMAC secret is the classic confusion attack.
 *
 * `fromTokenEndpoint`: the token came straight from the IdP's token endpoint, so an unknown `kid` is a
 * key rotation and re-reads the JWKS at once (oidc/jwks.ts); left out, the 30 s cooldown applies.
 */
export async function verifyIdToken(
  provider: Provider,
  config: Config,
  idToken: string,
  expected: { nonce?: string; now: number; fromTokenEndpoint?: boolean },
): Promise<JWTPayload & { sub: string }> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, expected.fromTokenEndpoint ? keysForIdpAnswers(provider.jwks) : provider.jwks, {
      issuer: provider.as.issuer,
      audience: config.clientId,
      algorithms: provider.idTokenAlgs,
      clockTolerance: config.clockSkew,
      currentDate: new Date(expected.now * 1000),
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
    }));
  } catch (error) {
    throw idTokenError(error);
  }
  const fail = (why: string) => idTokenError(new Error(why));
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw fail('sub is missing or not a string');
  if (typeof payload.iat !== 'number' || payload.iat > expected.now + config.clockSkew) throw fail('iat is in the future');
  // Core 3.1.3.7 items 4-5: several audiences need `azp`, and `azp`, when present, must be us.
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (audiences.length > 1 && payload['azp'] === undefined) throw fail('several audiences without azp');
  if (payload['azp'] !== undefined && payload['azp'] !== config.clientId) throw fail('azp is not this client');
  if (expected.nonce !== undefined && payload['nonce'] !== expected.nonce) throw fail('nonce does not match');
  return payload as JWTPayload & { sub: string };
}

export function idTokenError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const code = (error as { code?: string })?.code ?? 'ERR_ID_TOKEN';
  const message = error instanceof Error ? error.message : String(error);
  return new GatewayError('id_token_invalid', 'The sign-in response could not be verified, so you were not signed in.', {
    detail: `ID token rejected: ${code}: ${message.slice(0, 200)}`,
    cause: error,
  });
}
