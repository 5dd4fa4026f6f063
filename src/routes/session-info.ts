import { jsonResponse } from '../http/pages';
import { keepFresh } from '../lifecycle/fresh';
import { currentSession } from '../lifecycle/current';
import type { RequestContext } from '../context';
import { emailVerified } from '../policy/identity';
import { refreshAt, tokenExpiry, type Session } from '../session/model';

/**
 * `GET /_auth/session`: what a single-page app needs to know about its session, and never a token
 * (page script must not hold credentials an XSS could carry off):
 *
 *   { signed_in, sub, name, email, idp, expires_at, idle_expires_at, refresh_at }
 *
 * Times are epoch seconds. `expires_at` is when the session ends at the latest (SESSION_MAX_TTL, or
 * its tokens' expiry when nothing can renew them); `idle_expires_at` when it ends without activity;
 * `refresh_at` when the gateway next renews the tokens (null when it cannot: no refresh token).
 * Signed out: 401 `{ signed_in: false, error, message, login_url }`.
 *
 * Like /_auth/userinfo the session is kept fresh (refreshed when due, gone when the IdP ended it), but
 * asking is not activity: a page polling this endpoint does not keep an idle session alive.
 * Same-origin only (no CORS): the session cookie is `SameSite=Lax` and `__Host-`, so another origin's
 * script could not send it anyway.
 */
export async function handleSessionInfo(ctx: RequestContext): Promise<Response> {
  const loaded = await currentSession(ctx);
  const current = loaded && (await keepFresh(ctx, loaded));
  if (!current) {
    return jsonResponse(
      401,
      { signed_in: false, error: 'unauthenticated', message: 'Not signed in.', login_url: '/_auth/login' },
      { 'www-authenticate': 'Bearer realm="edgegate"' },
    );
  }
  return jsonResponse(200, sessionInfo(current.session, ctx.config, ctx.now));
}

export interface SessionInfo {
  signed_in: true;
  sub: string;
  name: string | null;
  email: string | null;
  idp: string;
  expires_at: number;
  idle_expires_at: number;
  refresh_at: number | null;
}

interface InfoOptions {
  idleTtl: number;
  refreshMargin: number;
  sessionOutlivesTokens: boolean;
  assumeEmailVerified: boolean;
}

export function sessionInfo(session: Session, options: InfoOptions, now: number): SessionInfo {
  const claims = session.claims;
  const name = stringClaim(claims, 'name') ?? stringClaim(claims, 'preferred_username');
  // Only a verified email is identity (docs/upstream.md "What the upstream receives"); the app is told the same.
  const email = emailVerified(claims, options.assumeEmailVerified) ? stringClaim(claims, 'email') : null;
  const tokensEnd = tokenExpiry(session);
  const renewable = session.refreshToken !== undefined;
  let expiresAt = session.expiresAt;
  // Without a refresh token the session ends with its tokens (unless SESSION_OUTLIVES_TOKENS).
  if (!renewable && !options.sessionOutlivesTokens && tokensEnd !== undefined) expiresAt = Math.min(expiresAt, tokensEnd);
  return {
    signed_in: true,
    sub: session.sub,
    name,
    email,
    idp: idpOf(session),
    expires_at: expiresAt,
    idle_expires_at: Math.min(session.lastSeenAt + options.idleTtl, session.expiresAt),
    refresh_at: renewable && tokensEnd !== undefined ? Math.max(now, refreshAt(session, options.refreshMargin)!) : null,
  };
}

/** The IdP that signed the user in; sessions from before several IdPs existed came from `default`. */
function idpOf(session: Session): string {
  return typeof session.idp === 'string' && session.idp !== '' ? session.idp : 'default';
}

function stringClaim(claims: Record<string, unknown>, name: string): string | null {
  const value = Object.hasOwn(claims, name) ? claims[name] : undefined;
  return typeof value === 'string' && value !== '' ? value : null;
}
