import { GatewayError } from '../http/errors';
import { loginOptions } from '../oidc/auth-params';
import { beginSignIn, type SignInOptions } from '../oidc/authorize';
import { clearResumeHint, hasResumeHint, pruneTransactions, transactionCookie, type TxCookieOptions } from '../session/transaction';
import type { StepUp } from '../policy/decide';
import { redirectUri, type RequestContext } from '../context';
import { safeReturnPath } from './return-path';
import { hasSessionCookie } from './session-cookie';

/**
 * `GET /_auth/login?rd=/path[&login_hint=…][&prompt=…]`: start a sign-in, then return to `rd`
 * (same-origin paths only). `login_hint` and `prompt` are passed to the IdP, validated and bounded.
 * An explicit sign-in is never silent (unless the link itself asks for `prompt=none`).
 */
export async function handleLogin(ctx: RequestContext): Promise<Response> {
  const returnTo = safeReturnPath(ctx.url.searchParams.get('rd'), ctx.url.origin);
  const options = loginOptions(ctx.url.searchParams);
  if (typeof options === 'string') {
    throw new GatewayError('bad_request', 'This sign-in link is not valid.', { detail: options, retryHref: `/_auth/login?rd=${encodeURIComponent(returnTo)}` });
  }
  return redirectToIdp(ctx, returnTo, [], options.prompt === 'none' ? { loginHint: options.loginHint, silent: true } : options);
}

/**
 * A page navigation without a usable session (src/routes/gate.ts). When the browser still holds a
 * session cookie (or the hint of one, session/transaction.ts), its session has ended — lifetime over,
 * refresh impossible, ended by the IdP — and the user may well still be signed in at the IdP: try
 * `prompt=none` first (OIDC_SILENT_REAUTH).
 * Its `login_required` & co. fall back to one interactive sign-in (src/routes/callback.ts). A step-up
 * is never silent: the point is to make the user authenticate again.
 */
export async function startSignIn(ctx: RequestContext, returnTo: string, extraHeaders: string[] = [], stepUp?: StepUp): Promise<Response> {
  // The session cookie itself, or (once SESSION_MAX_TTL took it away) the hint left beside it.
  const hint = hasResumeHint(ctx.mode, ctx.cookies);
  const ended = hasSessionCookie(ctx) || hint;
  const silent = !stepUp && ctx.config.silentReauth && ended;
  // The hint serves once: an abandoned sign-in does not make every later visit silent.
  return redirectToIdp(ctx, returnTo, hint ? [...extraHeaders, clearResumeHint(ctx.mode)] : extraHeaders, { stepUp, silent });
}

/**
 * A transaction cookie for this sign-in, and a redirect to the IdP. 302 keeps GET semantics
 * (`status` 303 from a POSTed callback); `no-store` keeps the one-time URL out of caches.
 */
export async function redirectToIdp(ctx: RequestContext, returnTo: string, extraHeaders: string[], options: SignInOptions, status = 302): Promise<Response> {
  const provider = await ctx.provider();
  const silent = options.silent === true && silentAllowed(provider.as.prompt_values_supported);
  const { authorizationUrl, transaction } = await beginSignIn(provider, ctx.config, redirectUri(ctx), returnTo, ctx.now, { ...options, silent });
  const headers = new Headers({
    location: authorizationUrl.href,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
  });
  const cookie = txCookieOptions(ctx);
  for (const stale of await pruneTransactions(ctx.config.sessionSecrets, cookie, ctx.cookies)) headers.append('set-cookie', stale);
  headers.append('set-cookie', await transactionCookie(ctx.config.sessionSecrets, cookie, transaction));
  for (const extra of extraHeaders) headers.append('set-cookie', extra);
  return new Response(null, { status, headers });
}

/** IdPs that list their prompt values (Initiating User Registration 1.0, 4) and leave out `none` get no silent attempt. */
function silentAllowed(promptValues: unknown): boolean {
  return !Array.isArray(promptValues) || promptValues.includes('none');
}

export function txCookieOptions(ctx: RequestContext): TxCookieOptions {
  return { mode: ctx.mode, crossSitePost: ctx.config.responseMode === 'form_post' };
}
