import { deleteCookie, serializeCookie } from '../http/cookies';
import type { RequestContext } from '../context';
import { sessionCookieName } from '../session/cookie-names';
import type { Session } from '../session/model';
import { sessionCookieValue, type SessionHandle } from '../session/store';

export function hasSessionCookie(ctx: RequestContext): boolean {
  return ctx.cookies.has(sessionCookieName(ctx.mode));
}

export function sessionCookie(ctx: RequestContext, handle: SessionHandle, session: Session): string {
  // Lives as long as the session can; the idle timeout is enforced server-side from KV.
  return serializeCookie(sessionCookieName(ctx.mode), sessionCookieValue(handle), {
    secure: ctx.mode.secure,
    sameSite: 'Lax',
    httpOnly: true,
    maxAge: session.expiresAt - ctx.now,
  });
}

export function clearSessionCookie(ctx: RequestContext): string {
  return deleteCookie(sessionCookieName(ctx.mode), { secure: ctx.mode.secure, sameSite: 'Lax', httpOnly: true });
}
