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
 */
export function touchIfDue(ctx: RequestContext, current: Current): void {
  const interval = Math.max(60, Math.floor(ctx.config.idleTtl / 10));
  if (ctx.now - current.session.lastSeenAt < interval) return;
  ctx.waitUntil(
    touch(ctx, current).catch((error: unknown) => {
      log('warn', 'session_touch_failed', { detail: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
    }),
  );
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
