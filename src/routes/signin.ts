import { GatewayError } from '../http/errors';
import { loginOptions } from '../config/auth-params';
import { beginSignIn, type SignInOptions } from '../oidc/authorize';
import { clearResumeHint, hasResumeHint, pruneTransactions, transactionCookie, type TxCookieOptions } from '../session/transaction';
import type { StepUp } from '../policy/decide';
import type { RequestContext } from '../context';
import type { Config } from '../config';
import { callbackPath, findIdp, withIdp, type Idp } from '../config/idps';
import { getProvider } from '../oidc/provider';
import { safeReturnPath } from './return-path';
import { hasSessionCookie } from './session-cookie';
import { allowedIdps, chooserPage, choiceCookie, idpsForPath, lastChoice, pickIdp } from './chooser';

/**
 * `GET /_auth/login?rd=/path[&idp=<name>][&login_hint=…][&prompt=…]`: start a sign-in, then return to
 * `rd` (same-origin paths only). `login_hint` and `prompt` are passed to the IdP, validated and bounded.
 * An explicit sign-in is never silent (unless the link itself asks for `prompt=none`). With several
 * IdPs, `idp` names one (remembered for the chooser); without it the path's rule, the hint's email
 * domain or the chooser page decides (routes/chooser.ts).
 */
export async function handleLogin(ctx: RequestContext): Promise<Response> {
  const returnTo = safeReturnPath(ctx.url.searchParams.get('rd'), ctx.url.origin);
  const retryHref = `/_auth/login?rd=${encodeURIComponent(returnTo)}`;
  const options = loginOptions(ctx.url.searchParams);
  if (typeof options === 'string') {
    throw new GatewayError('bad_request', 'This sign-in link is not valid.', { detail: options, retryHref });
  }
  const signIn = options.prompt === 'none' ? { loginHint: options.loginHint, silent: true } : options;
  const named = ctx.url.searchParams.getAll('idp');
  if (named.length > 0) {
    const idp = named.length === 1 ? findIdp(ctx.config.idps, named[0]) : undefined;
    if (!idp) throw new GatewayError('bad_request', 'This sign-in link names no identity provider of this site.', { detail: named.length > 1 ? 'idp given more than once' : 'unknown idp', retryHref });
    return redirectToIdp(ctx, returnTo, ctx.config.idps.length > 1 ? [choiceCookie(ctx.mode, idp.name)] : [], signIn, 302, idp.name);
  }
  const allowed = idpsForPath(ctx, returnTo);
  const chosen = pickIdp(allowed, options.loginHint);
  if (chosen) return redirectToIdp(ctx, returnTo, [], signIn, 302, chosen.name);
  const notice = options.loginHint ? 'No sign-in option here matches that email address. Please choose one.' : undefined;
  return chooserPage(returnTo, allowed, lastChoice(ctx, allowed), notice, [], ctx.config.brand, options.prompt);
}

/**
 * A page navigation without a usable session (src/routes/gate.ts). When the browser still holds a
 * session cookie (or the hint of one, session/transaction.ts), its session has ended — lifetime over,
 * refresh impossible, ended by the IdP — and the user may well still be signed in at the IdP: try
 * `prompt=none` first (OIDC_SILENT_REAUTH).
 * Its `login_required` & co. fall back to one interactive sign-in (src/routes/callback.ts). A step-up
 * is never silent: the point is to make the user authenticate again.
 */
export async function startSignIn(ctx: RequestContext, returnTo: string, extraHeaders: string[] = [], stepUp?: StepUp, idps?: readonly string[]): Promise<Response> {
  // The session cookie itself, or (once SESSION_MAX_TTL took it away) the hint left beside it.
  const hint = hasResumeHint(ctx.mode, ctx.cookies);
  const ended = hasSessionCookie(ctx) || hint;
  // Several IdPs may sign in here: the rule's only one, else silently the one chosen last, else the chooser.
  const allowed = allowedIdps(ctx.config, idps);
  const idp = allowed.length === 1 ? allowed[0] : ended ? lastChoice(ctx, allowed) : undefined;
  if (!idp) return chooserPage(returnTo, allowed, lastChoice(ctx, allowed), undefined, extraHeaders, ctx.config.brand);
  const silent = !stepUp && idpView(ctx.config, idp).silentReauth && ended;
  // The hint serves once: an abandoned sign-in does not make every later visit silent.
  return redirectToIdp(ctx, returnTo, hint ? [...extraHeaders, clearResumeHint(ctx.mode)] : extraHeaders, { stepUp, silent }, 302, idp.name);
}

/** The configuration as this IdP sees it (config/idps.ts). */
function idpView(config: Config, idp: Idp): Config {
  return withIdp(config, idp.name)!;
}

/** The redirect URI registered for an IdP: `/_auth/callback/<name>`, `/_auth/callback` for `default`. */
export function redirectUriFor(ctx: RequestContext, idp: string): string {
  return `${ctx.url.origin}${callbackPath(idp)}`;
}

/**
 * A transaction cookie for this sign-in, and a redirect to the IdP. 302 keeps GET semantics
 * (`status` 303 from a POSTed callback); `no-store` keeps the one-time URL out of caches.
 */
export async function redirectToIdp(ctx: RequestContext, returnTo: string, extraHeaders: string[], options: SignInOptions, status = 302, idp = ctx.config.idp): Promise<Response> {
  const config = withIdp(ctx.config, idp);
  if (!config) throw new GatewayError('bad_request', 'This sign-in names no identity provider of this site.', { detail: `unknown idp ${idp}` });
  const provider = await getProvider(config);
  const silent = options.silent === true && silentAllowed(provider.as.prompt_values_supported);
  const started = await beginSignIn(provider, config, redirectUriFor(ctx, config.idp), returnTo, ctx.now, { ...options, silent });
  const authorizationUrl = started.authorizationUrl;
  // Bound to its IdP: only that IdP's callback completes it (routes/callback.ts, RFC 9700 4.4).
  const transaction = { ...started.transaction, idp: config.idp };
  const headers = new Headers({
    location: authorizationUrl.href,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
  });
  const cookie = txCookieOptions(ctx, config);
  for (const stale of await pruneTransactions(ctx.config.sessionSecrets, cookie, ctx.cookies)) headers.append('set-cookie', stale);
  headers.append('set-cookie', await transactionCookie(ctx.config.sessionSecrets, cookie, transaction));
  for (const extra of extraHeaders) headers.append('set-cookie', extra);
  return new Response(null, { status, headers });
}

/** IdPs that list their prompt values (Initiating User Registration 1.0, 4) and leave out `none` get no silent attempt. */
function silentAllowed(promptValues: unknown): boolean {
  return !Array.isArray(promptValues) || promptValues.includes('none');
}

export function txCookieOptions(ctx: RequestContext, config: Config = ctx.config): TxCookieOptions {
  return { mode: ctx.mode, crossSitePost: config.responseMode === 'form_post' };
}
