import { GatewayError } from '../http/errors';
import { log } from '../http/log';
import { completeSignIn } from '../oidc/callback';
import { interactionNeeded } from '../oidc/sign-in-errors';
import type { Session } from '../session/model';
import { clearTransactionCookie, consumeResponse, findTransaction, RESUME_HINT_GRACE, resumeHintCookie } from '../session/transaction';
import { endSession } from '../lifecycle/end';
import { beginSession } from '../lifecycle/begin';
import type { RequestContext } from '../context';
import { DEFAULT_IDP, withIdp } from '../config/idps';
import { getProvider } from '../oidc/provider';
import { sessionCookie } from './session-cookie';
import { currentSession } from '../lifecycle/current';
import { redirectToIdp, redirectUriFor, txCookieOptions } from './signin';
import { readTextLimited } from '../http/body';
import { safeReturnPath } from './return-path';

/**
 * The largest `form_post` body read. An authorization response is a code, a state, an `iss` and at
 * most one ID token: a few KB even with large group claims. Anything bigger is not one.
 */
const MAX_FORM_POST_BYTES = 64 * 1024;

/**
 * `GET` (response_mode=query) or `POST` (form_post) `/_auth/callback`: finish the sign-in this
 * browser started, then go back where it was. Only the configured response mode is accepted: an ID
 * token must never arrive in a URL, and a code meant for a POST has no business in one either.
 */
export async function handleCallback(ctx: RequestContext, idp = DEFAULT_IDP): Promise<Response> {
  // Each IdP answers at its own redirect URI (`/_auth/callback/<name>`, RFC 9700 4.4.2.2): the path
  // says which IdP this response claims to come from, and everything below is that IdP's.
  const config = withIdp(ctx.config, idp);
  if (!config) throw new GatewayError('not_found', 'There is no such gateway endpoint.', { detail: `callback for unknown idp ${idp.slice(0, 64)}` });
  // Sign-ins per IdP in METRICS (http/metrics.ts): a configured name, never a client's value.
  ctx.metrics.idp = config.idp;
  const expected = config.responseMode === 'form_post' ? 'POST' : 'GET';
  if (ctx.request.method !== expected) {
    throw new GatewayError('callback_invalid', 'This sign-in response did not arrive the way this gateway asked for it. Please sign in again.', {
      detail: `callback by ${ctx.request.method}, but OIDC_RESPONSE_MODE = ${config.responseMode} answers by ${expected}`,
      retryHref: '/_auth/login',
    });
  }
  const params = expected === 'POST' ? await readFormPost(ctx.request) : ctx.url.searchParams;

  const states = params.getAll('state');
  if (states.length !== 1 || !states[0]) {
    throw new GatewayError('signin_state_invalid', 'This sign-in response does not belong to a sign-in started in this browser. Please sign in again.', {
      detail: states.length === 0 ? 'callback without state' : 'callback with several state parameters',
      retryHref: '/_auth/login',
    });
  }
  const state = states[0];
  const tx = await findTransaction(ctx.config.sessionSecrets, ctx.mode, ctx.cookies, state, ctx.now);
  if (!tx) {
    throw new GatewayError('signin_state_invalid', 'This sign-in has expired or was started in another browser. Please sign in again.', {
      detail: 'no matching transaction cookie for state',
      retryHref: '/_auth/login',
    });
  }
  // The transaction is single-use whatever happens next.
  const clearTx = clearTransactionCookie(txCookieOptions(ctx, config), state);
  try {
    // Mix-up defence (RFC 9700 4.4): a sign-in started at one IdP is completed only by that IdP's
    // response at that IdP's redirect URI — never redeemed at, nor attributed to, another.
    if ((tx.idp ?? DEFAULT_IDP) !== config.idp) {
      throw new GatewayError('signin_state_invalid', 'This sign-in response came back from another identity provider than the one this sign-in went to. Please sign in again.', {
        detail: `transaction for idp ${tx.idp ?? DEFAULT_IDP} answered at the callback of ${config.idp}`,
        retryHref: `/_auth/login?rd=${encodeURIComponent(tx.returnTo)}`,
      });
    }
    // Every response mode: a code the IdP would redeem twice must not sign anyone in twice.
    if (!(await consumeResponse(ctx.config.sessions, state, ctx.now))) {
      throw new GatewayError('callback_invalid', 'This sign-in response was already used. Please sign in again.', {
        detail: 'replayed authorization response',
        retryHref: `/_auth/login?rd=${encodeURIComponent(tx.returnTo)}`,
      });
    }
    const provider = await getProvider(config);
    let result;
    try {
      result = await completeSignIn(provider, config, params, tx, redirectUriFor(ctx, config.idp), ctx.now);
    } catch (error) {
      const idpError = interactionNeeded(error, tx);
      if (idpError === null) throw error;
      // The silent attempt found no usable session at the IdP: sign in interactively, once (the new
      // transaction is not silent, so its own failure ends on an error page, never in a loop).
      log('info', 'silent_reauth_fallback', { idp_error: idpError });
      return await redirectToIdp(ctx, tx.returnTo, [clearTx], tx.loginHint ? { loginHint: tx.loginHint } : {}, 303, config.idp);
    }

    // A new id on every sign-in: a session id planted before sign-in is worthless after it. (After a
    // form_post the Lax session cookie is not sent, so an earlier session is left to expire.)
    const previous = await currentSession(ctx).catch(() => null);
    // Ended everywhere (coordinator + KV + index), like any logout: it must not linger at other locations.
    if (previous) ctx.waitUntil(endSession(ctx, previous.handle.id, previous.session, 'replaced').catch(() => undefined));

    const session: Session = {
      v: 1,
      sub: result.sub,
      claims: result.claims,
      idToken: result.idToken,
      accessToken: result.accessToken,
      refreshToken: result.refreshToken,
      accessTokenExpiresAt: result.accessTokenExpiresAt,
      sid: result.sid,
      // OIDC_DPOP: the key the tokens are bound to (never leaves the encrypted session).
      ...(result.dpopKey ? { dpopKey: result.dpopKey } : {}),
      // Absent for `default`: sessions read the same as before several IdPs existed.
      ...(config.idp === DEFAULT_IDP ? {} : { idp: config.idp }),
      createdAt: ctx.now,
      lastSeenAt: ctx.now,
      expiresAt: ctx.now + ctx.config.maxTtl,
    };
    // Stored and findable by logout from the IdP from now on.
    const handle = await beginSession(ctx, session);

    const headers = new Headers({
      // Checked again on the way out: whatever put it in the transaction, the browser leaves for this origin only.
      location: safeReturnPath(tx.returnTo, ctx.url.origin),
      'cache-control': 'no-store',
      // The callback URL carried a code; it must not leak to the next page's Referer.
      'referrer-policy': 'no-referrer',
    });
    headers.append('set-cookie', clearTx);
    headers.append('set-cookie', sessionCookie(ctx, handle, session));
    // Lets the next sign-in start silently once this session is over (routes/signin.ts).
    if (config.silentReauth) headers.append('set-cookie', resumeHintCookie(ctx.mode, session.expiresAt - ctx.now + RESUME_HINT_GRACE));
    return new Response(null, { status: 303, headers });
  } catch (error) {
    // A copy: errors may be shared between requests (a remembered discovery failure), cookies may not.
    if (error instanceof GatewayError) throw error.with({ headers: { ...error.headers, 'set-cookie': clearTx } });
    throw error;
  }
}

/**
 * The `form_post` body (OAuth 2.0 Form Post Response Mode 2): `application/x-www-form-urlencoded`,
 * read up to MAX_FORM_POST_BYTES whatever Content-Length claims.
 */
async function readFormPost(request: Request): Promise<URLSearchParams> {
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new GatewayError('bad_request', 'This sign-in response is not a form submission.', { detail: `form_post callback with content-type ${type ?? 'none'}` });
  }
  const body = await readTextLimited(request, MAX_FORM_POST_BYTES);
  if (body === null) {
    throw new GatewayError('bad_request', 'This sign-in response is too large.', { status: 413, detail: `form_post body over ${MAX_FORM_POST_BYTES} bytes` });
  }
  return new URLSearchParams(body);
}
