import { beginSignIn } from '../oidc/authorize';
import { pruneTransactions, transactionCookie } from '../session/transaction';
import type { StepUp } from '../policy/decide';
import { redirectUri, type RequestContext } from './context';

/**
 * Starts the authorization code flow: a transaction cookie for this sign-in, and a redirect to the
 * IdP. 302 keeps GET semantics; `no-store` keeps the one-time URL out of caches.
 */
export async function startSignIn(ctx: RequestContext, returnTo: string, extraHeaders: string[] = [], stepUp?: StepUp): Promise<Response> {
  const provider = await ctx.provider();
  const { authorizationUrl, transaction } = await beginSignIn(provider, ctx.config, redirectUri(ctx), returnTo, ctx.now, stepUp);
  const headers = new Headers({
    location: authorizationUrl.href,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
  });
  for (const cookie of await pruneTransactions(ctx.config.sessionSecrets, ctx.mode, ctx.cookies)) headers.append('set-cookie', cookie);
  headers.append('set-cookie', await transactionCookie(ctx.config.sessionSecrets, ctx.mode, transaction));
  for (const cookie of extraHeaders) headers.append('set-cookie', cookie);
  return new Response(null, { status: 302, headers });
}
