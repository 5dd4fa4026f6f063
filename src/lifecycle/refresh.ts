import { GatewayError } from '../http/errors';
import { log } from '../http/log';
import type { RefreshedTokens, RefreshOutcome, RefreshResult, RefreshSteps } from '../oidc/refresh';

export type { RefreshOutcome, RefreshSteps };
import { tokenExpiry, type Session } from '../session/model';

/**
 * THE refresh algorithm, oauth2-proxy's order: (under a lease) reload → did someone else already
 * refresh? → redeem → save unless the session ended meanwhile; on `invalid_grant`, reload once more
 * before ending the session. Transient IdP failures never end anything.
 *
 * Who runs it is the lease's business, not the algorithm's: the isolate itself in KV-only mode (its
 * single flight is all the coordination there is), or the session's Durable Object in coordinated mode
 * (one redemption per rotation across the edge, and the object finishes even when the asking request
 * is gone). Both pass the same steps over their own storage.
 */
export async function refreshOnce(steps: RefreshSteps, held: Session): Promise<RefreshOutcome> {
  const stored = await steps.reload();
  if (!stored) return { kind: 'ended', reason: 'ended_elsewhere' };
  if (renewedSince(held, stored, steps.now)) return shared(stored);

  const result = await steps.redeem(stored);
  switch (result.outcome) {
    case 'refreshed': {
      const refreshed = refreshedSession(stored, result.tokens, steps.now);
      // A logout may have ended the session while the IdP was answering: never bring it back.
      if (!(await steps.save(refreshed))) return { kind: 'ended', reason: 'ended_elsewhere' };
      if (result.warning) log('warn', 'session_claims_not_updated', { detail: result.warning });
      const expiresIn = refreshed.accessTokenExpiresAt === undefined ? null : refreshed.accessTokenExpiresAt - steps.now;
      log('info', 'session_refreshed', { rotated: refreshed.refreshToken !== stored.refreshToken, expires_in: expiresIn });
      return { kind: 'fresh', session: refreshed, shared: false };
    }
    case 'rejected': {
      if (result.reason === 'invalid_grant') {
        // Used (and rotated) first by a runner this one cannot see — a KV-only isolate while the
        // coordinator was unreachable: its result is in the store.
        const again = await steps.reload();
        if (!again) return { kind: 'ended', reason: 'ended_elsewhere' };
        if (renewedSince(stored, again, steps.now)) return shared(again);
      }
      log('warn', 'session_ended', { reason: result.reason, detail: result.detail });
      await steps.end(result.reason);
      return { kind: 'ended', reason: result.reason };
    }
    case 'unavailable':
      return { kind: 'unavailable', error: result.error };
  }
}

function shared(session: Session): RefreshOutcome {
  log('info', 'session_refresh_shared', { detail: 'already refreshed by another request; no second redemption' });
  return { kind: 'fresh', session, shared: true };
}

/** `stored` holds other, still usable tokens than `held`: someone refreshed after `held` was read. */
export function renewedSince(held: Session, stored: Session, now: number): boolean {
  if (stored.refreshToken === held.refreshToken && stored.accessToken === held.accessToken) return false;
  return (stored.tokensAt ?? stored.createdAt) >= (held.tokensAt ?? held.createdAt) && stillUsable(stored, now);
}

export function stillUsable(session: Session, now: number): boolean {
  const expiry = tokenExpiry(session);
  return expiry === undefined || now < expiry;
}

export function refreshedSession(session: Session, tokens: RefreshedTokens, now: number): Session {
  return {
    ...session,
    idToken: tokens.idToken,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    accessTokenExpiresAt: tokens.accessTokenExpiresAt,
    claims: tokens.claims,
    tokensAt: now,
    // Written anyway, so the idle timeout moves too and a touch has nothing left to write.
    lastSeenAt: now,
  };
}

/** Discovery failures and unexpected errors of a redemption, as "unavailable" (never an ended session). */
export function asUnavailable(error: unknown): RefreshResult {
  const gatewayError = error instanceof GatewayError ? error : new GatewayError('internal', 'Something went wrong in the gateway. Please try again.', { cause: error });
  return { outcome: 'unavailable', error: gatewayError };
}
