import type { ErrorCode } from '../http/errors';
import { GatewayError } from '../http/errors';
import { log } from '../http/log';
import type { RequestContext } from '../context';
import type { Current } from './current';
import {
  OUTAGE_RETRY_AFTER,
  redeem,
  refreshFailed,
  refreshNow,
  refreshSucceeded,
  refreshedSession,
  rejected,
  stillUsable,
  superseded,
  type FlightResult,
} from './fresh';
import { CoordinatorUnavailable, tokenHash, type Coordinator } from '../coordinator/client';
import { coordinatorFailed, forgetSession, markChecked } from './revocation';
import type { IdpFailure } from '../coordinator/protocol';

/**
 * A refresh across the edge: the session's object grants one caller a lease to redeem the refresh
 * token; everyone else — other isolates, other locations — waits for that caller's result or, arriving
 * later with the old token, gets it from the object (sealed, as in KV). The leaseholder writes KV
 * before it reports back, so the object orders every write of the session.
 *
 * The coordinator unreachable → the KV-only refresh (in-isolate single flight only), with a warning.
 */
export async function refreshWithCoordinator(ctx: RequestContext, current: Current, coordinator: Coordinator): Promise<FlightResult> {
  const { handle, session } = current;
  const rt = await tokenHash(session.refreshToken!);
  const asked = Date.now();
  let answer;
  try {
    answer = await coordinator.refresh(handle.id, { rt, now: ctx.now, leaseMs: leaseMs(ctx), expiresAt: session.expiresAt });
  } catch (error) {
    coordinatorFailed(ctx, error);
    if (error instanceof CoordinatorUnavailable && error.timedOut) {
      // Maybe still waiting for another caller who is at the IdP with this very token: redeeming it now
      // could be the second redemption. Serve within grace; this isolate goes KV-only for a few seconds.
      return { kind: 'unavailable', error: new GatewayError('session_store_unavailable', 'Your session is being renewed. Please try again shortly.', { detail: error.message }) };
    }
    return refreshNow(ctx, current);
  }
  if (answer.kind !== 'revoked') markChecked(ctx, handle.id, asked);
  switch (answer.kind) {
    case 'lease':
      return underLease(ctx, current, coordinator, answer.lease, rt);
    case 'rotated': {
      const refreshed = await ctx.store.unseal(handle, answer.sealed);
      if (!refreshed) return fromKv(ctx, current);
      ctx.store.adopt(handle, refreshed);
      log('info', 'session_refresh_shared', { detail: 'refreshed by another request; no second redemption' });
      return { kind: 'fresh', current: { handle, session: refreshed } };
    }
    case 'stale':
      return fromKv(ctx, current);
    case 'revoked':
      forgetSession(ctx, handle.id);
      return { kind: 'ended' };
    case 'unavailable':
      return { kind: 'unavailable', error: idpError(answer.error) };
  }
}

/**
 * The worst case the holder may need: discovery, token, JWKS and UserInfo each up to IDP_TIMEOUT, plus
 * the KV write. Waiters give up on it after that (the holder may have died).
 */
function leaseMs(ctx: RequestContext): number {
  return 4 * ctx.config.idpTimeoutMs + 1000;
}

async function underLease(ctx: RequestContext, current: Current, coordinator: Coordinator, lease: string, rt: string): Promise<FlightResult> {
  const { handle, session } = current;
  const { now } = ctx;
  try {
    const result = await redeem(ctx, session);
    switch (result.outcome) {
      case 'refreshed': {
        // Ended while the IdP was answering (a KV-only path deleted it): release the waiters as ended.
        if (!(await ctx.store.load(handle))) {
          await revoke(ctx, coordinator, handle.id, session.expiresAt);
          return { kind: 'ended' };
        }
        const refreshed = refreshedSession(session, result.tokens, now);
        const sealed = await ctx.store.save(handle, refreshed, ctx.config.idleTtl, now);
        const next = await tokenHash(refreshed.refreshToken!);
        const answer = await coordinator.complete(handle.id, { lease, rt, next, sealed, now, expiresAt: session.expiresAt }).catch((error: unknown) => {
          // KV has the new session; waiters get it once the lease runs out and they read KV.
          coordinatorFailed(ctx, error);
          return { kind: 'ok' as const };
        });
        if (answer.kind === 'revoked') {
          // A logout got there while we were at the IdP: undo the write that would bring the session back.
          await ctx.store.deleteById(handle.id);
          return { kind: 'ended' };
        }
        refreshSucceeded(ctx, session, refreshed, result.warning);
        return { kind: 'fresh', current: { handle, session: refreshed } };
      }
      case 'rejected': {
        const newer = await superseded(ctx, current, result);
        if (newer?.kind === 'fresh') {
          // Rotated outside the coordinator (a KV-only fallback elsewhere): teach it the newer token.
          const stored = newer.current.session;
          const next = await tokenHash(stored.refreshToken ?? '');
          const sealed = await ctx.store.seal(handle, stored);
          await coordinator.complete(handle.id, { lease, rt, next, sealed, now, expiresAt: session.expiresAt }).catch((error: unknown) => coordinatorFailed(ctx, error));
          return newer;
        }
        // endSession revokes in the coordinator, which releases the waiters as ended too.
        return await rejected(ctx, current, result);
      }
      case 'unavailable':
        await fail(ctx, coordinator, handle.id, lease, result.error);
        return refreshFailed(ctx, session, result.error);
    }
  } catch (error) {
    // E.g. KV could not be written: let the waiters go (they serve within grace) before failing.
    const gatewayError = error instanceof GatewayError ? error : new GatewayError('internal', 'Something went wrong in the gateway. Please try again.', { cause: error });
    await fail(ctx, coordinator, handle.id, lease, gatewayError);
    throw error;
  }
}

/**
 * Someone redeemed this token longer ago than the object keeps the result: KV has it by now, unless this
 * location has not seen the write yet. Never redeem the used token; try again shortly instead.
 */
async function fromKv(ctx: RequestContext, current: Current): Promise<FlightResult> {
  const { handle, session } = current;
  const stored = await ctx.store.loadFresh(handle);
  if (!stored) return { kind: 'ended' };
  if (stored.refreshToken !== session.refreshToken && stillUsable(stored, ctx.now)) {
    log('info', 'session_refresh_superseded', { detail: 'the refresh token was already rotated elsewhere; using the stored tokens' });
    return { kind: 'fresh', current: { handle, session: stored } };
  }
  const detail = 'refresh token already redeemed; the renewed session has not reached this location’s KV yet';
  log('warn', 'session_refresh_deferred', { detail });
  return {
    kind: 'unavailable',
    error: new GatewayError('session_store_unavailable', 'Your session was renewed elsewhere and is not available here yet. Please try again shortly.', { detail }),
  };
}

async function fail(ctx: RequestContext, coordinator: Coordinator, id: string, lease: string, error: GatewayError): Promise<void> {
  const failure: IdpFailure = { code: error.code, message: error.message, ...(error.detail === undefined ? {} : { detail: error.detail }) };
  await coordinator.fail(id, { lease, now: ctx.now, error: failure, retryAfter: OUTAGE_RETRY_AFTER }).catch((e: unknown) => coordinatorFailed(ctx, e));
}

async function revoke(ctx: RequestContext, coordinator: Coordinator, id: string, expiresAt: number): Promise<void> {
  await coordinator.revoke(id, { now: ctx.now, expiresAt, reason: 'ended' }).catch((error: unknown) => coordinatorFailed(ctx, error));
}

/** Only codes a refresh can fail with cross the object; anything else reads as a generic IdP error. */
const RELAYED: ReadonlySet<string> = new Set<ErrorCode>(['idp_error', 'idp_unreachable', 'idp_timeout', 'idp_bad_response', 'session_store_unavailable', 'internal']);

function idpError(failure: IdpFailure): GatewayError {
  const code = (RELAYED.has(failure.code) ? failure.code : 'idp_error') as ErrorCode;
  return new GatewayError(code, failure.message, failure.detail === undefined ? {} : { detail: failure.detail });
}
