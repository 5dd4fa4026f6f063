import type { RequestContext } from '../context';
import { readTextLimited } from '../http/body';
import { GatewayError } from '../http/errors';
import { log } from '../http/log';
import { endIdpSessions } from '../lifecycle/end';
import { MAX_SET_AGE, SecurityEventError, verifySecurityEvent, type SetErrorCode } from '../oidc/security-event';
import { transmitterKeys } from '../oidc/transmitter-keys';
import { sessionIndex } from '../session/index-store';

/**
 * `POST /_auth/ssf`: the Shared Signals receiver (OpenID SSF 1.0, CAEP 1.0), push delivery per RFC 8935.
 * The transmitter (SSF_ISSUER) posts one Security Event Token as the body. A valid one is acknowledged
 * with 202 and no body (2.2), after its `session-revoked` / `credential-change` events ended the sessions
 * they name — through the same path as back-channel logout (lifecycle/end.ts), so the same propagation
 * bound applies. An invalid SET gets 400 with `{ "err", "description" }` (2.3). A SET already acted on
 * (its `jti`) and event types the gateway does not act on are acknowledged and change nothing
 * (RFC 8417 2.2). Off — 404 like any unknown /_auth path — unless SSF_ISSUER is set.
 */

/** A SET is a few hundred bytes to a few KB; bounded work on input from anyone who can reach the URL. */
const MAX_BODY = 32 * 1024;
const NO_STORE = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export async function handleSsf(ctx: RequestContext): Promise<Response> {
  const ssf = ctx.config.ssf;
  if (!ssf) throw new GatewayError('not_found', 'There is no such gateway endpoint.');
  if (ctx.request.method !== 'POST') {
    await ctx.request.body?.cancel();
    return new Response(null, { status: 405, headers: { ...NO_STORE, allow: 'POST' } });
  }
  // RFC 8935 2: "Content-Type: application/secevent+jwt"; anything else is not a pushed SET.
  const type = ctx.request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/secevent+jwt') {
    await ctx.request.body?.cancel();
    return refuse('invalid_request', 'the body must be a SET sent as application/secevent+jwt');
  }
  const body = await readTextLimited(ctx.request, MAX_BODY);
  if (body === null) return refuse('invalid_request', `the body is larger than ${MAX_BODY} bytes`);

  try {
    const keys = transmitterKeys({ issuer: ssf.issuer, jwksUri: ssf.jwksUri, timeoutMs: ctx.config.idpTimeoutMs, devAllowHttp: ctx.config.devAllowHttp });
    const set = await verifySecurityEvent(body.trim(), keys, {
      issuer: ssf.issuer,
      audience: ssf.audience ?? ctx.url.origin,
      idpIssuer: ctx.config.idps.map((idp) => idp.issuer),
      clockSkew: ctx.config.clockSkew,
    }, ctx.now);
    const { replay } = sessionIndex(ctx.config.sessions, ctx.config.sessionSecrets);
    // Its own namespace in the replay guard: a transmitter may also be the IdP that sends logout tokens.
    const replayIssuer = `ssf ${set.iss}`;
    const fields = { jti: set.jti.slice(0, 64), events: set.ending.map((e) => e.event), ignored: set.ignored };
    if (await replay.seen(replayIssuer, set.jti, ctx.now)) {
      log('info', 'ssf_set_replayed', fields);
      return accepted();
    }
    let ended = 0;
    for (const { event, targets } of set.ending) {
      for (const { iss, ...target } of targets) {
        // An `iss_sub` user is one IdP's; an email or session id names no issuer, so every IdP's
        // sessions it matches end (ending more is the safe side of a revocation).
        for (const issuer of iss !== undefined ? [iss] : ctx.config.idps.map((idp) => idp.issuer)) ended += await endIdpSessions(ctx, target, `ssf_${event}`, issuer);
      }
    }
    await replay.remember(replayIssuer, set.jti, set.iat + MAX_SET_AGE + ctx.config.clockSkew, ctx.now);
    log('info', 'ssf_set_accepted', { ...fields, sessions_ended: ended, ...(ended === 0 ? { note: 'accepted; no session it names was signed in here' } : {}) });
    return accepted();
  } catch (error) {
    if (error instanceof SecurityEventError) return refuse(error.code, error.message);
    // The transmitter's keys or our session store could not be reached: not the SET's fault. A 5xx
    // tells the transmitter to deliver it again later (RFC 8935 2.4); its jti was not remembered.
    const gatewayError = error instanceof GatewayError ? error : new GatewayError('internal', 'unexpected error', { cause: error });
    log('error', 'ssf_set_failed', { code: gatewayError.code, detail: gatewayError.detail ?? gatewayError.message });
    throw gatewayError.with({ json: true });
  }
}

function accepted(): Response {
  return new Response(null, { status: 202, headers: NO_STORE });
}

function refuse(err: SetErrorCode, description: string): Response {
  log('warn', 'ssf_set_rejected', { err, detail: description.slice(0, 200) });
  return new Response(JSON.stringify({ err, description }), { status: 400, headers: { 'content-type': 'application/json', ...NO_STORE } });
}
