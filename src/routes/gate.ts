import { GatewayError } from '../http/errors';
import { wantsJson } from '../http/client';
import { normalizePath } from '../policy/normalize';
import { identityFromSession } from '../policy/identity';
import { forward } from '../proxy/forward';
import type { RequestContext } from './context';
import { clearSessionCookie, currentSession, hasSessionCookie, touchIfDue } from './session';
import { startSignIn } from './signin';

/**
 * Every request that is not a gateway endpoint: decide, then forward with identity or refuse.
 * With no route rules, a signed-in session is required everywhere (secure by default).
 */
export async function handleProtected(ctx: RequestContext): Promise<Response> {
  const path = normalizePath(ctx.url.pathname);
  if (path === '/_auth' || path.startsWith('/_auth/')) {
    // Reached only through an encoded spelling of a gateway path: never the upstream's business.
    throw new GatewayError('not_found', 'There is no such gateway endpoint.');
  }

  const current = await currentSession(ctx);
  if (!current) return signInRequired(ctx, path);
  touchIfDue(ctx, current);

  const publicUrl = new URL(ctx.url.href);
  publicUrl.pathname = path;
  return forward(ctx.request, ctx.config.upstream, {
    publicUrl,
    clientIp: ctx.request.headers.get('cf-connecting-ip'),
    identity: identityFromSession(current.session, ctx.config.userClaim),
  });
}

/**
 * Page navigations go to the IdP and come back here; programs (fetch/XHR/API clients) and
 * non-GET requests get a 401 they can act on instead of a redirect they cannot follow.
 */
async function signInRequired(ctx: RequestContext, path: string): Promise<Response> {
  const stale = hasSessionCookie(ctx) ? [clearSessionCookie(ctx)] : [];
  const returnTo = path + ctx.url.search;
  const method = ctx.request.method;
  if ((method === 'GET' || method === 'HEAD') && !wantsJson(ctx.request)) {
    return startSignIn(ctx, returnTo.length <= 2048 ? returnTo : path, stale);
  }
  const loginUrl = `/_auth/login?rd=${encodeURIComponent(returnTo)}`;
  throw new GatewayError('unauthenticated', 'Sign-in required.', {
    headers: {
      'www-authenticate': 'Bearer realm="edgegate"',
      ...(stale[0] ? { 'set-cookie': stale[0] } : {}),
    },
    extra: { login_url: loginUrl },
    retryHref: loginUrl,
  });
}
