import type { Config } from '../config';
import { refreshViaCoordinator, type FlightResult } from './coordinated';
import { asUnavailable, refreshOnce, type RefreshSteps } from './refresh';
import { activeCoordinator, revokedElsewhere } from './revocation';
import { endSession } from './end';
import { GatewayError } from '../http/errors';
import { log } from '../http/log';
import { refreshSession } from '../oidc/refresh';
import { getProvider } from '../oidc/provider';
import { DEFAULT_IDP, withIdp } from '../config/idps';
import type { RequestContext } from '../context';
import type { Current } from './current';
import { refreshAt, tokenExpiry, type Session } from '../session/model';

/**
 * A session's life after sign-in: its tokens are refreshed shortly before they expire, and it ends when
 * the IdP says so (refresh refused, logout from the IdP) or its tokens run out with nothing to renew
 * them. oauth2-proxy's order: one refresh at a time → on `invalid_grant`, re-read → did someone else
 * already refresh? → only then end the session. Transient IdP failures never log anyone out.
 *
 * KV shapes this (docs/sessions.md "Refresh"): a write propagates in about 60 s, one write per second per
 * key, so the session is written only when its tokens change, never on every request. The refresh is
 * one algorithm (refresh.ts); who runs it is the mode's business: this isolate (KV-only) or the
 * session's Durable Object (coordinated.ts), which also makes "ended" hold across the edge at once.
 */

/**
 * After a transient IdP failure, other sessions of that IdP do not try again for this long: during an
 * outage each attempt would cost a request IDP_TIMEOUT seconds. Within IDP_OUTAGE_GRACE they are served
 * meanwhile. Sessions of other IdPs (IDPS) are refreshed as usual: one IdP's outage is not another's.
 */
export const OUTAGE_RETRY_AFTER = 10;
/**
 * What this isolate keeps between requests, per configuration (the config is parsed once per isolate,
 * so in production this is per isolate; tests that build several gateways get one each, like isolates).
 */
interface IsolateState {
  /** Refreshes in progress, by session id: concurrent requests of a session share one. */
  inFlight: Map<string, Promise<FlightResult>>;
  /** The last transient failure, by IdP name (config/idps.ts). */
  outages: Map<string, Outage>;
}

interface Outage {
  since: number;
  until: number;
  error: GatewayError;
}

const isolates = new WeakMap<Config, IsolateState>();

function isolateState(config: Config): IsolateState {
  let state = isolates.get(config);
  if (!state) {
    state = { inFlight: new Map(), outages: new Map() };
    isolates.set(config, state);
  }
  return state;
}

/**
 * Returns the session ready for use: as is, refreshed, or null when it has ended (the caller treats
 * null as "not signed in"). Throws the IdP's error (503/504/502) when the tokens expired more than
 * IDP_OUTAGE_GRACE ago and the IdP still cannot renew them; the session is kept for when it can.
 */
export async function keepFresh(ctx: RequestContext, current: Current): Promise<Current | null> {
  const { config, now } = ctx;
  const session = current.session;
  const expiry = tokenExpiry(session);
  const due = expiry !== undefined && now >= refreshAt(session, config.refreshMargin)!;
  const state = isolateState(config);
  const idp = session.idp ?? DEFAULT_IDP;
  const last = state.outages.get(idp);
  const outage = last !== undefined && last.since <= now && now < last.until ? last : undefined;

  if (due && session.refreshToken && !outage) {
    const coordinator = activeCoordinator(ctx);
    const started = Date.now();
    // Metrics (http/metrics.ts): did this request redeem, or wait for a refresh another one started?
    let joined = true;
    const result = await singleFlight(state, current.handle.id, async () => {
      joined = false;
      const fallback = () => refreshLocally(ctx, current);
      const outcome = await (coordinator ? refreshViaCoordinator(ctx, current, coordinator, fallback) : fallback());
      if (outcome.kind === 'fresh') state.outages.delete(idp);
      if (outcome.kind === 'unavailable' && outcome.idpDown) refreshFailed(ctx, session, outcome.error);
      return outcome;
    });
    ctx.metrics.idpMs = Date.now() - started;
    ctx.metrics.refresh = result.kind === 'fresh' ? (joined || result.shared ? 'shared' : 'refreshed') : result.kind;
    return settle(ctx, current, result, expiry);
  }

  // Not refreshing now: the session stands unless it was ended elsewhere.
  if (await revokedElsewhere(ctx, current.handle.id)) return null;
  if (!due) return current;

  if (!session.refreshToken) {
    // Nothing can renew these tokens. By default the session ends with them; SESSION_OUTLIVES_TOKENS
    // lets it run to SESSION_IDLE_TTL / SESSION_MAX_TTL instead.
    if (config.sessionOutlivesTokens || now < expiry) return current;
    log('info', 'session_ended', { reason: 'tokens_expired' });
    await endSession(ctx, current.handle.id, session, 'tokens_expired');
    return null;
  }
  // The IdP failed moments ago (OUTAGE_RETRY_AFTER): not asked again, as unavailable as then.
  ctx.metrics.refresh = 'unavailable';
  return settle(ctx, current, { kind: 'unavailable', error: outage!.error, idpDown: true }, expiry);
}

function settle(ctx: RequestContext, current: Current, result: FlightResult, expiry: number): Current | null {
  switch (result.kind) {
    case 'fresh':
      return result.current;
    case 'ended':
      return null;
    case 'unavailable':
      if (ctx.now < expiry + ctx.config.idpOutageGrace) return current;
      throw result.error;
  }
}

function singleFlight(state: IsolateState, id: string, run: () => Promise<FlightResult>): Promise<FlightResult> {
  let flight = state.inFlight.get(id);
  if (!flight) {
    flight = run().finally(() => state.inFlight.delete(id));
    state.inFlight.set(id, flight);
  }
  return flight;
}

/** KV-only: the isolate runs the one algorithm itself; its single flight is all the coordination there is. */
function refreshLocally(ctx: RequestContext, current: Current): Promise<FlightResult> {
  const { handle } = current;
  const steps: RefreshSteps = {
    now: ctx.now,
    reload: () => ctx.store.loadFresh(handle),
    redeem: async (session) => {
      try {
        // At the IdP that signed the session in, with its client: never another's token endpoint.
        const config = withIdp(ctx.config, session.idp);
        if (!config) return { outcome: 'rejected', reason: 'invalid_grant', detail: `identity provider ${session.idp} is no longer configured` };
        return await refreshSession(await getProvider(config), config, session, ctx.now);
      } catch (error) {
        // Discovery failed (the IdP is down and this isolate has not met it yet), or an unexpected error.
        return asUnavailable(error);
      }
    },
    save: (session) => ctx.store.save(handle, session, ctx.config.idleTtl, ctx.now),
    end: (reason) => endSession(ctx, handle.id, current.session, reason),
  };
  return refreshOnce(steps, current.session).then((outcome) => {
    switch (outcome.kind) {
      case 'fresh':
        return { kind: 'fresh', current: { handle, session: outcome.session }, shared: outcome.shared };
      case 'ended':
        return { kind: 'ended' };
      case 'unavailable':
        return { kind: 'unavailable', error: outcome.error, idpDown: true };
    }
  });
}

/** Remembers a transient failure of the session's IdP for this isolate (OUTAGE_RETRY_AFTER) and says how much grace is left. */
function refreshFailed(ctx: RequestContext, session: Session, error: GatewayError): void {
  const now = ctx.now;
  isolateState(ctx.config).outages.set(session.idp ?? DEFAULT_IDP, { since: now, until: now + OUTAGE_RETRY_AFTER, error });
  const expiry = tokenExpiry(session) ?? now;
  log('warn', 'session_refresh_failed', {
    code: error.code,
    detail: error.detail ?? error.message,
    expired: now >= expiry,
    grace_left: Math.max(0, expiry + ctx.config.idpOutageGrace - now),
  });
}
