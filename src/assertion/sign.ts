import { CompactSign } from 'jose';
import { randomToken, utf8 } from '../crypto/encoding';
import type { Identity } from '../policy/identity';
import type { AssertionKeys } from './keys';

/**
 * `X-User-Jwt`: a short-lived statement, signed by the gateway, of who the request is for and which
 * request it is (RFC 9449's `htm`/`htu` names), so a backend reachable around the gateway can tell a
 * real request from a forged `X-User` header — and an assertion lifted from one request cannot be
 * replayed on another path.
 */
export const ASSERTION_LIFETIME = 60;
/** An assertion is reused for the same user and request line while it has at least this long left. */
const REUSE_MIN_REMAINING = 30;
const CACHE_MAX_ENTRIES = 1000;

export interface AssertionRequest {
  /** The gateway's public origin: the assertion's `iss`. */
  issuer: string;
  audience: string;
  method: string;
  /** scheme://host/path of the public request, no query (RFC 9449 4.2). */
  htu: string;
  /** Distinguishes sessions of the same user in the cache. */
  sessionKey: string;
}

const cache = new Map<string, { jwt: string; exp: number }>();

export async function userAssertion(keys: AssertionKeys, identity: Identity, request: AssertionRequest, now: number): Promise<string> {
  const cacheKey = JSON.stringify([keys.signer.kid, request.sessionKey, identity, request.issuer, request.audience, request.method, request.htu]);
  const hit = cache.get(cacheKey);
  if (hit && hit.exp - now >= REUSE_MIN_REMAINING) return hit.jwt;

  const exp = now + ASSERTION_LIFETIME;
  // jose's CompactSign over the claims as JSON: SignJWT's claim setters would add ~1 KiB of bundle for six fields.
  const claims = {
    ...(identity.email ? { email: identity.email } : {}),
    ...(identity.name ? { name: identity.name } : {}),
    ...(identity.groups ? { groups: identity.groups } : {}),
    ...(identity.idp ? { idp: identity.idp } : {}),
    htm: request.method,
    htu: request.htu,
    iss: request.issuer,
    aud: request.audience,
    sub: identity.user,
    iat: now,
    exp,
    jti: randomToken(16),
  };
  const jwt = await new CompactSign(utf8.encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: keys.signer.alg, kid: keys.signer.kid, typ: 'JWT' })
    .sign(keys.signer.key);

  if (cache.size >= CACHE_MAX_ENTRIES) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(cacheKey, { jwt, exp });
  return jwt;
}
