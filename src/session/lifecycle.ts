import { GatewayError } from '../http/errors';
import { log } from '../http/log';
import { refreshSession } from '../oidc/refresh';
import type { RequestContext } from '../routes/context';
import type { Current } from '../routes/session';
import { sessionIndex, type IndexEntry } from './index-store';
import { tokenExpiry, type Session } from './model';
import type { SessionHandle } from './store';

/**
 * A session's life after sign-in: its tokens are refreshed shortly before they expire, and it ends when
 * the IdP says so (refresh refused, logout from the IdP) or its tokens run out with nothing to renew
 * them. oauth2-proxy's order: one refresh at a time → on `invalid_grant`, re-read → did someone else
 * already refresh? → only then end the session. Transient IdP failures never log anyone out.
 *
 * KV shapes this (README "Token lifecycle"): a write propagates in about 60 s, one write per second per
 * key, so the session is written only when its tokens change, never on every request.
 */

type FlightResult = { kind: 'fresh'; current: Current } | { kind: 'ended' } | { kind: 'unavailable'; error: GatewayError };

/** Refreshes in progress in this isolate, by session id: concurrent requests of a session share one. */
const inFlight = new Map<string, Promise<FlightResult>>();

/**
 * After a transient IdP failure, other sessions do not try again for this long: during an outage each
 * attempt would cost a request IDP_TIMEOUT seconds. Within IDP_OUTAGE_GRACE they are served meanwhile.
 */
const OUTAGE_RETRY_AFTER = 10;
const outages = new Map<string, { since: number; until: number; error: GatewayError }>();

/**
 * Returns the session ready for use: as is, refreshed, or null when it has ended (the caller treats
 * null as "not signed in"). Throws the IdP's error (503/504/502) when the tokens expired more than
 * IDP_OUTAGE_GRACE ago and the IdP still cannot renew them; the session is kept for when it can.
 */
export async function keepFresh(ctx: RequestContext, current: Current): Promise<Current | null> {
  const { config, now } = ctx;
  const session = current.session;
  const expiry = tokenExpiry(session);
  if (expiry === undefined || !refreshDue(session, expiry, now, config.refreshMargin)) return current;

  if (!session.refreshToken) {
    // Nothing can renew these tokens. By default the session ends with them; SESSION_OUTLIVES_TOKENS
    // lets it run to SESSION_IDLE_TTL / SESSION_MAX_TTL instead.
    if (config.sessionOutlivesTokens || now < expiry) return current;
    log('info', 'session_ended', { reason: 'tokens_expired' });
    await endSession(ctx, current.handle.id, session);
    return null;
  }

  const outage = outages.get(config.issuer);
  const deferred = outage !== undefined && outage.since <= now && now < outage.until;
  const result: FlightResult = deferred ? { kind: 'unavailable', error: outage.error } : await singleFlight(current.handle.id, () => refreshNow(ctx, current));

  switch (result.kind) {
    case 'fresh':
      return result.current;
    case 'ended':
      return null;
    case 'unavailable':
      if (now < expiry + config.idpOutageGrace) return current;
      throw result.error;
  }
}

/**
 * Due when less than REFRESH_MARGIN is left — or less than half the tokens' lifetime, for IdPs whose
 * tokens live shorter than the margin (otherwise every request would refresh).
 */
function refreshDue(session: Session, expiry: number, now: number, margin: number): boolean {
  const lifetime = expiry - (session.tokensAt ?? session.createdAt);
  const effectiveMargin = Math.min(margin, Math.max(0, Math.floor(lifetime / 2)));
  return now >= expiry - effectiveMargin;
}

function singleFlight(id: string, run: () => Promise<FlightResult>): Promise<FlightResult> {
  let flight = inFlight.get(id);
  if (!flight) {
    flight = run().finally(() => inFlight.delete(id));
    inFlight.set(id, flight);
  }
  return flight;
}

async function refreshNow(ctx: RequestContext, current: Current): Promise<FlightResult> {
  const { config, now } = ctx;
  const { handle, session } = current;

  let result;
  try {
    result = await refreshSession(await ctx.provider(), config, session, now);
  } catch (error) {
    // Discovery failed (the IdP is down and this isolate has not met it yet), or an unexpected error.
    const gatewayError = error instanceof GatewayError ? error : new GatewayError('internal', 'Something went wrong in the gateway. Please try again.', { cause: error });
    result = { outcome: 'unavailable' as const, error: gatewayError };
  }

  switch (result.outcome) {
    case 'refreshed': {
      // A logout (from the IdP, or in another tab) may have ended the session while the IdP was
      // answering: never bring it back by writing it again.
      if (!(await ctx.store.load(handle))) return { kind: 'ended' };
      const { tokens } = result;
      const refreshed: Session = {
        ...session,
        idToken: tokens.idToken,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        accessTokenExpiresAt: tokens.accessTokenExpiresAt,
        claims: tokens.claims,
        tokensAt: now,
        // Written anyway, so the idle timeout moves too and touchIfDue has nothing left to write.
        lastSeenAt: now,
      };
      await ctx.store.save(handle, refreshed, config.idleTtl, now);
      outages.delete(config.issuer);
      if (result.warning) log('warn', 'session_claims_not_updated', { detail: result.warning });
      log('info', 'session_refreshed', { rotated: tokens.refreshToken !== session.refreshToken, expires_in: tokens.accessTokenExpiresAt === undefined ? null : tokens.accessTokenExpiresAt - now });
      return { kind: 'fresh', current: { handle, session: refreshed } };
    }
    case 'rejected': {
      if (result.reason === 'invalid_grant') {
        // Another isolate may have used (and rotated) this refresh token first; its result is in KV.
        const stored = await ctx.store.load(handle);
        if (stored && stored.refreshToken !== session.refreshToken && stillUsable(stored, now)) {
          log('info', 'session_refresh_superseded', { detail: 'the refresh token was already rotated elsewhere; using the stored tokens' });
          return { kind: 'fresh', current: { handle, session: stored } };
        }
      }
      log('warn', 'session_ended', { reason: result.reason, detail: result.detail });
      await endSession(ctx, handle.id, session);
      return { kind: 'ended' };
    }
    case 'unavailable': {
      outages.set(config.issuer, { since: now, until: now + OUTAGE_RETRY_AFTER, error: result.error });
      const expiry = tokenExpiry(session) ?? now;
      log('warn', 'session_refresh_failed', {
        code: result.error.code,
        detail: result.error.detail ?? result.error.message,
        expired: now >= expiry,
        grace_left: Math.max(0, expiry + config.idpOutageGrace - now),
      });
      return { kind: 'unavailable', error: result.error };
    }
  }
}

function stillUsable(session: Session, now: number): boolean {
  const expiry = tokenExpiry(session);
  return expiry === undefined || now < expiry;
}

function indexEntry(ctx: RequestContext, session: Session): IndexEntry {
  return { iss: ctx.config.issuer, sub: session.sub, sid: session.sid };
}

/** Makes a new session findable by logout from the IdP (its `sid`, its `sub`). Called at sign-in. */
export async function registerSession(ctx: RequestContext, handle: SessionHandle, session: Session): Promise<void> {
  const { index } = sessionIndex(ctx.config.sessions, ctx.config.sessionSecrets);
  await index.add(handle.id, indexEntry(ctx, session), session.expiresAt, ctx.now);
}

/** Ends one session: gone from KV now (other locations see it within ~60 s), index entries later. */
export async function endSession(ctx: RequestContext, id: string, session: { sub: string; sid?: string | undefined }): Promise<void> {
  await ctx.store.deleteById(id);
  const { index } = sessionIndex(ctx.config.sessions, ctx.config.sessionSecrets);
  ctx.waitUntil(
    index.remove(id, { iss: ctx.config.issuer, sub: session.sub, sid: session.sid }).catch((error: unknown) => {
      log('warn', 'session_index_cleanup_failed', { detail: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
    }),
  );
}

/**
 * Logout initiated by the IdP (Back-Channel Logout 2.7, Front-Channel Logout 3): a `sid` ends the
 * sessions of that IdP session (of that user, when `sub` is given too); a `sub` alone ends all of the
 * user's sessions. Returns how many sessions were ended.
 */
export async function endIdpSessions(ctx: RequestContext, target: { sub?: string | undefined; sid?: string | undefined }): Promise<number> {
  const { index } = sessionIndex(ctx.config.sessions, ctx.config.sessionSecrets);
  const iss = ctx.config.issuer;
  let records;
  if (target.sid !== undefined) {
    records = (await index.bySid(iss, target.sid)).filter((r) => target.sub === undefined || r.sub === target.sub);
  } else if (target.sub !== undefined) {
    records = await index.bySub(iss, target.sub);
  } else {
    return 0;
  }
  await Promise.all(records.map((record) => endSession(ctx, record.id, record)));
  return records.length;
}
