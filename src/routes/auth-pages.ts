import { GatewayError } from '../http/errors';
import { htmlResponse, jsonResponse } from '../http/pages';
import { wantsJson } from '../http/client';
import { log } from '../http/log';
import { revokeToken } from '../oidc/revoke';
import { keepFresh } from '../lifecycle/fresh';
import { endSession } from '../lifecycle/end';
import { createLogoutState, readLogoutState } from '../session/logout-state';
import type { RequestContext } from '../context';
import { clearResumeHint } from '../session/transaction';
import { safeReturnPath } from './return-path';
import { clearSessionCookie } from './session-cookie';
import { currentSession } from '../lifecycle/current';
import { parseSessionCookie } from '../session/store';
import { sessionCookieName } from '../session/cookie-names';

// `GET /_auth/login` is answered by src/routes/signin.ts (handleLogin).

/** `GET /_auth/userinfo`: the signed-in user's claims; never tokens. */
export async function handleUserInfo(ctx: RequestContext): Promise<Response> {
  const loaded = await currentSession(ctx);
  // Same rules as any protected request: refreshed near expiry, gone when the IdP ended it.
  const current = loaded && (await keepFresh(ctx, loaded));
  if (!current) {
    throw new GatewayError('unauthenticated', 'Not signed in.', {
      headers: { 'www-authenticate': 'Bearer realm="edgegate"' },
      extra: { login_url: '/_auth/login' },
    });
  }
  return jsonResponse(200, { ...current.session.claims, sub: current.session.sub });
}

/**
 * `/_auth/logout[?rd=/path]`: ends the session here first (so it is over even if the IdP is down),
 * revokes its refresh token (RFC 7009) when the IdP has a revocation endpoint, then ends the session at
 * the IdP through RP-initiated logout when it offers an end_session_endpoint. The IdP returns the
 * browser to `/_auth/signed-out` with our `state`, which carries `rd` (a same-origin path).
 *
 * GET is accepted for plain links, but a cross-site request (an <img> or form on another site)
 * only gets a confirmation form: logging people out from elsewhere is a nuisance attack.
 */
export async function handleLogout(ctx: RequestContext): Promise<Response> {
  const rd = ctx.url.searchParams.get('rd');
  const returnTo = safeReturnPath(rd, ctx.url.origin);
  if (ctx.request.headers.get('sec-fetch-site') === 'cross-site') {
    return htmlResponse(200, {
      title: 'Sign out?',
      paragraphs: ['Another site asked to sign you out of this one.'],
      form: { action: rd ? `/_auth/logout?rd=${encodeURIComponent(returnTo)}` : '/_auth/logout', label: 'Sign out' },
    });
  }
  const current = await currentSession(ctx).catch(async (error: unknown) => {
    // The session could not be read (KV failing): still end it by the id in the cookie, so the cookie
    // stops working everywhere once the store answers, not only in this browser. `sub` is unknown, so
    // its logout-index entries are left to expire with it.
    const handle = parseSessionCookie(ctx.cookies.get(sessionCookieName(ctx.mode)));
    log('warn', 'logout_session_unreadable', { code: error instanceof GatewayError ? error.code : 'internal' });
    if (handle) await endSession(ctx, handle.id, { sub: '' }).catch(() => log('warn', 'logout_incomplete', { detail: 'the session could not be deleted; it ends at its idle timeout' }));
    return null;
  });
  if (current) await endSession(ctx, current.handle.id, current.session);

  const state = await createLogoutState(ctx.config.sessionSecrets, returnTo, ctx.now);
  const signedOut = `${ctx.url.origin}/_auth/signed-out`;
  // Straight to the landing page: the state is needed only to carry an explicit `rd` there.
  let location = rd ? `${signedOut}?state=${encodeURIComponent(state)}` : signedOut;
  if (current) {
    try {
      const provider = await ctx.provider();
      const refreshToken = current.session.refreshToken;
      if (refreshToken) {
        // Best effort, after the response: the session is already over here, and a slow IdP must not hold up the browser.
        ctx.waitUntil(
          revokeToken(provider, refreshToken, 'refresh_token').then(
            (outcome) => log('info', 'refresh_token_revoked', { outcome }),
            (error: unknown) => log('warn', 'refresh_token_revocation_failed', { code: error instanceof GatewayError ? error.code : 'internal', detail: error instanceof GatewayError ? error.detail : undefined }),
          ),
        );
      }
      const endSessionEndpoint = provider.as.end_session_endpoint;
      if (endSessionEndpoint) {
        const url = new URL(endSessionEndpoint);
        url.searchParams.set('client_id', ctx.config.clientId);
        url.searchParams.set('id_token_hint', current.session.idToken);
        url.searchParams.set('post_logout_redirect_uri', signedOut);
        url.searchParams.set('state', state);
        location = url.href;
      }
    } catch {
      // The IdP is unreachable: the local session is gone; the IdP session ends on its own schedule.
    }
  }
  // A deliberate sign-out also drops the silent re-authentication hint: the next visit is a first visit.
  const response = wantsJson(ctx.request)
    ? jsonResponse(200, { signed_out: true, logout_url: location })
    : new Response(null, { status: 303, headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } });
  response.headers.append('set-cookie', clearSessionCookie(ctx));
  response.headers.append('set-cookie', clearResumeHint(ctx.mode));
  return response;
}

/**
 * `GET /_auth/signed-out`: where the IdP sends the browser after logout (register it there as a
 * post-logout redirect URI). With our `state`, the way on leads back to the `rd` given at logout.
 */
export async function handleSignedOut(ctx: RequestContext): Promise<Response> {
  const returnTo = (await readLogoutState(ctx.config.sessionSecrets, ctx.url.searchParams.get('state'), ctx.now)) ?? '/';
  return htmlResponse(
    200,
    { title: 'You are signed out', paragraphs: ['Your session has ended.'], link: { href: returnTo, label: 'Sign in again' } },
    { 'set-cookie': clearSessionCookie(ctx) },
  );
}
