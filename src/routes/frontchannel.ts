import { htmlResponse, pagePolicy } from '../http/pages';
import { log } from '../http/log';
import { endIdpSessions, endSession } from '../lifecycle/end';
import type { RequestContext } from '../context';
import { clearSessionCookie } from './session-cookie';
import { currentSession } from '../lifecycle/current';
import { throttle } from '../http/throttle';
import { DEFAULT_IDP, idpByIssuer } from '../config/idps';

/**
 * Anyone can send this GET with our (public) issuer and made-up sids, and each one walks the session
 * index in KV: bounded per isolate like introspection (oidc/access-token.ts). A logout is one request
 * per user sign-out, far below these numbers; the IdP's iframe that meets a 503 is the user's to retry.
 */
const logouts = throttle({
  name: 'front-channel logout',
  maxInFlight: 16,
  perSecond: 20,
  message: 'Too many logout requests right now. Please retry shortly.',
});

/**
 * `GET /_auth/frontchannel-logout?iss=…&sid=…`: OpenID Connect Front-Channel Logout 1.0. The IdP loads
 * this in an iframe of its logout page. `iss` must be our issuer and `sid` names the IdP session
 * (register the client with `frontchannel_logout_session_required`); the sessions with that `sid` end.
 *
 * Browsers do not send SameSite=Lax cookies to a cross-site iframe, so the session is found through
 * the sid index; when the cookie does arrive, its session ends too if (and only if) its sid matches.
 */
export async function handleFrontchannelLogout(ctx: RequestContext): Promise<Response> {
  const params = ctx.url.searchParams;
  const issuers = params.getAll('iss');
  const sids = params.getAll('sid');
  const iss = issuers.length === 1 ? issuers[0] : undefined;
  const sid = sids.length === 1 ? sids[0] : undefined;
  // `iss` names the IdP (one of IDPS); its sessions with that sid end, no other IdP's.
  const idp = idpByIssuer(ctx.config.idps, iss);
  // The IdP frames this page: allow exactly its origin (frame-ancestors), nothing else.
  const headers = { 'content-security-policy': pagePolicy(ctx.config.brand, new URL((idp ?? ctx.config).issuer).origin) };

  if (!idp || !sid || sid.length > 1024) {
    log('warn', 'frontchannel_logout_rejected', { reason: iss === undefined || sid === undefined ? 'iss and sid are required' : !idp ? 'iss is not our issuer' : 'sid invalid' });
    return htmlResponse(400, { title: 'Logout not accepted', paragraphs: ['This logout request does not name this site’s identity provider and session.'], link: { href: '/', label: 'Back to the start' }, brand: ctx.config.brand }, headers);
  }

  let ended = 0;
  const cookies: Record<string, string> = {};
  const release = logouts.take(Date.now());
  try {
    const current = await currentSession(ctx).catch(() => null);
    if (current && current.session.sid === sid && (current.session.idp ?? DEFAULT_IDP) === idp.name) {
      await endSession(ctx, current.handle.id, current.session, 'frontchannel_logout');
      cookies['set-cookie'] = clearSessionCookie(ctx);
      ended++;
    }
    ended += await endIdpSessions(ctx, { sid }, 'frontchannel_logout', idp.issuer);
  } finally {
    release();
  }
  log('info', 'frontchannel_logout', { sessions_ended: ended, ...(ended === 0 ? { note: 'accepted; no session it names was signed in here' } : {}) });
  return htmlResponse(200, { title: 'Signed out', paragraphs: ['Your session here has ended.'], brand: ctx.config.brand }, { ...headers, ...cookies });
}
