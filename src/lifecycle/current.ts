import { log } from '../http/log';
import type { RequestContext } from '../context';
import { sessionCookieName } from '../session/cookie-names';
import { isExpired, type Session } from '../session/model';
import { parseSessionCookie, type SessionHandle } from '../session/store';

/** A signed-in request's session: the handle from its cookie and the session it opened. */
export interface Current {
  handle: SessionHandle;
  session: Session;
}

/**
 * The session this request's cookie points to, if it exists, decrypts and has not expired.
 * Garbage cookies are simply "no session": the visitor is sent to sign in, not shown an error.
 */
export async function currentSession(ctx: RequestContext): Promise<Current | null> {
  const handle = parseSessionCookie(ctx.cookies.get(sessionCookieName(ctx.mode)));
  if (!handle) return null;
  const session = await ctx.store.load(handle);
  if (!session || isExpired(session, ctx.config.idleTtl, ctx.now)) return null;
  return { handle, session };
}

/**
 * Idle timeout moves with activity, but a KV write per request would be slow, costly and beyond
 * KV's one-write-per-second-per-key limit: extend only when a tenth of the idle window has passed.
 * Once per isolate, too: every request of a page load that arrives while the touch is being written
 * finds it due (its cached copy has the old idle start), and a touch that read the record before
 * another one wrote it would put the old idle start back into the isolate's cache, so each later
 * request would touch again (test/gateway/session-touch.test.ts). A touch that fails may be retried
 * by the next request.
 */
export function touchIfDue(ctx: RequestContext, current: Current): void {
  const interval = Math.max(60, Math.floor(ctx.config.idleTtl / 10));
  if (ctx.now - current.session.lastSeenAt < interval) return;
  const id = current.handle.id;
  const last = touched.get(id);
  if (last !== undefined && ctx.now - last < interval) return;
  markTouched(id, ctx.now);
  ctx.waitUntil(
    touch(ctx, current).catch((error: unknown) => {
      touched.delete(id);
      log('warn', 'session_touch_failed', { detail: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
    }),
  );
}

/** Session id → when this isolate last started its touch (epoch seconds). Bounded like the session cache: 1000 ids, ≤ 0.1 MB. */
const touched = new Map<string, number>();
const TOUCHED_MAX_ENTRIES = 1000;

function markTouched(id: string, now: number): void {
  touched.delete(id);
  if (touched.size >= TOUCHED_MAX_ENTRIES) {
    const oldest = touched.keys().next().value;
    if (oldest !== undefined) touched.delete(oldest);
  }
  touched.set(id, now);
}

/**
 * Writes the stored record back with the new idle start — never this request's copy as it is: it may
 * hold tokens another request has since replaced, and an ended session has nothing to write back
 * (the store refuses that too: session/store.ts `save`).
 */
async function touch(ctx: RequestContext, current: Current): Promise<void> {
  const stored = await ctx.store.loadFresh(current.handle);
  if (!stored) return;
  const base = (stored.tokensAt ?? stored.createdAt) >= (current.session.tokensAt ?? current.session.createdAt) ? stored : current.session;
  await ctx.store.save(current.handle, { ...base, lastSeenAt: ctx.now }, ctx.config.idleTtl, ctx.now);
}
