import { loadAssertionKeys } from '../assertion/keys';
import { GatewayError } from '../http/errors';
import { jsonResponse } from '../http/pages';
import type { RequestContext } from '../context';

/**
 * `GET /_auth/jwks`: the public keys backends verify X-User-Jwt with. Cacheable for minutes: a
 * rotation adds the new key second in ASSERTION_KEY first, and moves it first only after caches
 * have seen it.
 */
export async function handleJwks(ctx: RequestContext): Promise<Response> {
  if (!ctx.config.assertionKeys) throw new GatewayError('not_found', 'No signing key is configured (ASSERTION_KEY).');
  const { jwks } = await loadAssertionKeys(ctx.config.assertionKeys);
  return jsonResponse(200, jwks, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' });
}
