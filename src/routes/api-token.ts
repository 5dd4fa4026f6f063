import type { RequestContext } from '../context';
import { GatewayError } from '../http/errors';
import { invalidToken } from '../oidc/access-token';
import { confirmedKey, invalidProof, issueNonce, nonceValid, verifyProof, type VerifiedProof } from '../oidc/dpop';
import type { Principal } from '../policy/decide';
import type { RouteRule } from '../policy/rules';
import { replayed } from './dpop-replay';

/**
 * Who is asking on an `api` rule, by access token: `Authorization: Bearer <token>` (RFC 6750) or
 * `Authorization: DPoP <token>` with a `DPoP` proof (RFC 9449). The token's own checks are the
 * caller's `verify` (oidc/access-token.ts); this adds the sender constraint:
 *
 * - DPoP: the proof passes RFC 9449 4.3 (oidc/dpop.ts), the token is bound to the proof's key
 *   (`cnf.jkt`, from the JWT or the introspection answer), and the proof was not used before
 *   (dpop-replay.ts).
 * - Bearer: refused on a rule with `dpop = "required"`, and for a token bound to a key (7.2: whoever
 *   presents a bound token without a proof is not its holder).
 */

export interface PresentedToken {
  scheme: 'Bearer' | 'DPoP';
  token: string;
}

/** The Authorization header's token; null when absent or another scheme; undefined when malformed. */
export function presentedToken(request: Request): PresentedToken | null | undefined {
  const header = request.headers.get('authorization')?.trim();
  if (!header) return null;
  const match = /^(Bearer|DPoP)[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
  if (match) return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
  // A Bearer or DPoP header that does not parse is a bad token, not "no token".
  return /^(bearer|dpop)\b/i.test(header) ? undefined : null;
}

export async function verifyPresented(
  ctx: RequestContext,
  rule: RouteRule,
  presented: PresentedToken,
  verify: (token: string) => Promise<Principal>,
): Promise<Principal> {
  if (presented.scheme === 'Bearer') {
    if (rule.dpop === 'required') throw invalidToken('this API accepts only DPoP-bound access tokens', 'Bearer on a dpop = "required" rule');
    const principal = await verify(presented.token);
    if (confirmedKey(principal.claims) !== undefined) {
      throw inDpopScheme(invalidToken('a DPoP-bound access token must be presented with the DPoP scheme and a proof', 'bound token as Bearer'));
    }
    return principal;
  }

  const { config, now } = ctx;
  let proof: VerifiedProof;
  try {
    proof = await verifyProof(ctx.request.headers.get('dpop'), {
      method: ctx.request.method,
      url: ctx.url.href,
      accessToken: presented.token,
      now,
      clockSkew: config.clockSkew,
      ...(config.apiDpopNonce ? { nonce: (nonce: unknown) => nonceValid(config.sessionSecrets, nonce, now, config.clockSkew) } : {}),
    });
  } catch (error) {
    // RFC 9449 9: the answer carries the nonce to retry with.
    if (error instanceof GatewayError && error.code === 'use_dpop_nonce') {
      throw error.with({ headers: { ...error.headers, 'dpop-nonce': await issueNonce(config.sessionSecrets[0]!, now) } });
    }
    throw error;
  }
  let principal: Principal;
  try {
    principal = await verify(presented.token);
  } catch (error) {
    throw error instanceof GatewayError ? inDpopScheme(error) : error;
  }
  const bound = confirmedKey(principal.claims);
  if (bound === undefined) throw inDpopScheme(invalidToken('the access token is not bound to a key; present it with the Bearer scheme', 'unbound token as DPoP'));
  if (bound !== proof.jkt) throw inDpopScheme(invalidToken('the access token is bound to another key than the DPoP proof', 'cnf.jkt mismatch'));
  if (await replayed(ctx, proof)) throw invalidProof('the DPoP proof was already used', 'jti replay');
  return principal;
}

/** A refusal of a token presented with the DPoP scheme is told in that scheme (RFC 9449 7.1). */
function inDpopScheme(error: GatewayError): GatewayError {
  const challenge = error.headers['www-authenticate'];
  if (!challenge || !/^Bearer\b/i.test(challenge)) return error;
  return error.with({ headers: { ...error.headers, 'www-authenticate': challenge.replace(/^Bearer\b/i, 'DPoP') } });
}
