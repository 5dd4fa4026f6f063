import type { Identity } from '../proxy/headers';

/**
 * What the upstream is told about the user, from the session's (or access token's) claims. Only
 * well-typed values are used: a claim of an unexpected shape is left out rather than stringified.
 */
export function identityFromClaims(sub: string, claims: Record<string, unknown>, userClaim: string): Identity {
  const chosen = claims[userClaim];
  const user = typeof chosen === 'string' && chosen !== '' ? chosen : typeof chosen === 'number' ? String(chosen) : sub;
  const identity: Identity = { user };
  // An address the IdP says it has not verified could belong to anyone: never forward it as identity.
  if (typeof claims['email'] === 'string' && claims['email_verified'] !== false) identity.email = claims['email'];
  const name = typeof claims['name'] === 'string' ? claims['name'] : claims['preferred_username'];
  if (typeof name === 'string' && name !== '') identity.name = name;
  const groups = claims['groups'];
  if (Array.isArray(groups)) {
    identity.groups = groups.filter((g): g is string => typeof g === 'string' && g !== '' && !g.includes(','));
  } else if (typeof groups === 'string' && groups !== '') {
    identity.groups = [groups];
  }
  return identity;
}
