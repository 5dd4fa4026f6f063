import { GatewayError } from '../http/errors';
import { log } from '../http/log';
import { LogoutTokenError, verifyLogoutToken } from '../oidc/logout-token';
import { sessionIndex } from '../session/index-store';
import { endIdpSessions } from '../lifecycle/end';
import type { RequestContext } from '../context';
import { readTextLimited } from '../http/body';
import { idpByIssuer, withIdp } from '../config/idps';
import { getProvider } from '../oidc/provider';
import { unverifiedClaims } from '../session/model';

/**
 * `POST /_auth/backchannel-logout`: OpenID Connect Back-Channel Logout 1.0. The IdP posts a signed
 * logout token (form field `logout_token`); a valid one ends the sessions it names. Section 2.8: 200 on
 * success, 400 otherwise, never cached. The body of a 400 says why, in RFC 6749 5.2 shape.
 */
const MAX_BODY = 16 * 1024;
const NO_STORE = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export async function handleBackchannelLogout(ctx: RequestContext): Promise<Response> {
  if (ctx.request.method !== 'POST') {
    return json(405, { error: 'invalid_request', error_description: 'use POST' }, { allow: 'POST' });
  }
  const type = ctx.request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    return refuse('malformed', 'the body must be application/x-www-form-urlencoded');
  }
  const body = await readTextLimited(ctx.request, MAX_BODY);
  if (body === null) return refuse('malformed', `the body is larger than ${MAX_BODY} bytes`);
  const tokens = new URLSearchParams(body).getAll('logout_token');
  if (tokens.length !== 1 || !tokens[0]) return refuse('malformed', 'expected exactly one logout_token parameter');

  try {
    // Routed by its `iss` to the one IdP with that issuer, then verified with that IdP's keys and
    // client id (which checks `iss` again): a logout from one IdP ends only that IdP's sessions.
    // (One IdP: the token goes to it, and its own checks say what is wrong — encrypted, malformed, iss.)
    const idp = ctx.config.idps.length === 1 ? ctx.config.idps[0] : idpByIssuer(ctx.config.idps, unverifiedClaims(tokens[0])['iss']);
    if (!idp) throw new LogoutTokenError('iss', 'the issuer is not an identity provider of this site');
    const config = withIdp(ctx.config, idp.name)!;
    const claims = await verifyLogoutToken(await getProvider(config), config, tokens[0], ctx.now);
    const { replay } = sessionIndex(ctx.config.sessions, ctx.config.sessionSecrets);
    // Step 7: a jti already acted on is a replay, refused while the token could still be presented.
    if (await replay.seen(claims.iss, claims.jti, ctx.now)) throw new LogoutTokenError('replayed', 'this logout token was already used');
    const ended = await endIdpSessions(ctx, claims, 'backchannel_logout', config.issuer);
    await replay.remember(claims.iss, claims.jti, claims.exp + ctx.config.clockSkew, ctx.now);
    log('info', 'backchannel_logout', { by: claims.sid !== undefined ? 'sid' : 'sub', sessions_ended: ended, ...(ended === 0 ? { note: 'accepted; no session it names was signed in here' } : {}) });
    return new Response(null, { status: 200, headers: NO_STORE });
  } catch (error) {
    if (error instanceof LogoutTokenError) return refuse(error.code, error.message);
    // The IdP's keys or our session store could not be reached: the logout failed (section 2.8: 400 too).
    const gatewayError = error instanceof GatewayError ? error : new GatewayError('internal', 'unexpected error', { cause: error });
    log('error', 'backchannel_logout_failed', { code: gatewayError.code, detail: gatewayError.detail ?? gatewayError.message });
    return json(400, { error: 'temporarily_unavailable', error_description: `logout could not be completed (${gatewayError.code}); try again` });
  }
}

function refuse(reason: string, message: string): Response {
  log('warn', 'backchannel_logout_rejected', { reason, detail: message.slice(0, 200) });
  return json(400, { error: 'invalid_request', error_description: `logout token rejected (${reason}): ${message}` });
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...NO_STORE, ...headers } });
}

