import type { RequestContext } from '../context';
import { log } from '../http/log';
import { isExpired, tokenExpiry, type Session } from '../session/model';
import type { Current } from './current';
import { keepFresh, OUTAGE_RETRY_AFTER } from './fresh';
import { revokedNow, subscribeToEnd } from './revocation';

/**
 * An open WebSocket's session, watched: a socket has no next request to be refused on, so the ends a
 * request would meet are looked for on a timer instead (docs/sessions.md "WebSockets").
 *
 * With the coordinator, the watcher subscribes to the session's end at its object (one hibernatable
 * socket, closed by the object the moment the session ends: logout, logout from the IdP, a refused
 * refresh…), so an end reaches the socket at once and a standing session costs no call. Every
 * WEBSOCKET_CHECK_INTERVAL seconds:
 * - with the coordinator but no subscription (it could not be made, or the object restarted), the
 *   object is asked instead, skipping the isolate's once-a-second window; every tenth check, and
 *   whenever the object cannot answer, KV is read as well (and a lost subscription made again);
 * - KV-only, the session is read from KV (not from the isolate's cache): gone means ended.
 * And at the session's own deadlines, re-read first because other requests move them: its end
 * (SESSION_MAX_TTL, or SESSION_IDLE_TTL since the last activity), and its tokens' expiry, when it is
 * kept fresh exactly as a request would keep it (refreshed, or ended when the IdP refuses).
 *
 * The request's context is reused with the current time: `ctx.now` was fixed at the upgrade.
 */

/** With the coordinator, KV is also read every this many checks: a logout that could not reach the object still deleted KV. */
const KV_EVERY_CHECKS = 10;
/** setTimeout takes at most 2^31 − 1 ms (about 24.8 days); a later deadline is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const ENDED = 'session ended';
export const EXPIRED = 'session expired';
export const NOT_RENEWED = 'session could not be renewed';
export const TOKEN_EXPIRED = 'access token expired';

/** Watches `current` until it ends (then calls `onEnd` once) or the returned stop function is called. */
export function watchSession(ctx: RequestContext, current: Current, onEnd: (reason: string) => void): () => void {
  const { handle } = current;
  let session: Session = current.session;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let checks = 0;
  /** Epoch seconds before which the tokens are not looked at again (an outage within IDP_OUTAGE_GRACE). */
  let tokensAgainAt = 0;

  /** The subscription at the session's object, while there is one. */
  let subscription: WebSocket | undefined;

  const end = (reason: string) => {
    if (stopped) return;
    stop();
    onEnd(reason);
  };
  const stop = () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const socket = subscription;
    subscription = undefined;
    try {
      socket?.close(1000, 'done');
    } catch {
      // Already closed.
    }
  };

  const subscribe = () => {
    void subscribeToEnd(ctx, handle.id).then((socket) => {
      if (!socket) return;
      if (stopped) {
        socket.close(1000, 'done');
        return;
      }
      subscription = socket;
      socket.addEventListener('close', (event) => {
        if (subscription !== socket) return;
        subscription = undefined;
        // 1008: the object ended the session. Anything else (the object restarted): checks take over.
        if (event.code === 1008) end(ENDED);
      });
    });
  };

  /** Reads KV past the isolate's cache: null while the session stands, else why it does not. */
  const reread = async (now: number): Promise<string | null> => {
    const stored = await ctx.store.loadFresh(handle);
    if (!stored) return ENDED;
    session = stored;
    return isExpired(stored, ctx.config.idleTtl, now) ? EXPIRED : null;
  };

  const check = async (): Promise<string | null> => {
    const now = Math.floor(Date.now() / 1000);
    checks++;
    // Subscribed: the object tells of an end itself. Else ask it (undefined: no coordinator, or no answer).
    const revoked = subscription ? false : await revokedNow(ctx, handle.id);
    if (revoked) return ENDED;
    if (!subscription && revoked === false && checks % KV_EVERY_CHECKS === 0) subscribe();
    if (revoked === undefined || checks % KV_EVERY_CHECKS === 0) {
      const gone = await reread(now);
      if (gone) return gone;
    }
    // The idle end moves with other requests' activity (the absolute one never): read before closing.
    if (isExpired(session, ctx.config.idleTtl, now)) {
      const gone = await reread(now);
      if (gone) return gone;
    }
    return tokens(now);
  };

  /** At the tokens' expiry: renewed by another request, or renewed here, or the socket closes. */
  const tokens = async (now: number): Promise<string | null> => {
    const expiry = tokenExpiry(session);
    if (expiry === undefined || now < expiry || now < tokensAgainAt) return null;
    if (!session.refreshToken && ctx.config.sessionOutlivesTokens) return null;
    const gone = await reread(now);
    if (gone) return gone;
    const stored = tokenExpiry(session);
    if (stored === undefined || now < stored) return null;
    let fresh: Current | null;
    try {
      fresh = await keepFresh({ ...ctx, now }, { handle, session });
    } catch {
      // Not renewed for longer than IDP_OUTAGE_GRACE (the IdP is down): requests get 503 now too.
      return NOT_RENEWED;
    }
    if (!fresh) return session.refreshToken ? ENDED : TOKEN_EXPIRED;
    session = fresh.session;
    const renewed = tokenExpiry(session);
    // Still expired: served within IDP_OUTAGE_GRACE while the IdP is down; try again later.
    if (renewed !== undefined && renewed <= now) tokensAgainAt = now + OUTAGE_RETRY_AFTER;
    return null;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      check().then(
        (reason) => (reason ? end(reason) : schedule()),
        (error: unknown) => {
          // KV unreadable, say: nothing is known to have ended; the next check tries again.
          log('warn', 'websocket_check_failed', { detail: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
          schedule();
        },
      );
    }, ctx.config.websocketCheckInterval * 1000);
  };
  subscribe();
  schedule();
  return stop;
}

/** A bearer token's socket: closed when the token expires (`exp`, epoch seconds). */
export function watchUntil(exp: number, onEnd: (reason: string) => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    const left = exp * 1000 - Date.now();
    if (left <= 0) return onEnd(TOKEN_EXPIRED);
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  arm();
  return () => {
    if (timer !== undefined) clearTimeout(timer);
  };
}
