import { GatewayError } from '../http/errors';
import { htmlResponse, jsonResponse } from '../http/pages';
import { wantsJson } from '../http/client';
import { log } from '../http/log';
import { revokeToken } from '../oidc/revoke';
import { keepFresh } from '../lifecycle/fresh';
import { endSession } from '../lifecycle/end';
import { createLogoutState, readLogoutState, LOGOUT_STATE_TTL } from '../session/logout-state';
import { open, purposeKey, seal } from '../crypto/aead';
import { getProvider, type Provider } from '../oidc/provider';
import { withIdp } from '../config/idps';
import { originsOf } from '../config/brand';
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
  const end = ctx.url.searchParams.get('end');
  if (end !== null) return continueLogout(ctx, end);
  const rd = ctx.url.searchParams.get('rd');
  const returnTo = safeReturnPath(rd, ctx.url.origin);
  if (ctx.request.headers.get('sec-fetch-site') === 'cross-site') {
    return htmlResponse(200, {
      title: 'Sign out?',
      paragraphs: ['Another site asked to sign you out of this one.'],
      form: { action: rd ? `/_auth/logout?rd=${encodeURIComponent(returnTo)}` : '/_auth/logout', label: 'Sign out' },
      link: { href: '/', label: 'Stay signed in' },
      brand: ctx.config.brand,
      formTargets: originsOf(ctx.config.idps.map((idp) => idp.issuer)),
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
  // What a JSON client is given instead of `location` when that carries the ID token (below).
  let logoutUrl = location;
  if (current) {
    try {
      // The IdP that signed this session in: its revocation and end-session endpoints, its client id.
      const config = withIdp(ctx.config, current.session.idp) ?? ctx.config;
      const provider = await getProvider(config);
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
      if (provider.as.end_session_endpoint) {
        location = endSessionUrl(ctx, provider, config.clientId, current.session.idToken, state);
        logoutUrl = `${ctx.url.origin}/_auth/logout?end=${await sealLogoutHint(ctx, { t: current.session.idToken, s: state, at: ctx.now, ...(current.session.idp ? { i: current.session.idp } : {}) })}`;
      }
    } catch {
      // The IdP is unreachable: the local session is gone; the IdP session ends on its own schedule.
    }
  }
  // A deliberate sign-out also drops the silent re-authentication hint: the next visit is a first visit.
  const response = wantsJson(ctx.request)
    ? jsonResponse(200, { signed_out: true, logout_url: logoutUrl })
    : new Response(null, { status: 303, headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } });
  response.headers.append('set-cookie', clearSessionCookie(ctx));
  response.headers.append('set-cookie', clearResumeHint(ctx.mode));
  return response;
}

/**
 * RP-Initiated Logout 1.0 section 2: the IdP's end-session request. `id_token_hint` names the session
 * to end (Okta requires it; others skip their confirmation page with it).
 */
function endSessionUrl(ctx: RequestContext, provider: Provider, clientId: string, idToken: string, state: string): string {
  const url = new URL(provider.as.end_session_endpoint!);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('id_token_hint', idToken);
  url.searchParams.set('post_logout_redirect_uri', `${ctx.url.origin}/_auth/signed-out`);
  url.searchParams.set('state', state);
  return url.href;
}

/**
 * The JSON answer of /_auth/logout is read by page script, which must never hold the ID token (an XSS
 * could replay it wherever ID tokens are mistaken for credentials). Its `logout_url` is therefore
 * `/_auth/logout?end=<sealed>`: the ID token and the logout `state`, AES-GCM-sealed under a key from
 * SESSION_SECRET, valid as long as a logout state. Only a navigation there is redirected on to the IdP
 * (continueLogout); script cannot read a redirect it does not follow, nor follow this one.
 */
const LOGOUT_HINT_INFO = 'edgegate/logout-hint/v1';
interface LogoutHint {
  /** The ID token, for id_token_hint. */
  t: string;
  /** The logout state (createLogoutState). */
  s: string;
  /** Epoch seconds. */
  at: number;
  /** The session's IdP (absent: `default`): the end-session endpoint is that IdP's. */
  i?: string;
}

async function sealLogoutHint(ctx: RequestContext, hint: LogoutHint): Promise<string> {
  return seal(await purposeKey(ctx.config.sessionSecrets[0]!, LOGOUT_HINT_INFO), JSON.stringify(hint), LOGOUT_HINT_INFO);
}

async function openLogoutHint(ctx: RequestContext, sealed: string): Promise<LogoutHint | null> {
  if (sealed.length > 16_384) return null;
  for (const secret of ctx.config.sessionSecrets) {
    const plaintext = await open(await purposeKey(secret, LOGOUT_HINT_INFO), sealed, LOGOUT_HINT_INFO);
    if (plaintext === null) continue;
    try {
      const hint = JSON.parse(plaintext) as Partial<LogoutHint>;
      if (typeof hint.t !== 'string' || typeof hint.s !== 'string' || typeof hint.at !== 'number') return null;
      if (ctx.now - hint.at > LOGOUT_STATE_TTL || hint.at > ctx.now + 60) return null;
      return hint as LogoutHint;
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * `/_auth/logout?end=<sealed>`: the second half of a logout a JSON client started. The session is
 * already over; this only sends the browser on to the IdP's end-session endpoint. Script (fetch, XHR:
 * `Sec-Fetch-Mode: cors`) and other sites get a refusal instead of that redirect; an unreadable or
 * expired hint leads to the signed-out page.
 */
async function continueLogout(ctx: RequestContext, sealed: string): Promise<Response> {
  if (wantsJson(ctx.request) || ctx.request.headers.get('sec-fetch-site') === 'cross-site') {
    throw new GatewayError('bad_request', 'This sign-out link works only when opened in the browser from this site.', { detail: 'logout continuation requested by script or another site' });
  }
  const hint = await openLogoutHint(ctx, sealed);
  let location = `${ctx.url.origin}/_auth/signed-out`;
  if (hint) {
    try {
      const config = withIdp(ctx.config, hint.i);
      const provider = config ? await getProvider(config) : undefined;
      if (config && provider?.as.end_session_endpoint) location = endSessionUrl(ctx, provider, config.clientId, hint.t, hint.s);
    } catch {
      // The IdP is unreachable: its session ends on its own schedule (the local one is already over).
    }
  }
  return new Response(null, { status: 303, headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'set-cookie': clearSessionCookie(ctx) } });
}

/**
 * `GET /_auth/signed-out`: where the IdP sends the browser after logout (register it there as a
 * post-logout redirect URI). With our `state`, the way on leads back to the `rd` given at logout.
 */
export async function handleSignedOut(ctx: RequestContext): Promise<Response> {
  const returnTo = (await readLogoutState(ctx.config.sessionSecrets, ctx.url.searchParams.get('state'), ctx.now)) ?? '/';
  return htmlResponse(
    200,
    { title: 'You are signed out', paragraphs: ['Your session has ended.'], link: { href: returnTo, label: 'Sign in again' }, brand: ctx.config.brand },
    { 'set-cookie': clearSessionCookie(ctx) },
  );
}
