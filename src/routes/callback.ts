import { GatewayError } from '../http/errors';
import { completeSignIn } from '../oidc/callback';
import type { Session } from '../session/model';
import { clearTransactionCookie, findTransaction } from '../session/transaction';
import { registerSession } from '../session/lifecycle';
import { redirectUri, type RequestContext } from './context';
import { currentSession, sessionCookie } from './session';

/** `GET /_auth/callback`: finish the sign-in this browser started, then go back where it was. */
export async function handleCallback(ctx: RequestContext): Promise<Response> {
  const params = ctx.url.searchParams;
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
  const clearTx = clearTransactionCookie(ctx.mode, state);
  try {
    const provider = await ctx.provider();
    const result = await completeSignIn(provider, ctx.config, params, tx, redirectUri(ctx), ctx.now);

    // A new id on every sign-in: a session id planted before sign-in is worthless after it.
    const previous = await currentSession(ctx).catch(() => null);
    if (previous) ctx.waitUntil(ctx.store.delete(previous.handle).catch(() => undefined));

    const session: Session = {
      v: 1,
      sub: result.sub,
      claims: result.claims,
      idToken: result.idToken,
      accessToken: result.accessToken,
      refreshToken: result.refreshToken,
      accessTokenExpiresAt: result.accessTokenExpiresAt,
      sid: result.sid,
      createdAt: ctx.now,
      lastSeenAt: ctx.now,
      expiresAt: ctx.now + ctx.config.maxTtl,
    };
    const handle = ctx.store.newHandle();
    await ctx.store.save(handle, session, ctx.config.idleTtl, ctx.now);
    // Findable by logout from the IdP (back-/front-channel) from now on.
    await registerSession(ctx, handle, session);

    const headers = new Headers({
      location: tx.returnTo,
      'cache-control': 'no-store',
      // The callback URL carried a code; it must not leak to the next page's Referer.
      'referrer-policy': 'no-referrer',
    });
    headers.append('set-cookie', clearTx);
    headers.append('set-cookie', sessionCookie(ctx, handle, session));
    return new Response(null, { status: 303, headers });
  } catch (error) {
    if (error instanceof GatewayError) {
      error.headers['set-cookie'] = clearTx;
    }
    throw error;
  }
}
