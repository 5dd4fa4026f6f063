import type { Config } from '../config';
import type { RequestContext } from '../context';
import { GatewayError } from '../http/errors';
import { log } from '../http/log';
import { toBase64Url, utf8 } from '../crypto/encoding';
import { invalidToken } from '../oidc/access-token';
import { PROOF_MAX_AGE, ReplayCache, confirmedKey, invalidProof, issueNonce, nonceValid, verifyProof, type VerifiedProof } from '../oidc/dpop';
import type { Principal } from '../policy/decide';
import type { RouteRule } from '../policy/rules';

/**
 * Who is asking on an `api` rule, by access token: `Authorization: Bearer <token>` (RFC 6750) or
 * `Authorization: DPoP <token>` with a `DPoP` proof (RFC 9449). The token's own checks are the
 * caller's `verify` (oidc/access-token.ts); this adds the sender constraint:
 *
 * - DPoP: the proof passes RFC 9449 4.3 (oidc/dpop.ts), the token is bound to the proof's key
 *   (`cnf.jkt`, from the JWT or the introspection answer), and the proof was not used before.
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

// --- Replay (RFC 9449 11.1) -----------------------------------------------------------------------

/**
 * A proof is accepted once. Where replay is detected: in this isolate at once (ReplayCache); in other
 * isolates through KV (`dpop-jti:<hash>`), which shows a write at once in the location that made it and
 * elsewhere within about 60 s. A replay in another location inside that minute is therefore not
 * detected; PROOF_MAX_AGE bounds the window, and the proof only ever works for the same method, URL and
 * token (htm, htu, ath). Costs one KV read per DPoP request, and one write after it (not awaited).
 */
const caches = new WeakMap<Config, ReplayCache>();
const KV_MIN_TTL = 60; // KV rejects expirations under 60 s.

async function replayed(ctx: RequestContext, proof: VerifiedProof): Promise<boolean> {
  const until = proof.iat + PROOF_MAX_AGE + ctx.config.clockSkew;
  const id = toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(`${proof.jkt}\n${proof.jti}`))));
  let cache = caches.get(ctx.config);
  if (!cache) caches.set(ctx.config, (cache = new ReplayCache()));
  if (cache.seen(id, until, ctx.now)) return true;

  const key = `dpop-jti:${id}`;
  let stored: string | null;
  try {
    stored = await ctx.config.sessions.get(key);
  } catch (error) {
    // When unsure, deny: a replay check that cannot run is not passed.
    throw new GatewayError('session_store_unavailable', 'The gateway cannot check this request right now. Please retry.', {
      detail: `dpop replay check: ${(error as Error).message?.slice(0, 200)}`,
      cause: error,
    });
  }
  if (stored !== null) return true;
  ctx.waitUntil(
    ctx.config.sessions.put(key, '1', { expirationTtl: Math.max(KV_MIN_TTL, until - ctx.now + 1) }).catch((error: unknown) => {
      log('warn', 'dpop_replay_record_failed', { detail: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
    }),
  );
  return false;
}
