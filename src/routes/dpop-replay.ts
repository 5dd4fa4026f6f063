import type { Config } from '../config';
import type { RequestContext } from '../context';
import { coordinatorFor, CoordinatorUnavailable, type Coordinator } from '../coordinator/client';
import { GatewayError } from '../http/errors';
import { log } from '../http/log';
import { toBase64Url, utf8 } from '../crypto/encoding';
import { PROOF_MAX_AGE, ReplayCache, type VerifiedProof } from '../oidc/dpop';

/**
 * A DPoP proof is accepted once (RFC 9449 11.1). Where replay is detected:
 *
 * - in this isolate at once (ReplayCache), before anything else: a replay seen here costs no I/O;
 * - with the COORDINATOR binding, in the proof object of the client's key (coordinator/object.ts
 *   `recordProof`): one strongly consistent record per key, so the first use of a proof wins at every
 *   location. One Durable Object call per DPoP request that passed every other check; no KV;
 * - in KV-only mode, through KV (`dpop-jti:<hash>`), which shows a write at once in the location that
 *   made it and elsewhere within about 60 s: a replay in another location inside that minute is not
 *   detected. PROOF_MAX_AGE bounds the window, and the proof only ever works for the same method, URL
 *   and token (htm, htu, ath). One KV read per DPoP request, and one write after it (not awaited).
 *
 * When the check cannot run (KV fails, or the proof object fails or does not answer in time), the
 * request is refused with 503 `session_store_unavailable`: when unsure, deny. There is no fallback from
 * the object to KV: proofs the object recorded are not in KV, so a KV check during the object's outage
 * would pass replays of proofs accepted just before it — weaker than either mode. One key's object
 * failing refuses only that client's DPoP requests; sessions are not affected (they fall back to KV-only).
 */

const caches = new WeakMap<Config, ReplayCache>();
const KV_MIN_TTL = 60; // KV rejects expirations under 60 s.

export async function replayed(ctx: RequestContext, proof: VerifiedProof): Promise<boolean> {
  const until = proof.iat + PROOF_MAX_AGE + ctx.config.clockSkew;
  const id = toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(`${proof.jkt}\n${proof.jti}`))));
  let cache = caches.get(ctx.config);
  if (!cache) caches.set(ctx.config, (cache = new ReplayCache()));
  if (cache.seen(id, until, ctx.now)) return true;

  const coordinator = coordinatorFor(ctx.config.coordinator);
  try {
    return await (coordinator ? recordedByObject(ctx, coordinator, proof.jkt, id, until) : recordedInKv(ctx, id, until));
  } catch (error) {
    // Not accepted, so not "used": the client's retry of this very proof is judged by the wider check again.
    cache.forget(id);
    throw error;
  }
}

/**
 * Asked of the key's object every time, not only when this isolate's coordinator is up
 * (lifecycle/revocation.ts `activeCoordinator`): objects fail one at a time, and skipping the check
 * because another object failed would pass replays.
 */
async function recordedByObject(ctx: RequestContext, coordinator: Coordinator, jkt: string, id: string, until: number): Promise<boolean> {
  try {
    return (await coordinator.recordProof(jkt, { id, until, now: ctx.now })).replayed;
  } catch (error) {
    const detail = error instanceof Error ? error.message.slice(0, 200) : 'unknown';
    log('warn', 'coordinator_unavailable', { op: error instanceof CoordinatorUnavailable ? error.op : 'replay', detail, fallback: 'refused' });
    throw unavailable(`dpop replay check: ${detail}`, error);
  }
}

async function recordedInKv(ctx: RequestContext, id: string, until: number): Promise<boolean> {
  const key = `dpop-jti:${id}`;
  let stored: string | null;
  try {
    stored = await ctx.config.sessions.get(key);
  } catch (error) {
    throw unavailable(`dpop replay check: ${(error as Error).message?.slice(0, 200)}`, error);
  }
  if (stored !== null) return true;
  ctx.waitUntil(
    ctx.config.sessions.put(key, '1', { expirationTtl: Math.max(KV_MIN_TTL, until - ctx.now + 1) }).catch((error: unknown) => {
      log('warn', 'dpop_replay_record_failed', { detail: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
    }),
  );
  return false;
}

/** When unsure, deny: a replay check that cannot run is not passed. */
function unavailable(detail: string, cause: unknown): GatewayError {
  return new GatewayError('session_store_unavailable', 'The gateway cannot check this request right now. Please retry.', { detail, cause });
}
