import { GatewayError } from '../http/errors';
import { htmlResponse, jsonResponse } from '../http/pages';
import { wantsJson } from '../http/client';
import type { RequestContext } from './context';
import { safeReturnPath } from './return-path';
import { clearSessionCookie, currentSession } from './session';
import { startSignIn } from './signin';

/** `GET /_auth/login?rd=/path`: start a sign-in, then return to `rd` (same-origin paths only). */
export async function handleLogin(ctx: RequestContext): Promise<Response> {
  const returnTo = safeReturnPath(ctx.url.searchParams.get('rd'), ctx.url.origin);
  return startSignIn(ctx, returnTo);
}

/** `GET /_auth/userinfo`: the signed-in user's claims; never tokens. */
export async function handleUserInfo(ctx: RequestContext): Promise<Response> {
  const current = await currentSession(ctx);
  if (!current) {
    throw new GatewayError('unauthenticated', 'Not signed in.', {
      headers: { 'www-authenticate': 'Bearer realm="edgegate"' },
      extra: { login_url: '/_auth/login' },
    });
  }
  return jsonResponse(200, { ...current.session.claims, sub: current.session.sub });
}

/**
 * `/_auth/logout`: ends the session here first (so it is over even if the IdP is down), then at the
 * IdP through RP-initiated logout when it offers an end_session_endpoint.
 *
 * GET is accepted for plain links, but a cross-site request (an <img> or form on another site)
 * only gets a confirmation form: logging people out from elsewhere is a nuisance attack.
 */
export async function handleLogout(ctx: RequestContext): Promise<Response> {
  if (ctx.request.headers.get('sec-fetch-site') === 'cross-site') {
    return htmlResponse(200, {
      title: 'Sign out?',
      paragraphs: ['Another site asked to sign you out of this one.'],
      form: { action: '/_auth/logout', label: 'Sign out' },
    });
  }
  const current = await currentSession(ctx).catch(() => null);
  if (current) await ctx.store.delete(current.handle);

  let location = `${ctx.url.origin}/_auth/signed-out`;
  if (current) {
    try {
      const provider = await ctx.provider();
      const endSession = provider.as.end_session_endpoint;
      if (endSession) {
        const url = new URL(endSession);
        url.searchParams.set('client_id', ctx.config.clientId);
        url.searchParams.set('id_token_hint', current.session.idToken);
        url.searchParams.set('post_logout_redirect_uri', location);
        location = url.href;
      }
    } catch {
      // The IdP is unreachable: the local session is gone; the IdP session ends on its own schedule.
    }
  }
  const clear = clearSessionCookie(ctx);
  if (wantsJson(ctx.request)) {
    return jsonResponse(200, { signed_out: true, logout_url: location }, { 'set-cookie': clear });
  }
  return new Response(null, {
    status: 303,
    headers: { location, 'set-cookie': clear, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
  });
}

/** `GET /_auth/signed-out`: where the IdP sends the browser after logout (register it there). */
export function handleSignedOut(ctx: RequestContext): Response {
  return htmlResponse(
    200,
    { title: 'You are signed out', paragraphs: ['Your session has ended.'], link: { href: '/', label: 'Sign in again' } },
    { 'set-cookie': clearSessionCookie(ctx) },
  );
}
