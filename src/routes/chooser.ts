import type { Config } from '../config';
import { findIdp, idpForEmail, idpsOfRule, type Idp } from '../config/idps';
import { deleteCookie, serializeCookie } from '../http/cookies';
import { escapeHtml, htmlResponse, type Brand } from '../http/pages';
import { judgeUrl } from '../policy/readings';
import { IDP_CHOICE_COOKIE, type CookieMode } from '../session/cookie-names';
import type { RequestContext } from '../context';

/**
 * Which identity provider a sign-in goes to when several may sign in on a path (docs/protocols.md "Several
 * identity providers"): the rule's only IdP, the one whose email domain a `login_hint` (or an address
 * typed on the chooser) names — home-realm discovery — or else the user's choice on a small page that
 * offers the last choice first.
 */

/** A year: a remembered choice only orders the page, it signs no one in. */
const CHOICE_MAX_AGE = 365 * 86_400;

/** The IdPs a rule lets sign in (`idps`), in configuration order; every IdP when it names none (as `npm run check` shows them). */
export function allowedIdps(config: Config, names: readonly string[] | undefined): Idp[] {
  return idpsOfRule(config.idps, names);
}

/** The IdPs that may sign in for a return path: its rule's `idps` (all when it cannot be judged: the gate decides later). */
export function idpsForPath(ctx: RequestContext, returnTo: string): Idp[] {
  try {
    const url = new URL(returnTo, ctx.url.origin);
    // The return path on this host; concatenated, not resolved, so a `//x` path stays a path.
    const here = new URL(`${ctx.url.origin}${url.pathname}${url.search}`);
    const { rule } = judgeUrl(ctx.config.routes, { method: 'GET', url: here }, ctx.config.pathCase);
    return allowedIdps(ctx.config, rule.idps);
  } catch {
    return [...ctx.config.idps];
  }
}

/** The one IdP this sign-in goes to without asking, if any: the only one allowed, or the one of the hinted email's domain. */
export function pickIdp(allowed: readonly Idp[], loginHint: string | undefined): Idp | undefined {
  if (allowed.length === 1) return allowed[0];
  return loginHint ? idpForEmail(allowed, loginHint) : undefined;
}

export function lastChoice(ctx: RequestContext, allowed: readonly Idp[]): Idp | undefined {
  const name = ctx.cookies.get(`${ctx.mode.prefix}${IDP_CHOICE_COOKIE}`);
  return name && allowed.some((idp) => idp.name === name) ? findIdp(allowed, name) : undefined;
}

export function choiceCookie(mode: CookieMode, name: string): string {
  return serializeCookie(`${mode.prefix}${IDP_CHOICE_COOKIE}`, name, { secure: mode.secure, sameSite: 'Lax', httpOnly: true, maxAge: CHOICE_MAX_AGE });
}

export function clearChoiceCookie(mode: CookieMode): string {
  return deleteCookie(`${mode.prefix}${IDP_CHOICE_COOKIE}`, { secure: mode.secure, sameSite: 'Lax', httpOnly: true });
}

/**
 * The chooser: one link per allowed IdP (`/_auth/login?idp=<name>&rd=…`), the last choice first and
 * marked, and an email field whose domain picks the IdP. Plain HTML, no script, labelled controls.
 */
export function chooserPage(returnTo: string, allowed: readonly Idp[], last: Idp | undefined, notice: string | undefined, setCookies: string[], brand: Brand = {}, prompt?: string): Response {
  const ordered = last ? [last, ...allowed.filter((idp) => idp !== last)] : [...allowed];
  const rd = encodeURIComponent(returnTo);
  // A sign-in link's `prompt` (e.g. "sign in as someone else": prompt=login) carries on to the choice.
  const promptParam = prompt ? `&amp;prompt=${escapeHtml(encodeURIComponent(prompt))}` : '';
  const items = ordered
    .map((idp) => {
      const mark = idp === last ? ' <span class="last">(last used)</span>' : '';
      return `<li><a class="button" href="/_auth/login?idp=${encodeURIComponent(idp.name)}&amp;rd=${escapeHtml(rd)}${promptParam}">${escapeHtml(idp.displayName)}</a>${mark}</li>`;
    })
    .join('\n');
  const withDomains = allowed.some((idp) => idp.emailDomains.length > 0);
  const promptInput = prompt ? `<input type="hidden" name="prompt" value="${escapeHtml(prompt)}">` : '';
  const emailForm = withDomains
    ? `<form method="get" action="/_auth/login"><input type="hidden" name="rd" value="${escapeHtml(returnTo)}">${promptInput}
<label for="email">Or enter your email address</label>
<input id="email" name="login_hint" type="email" autocomplete="email" required>
<button class="button" type="submit">Continue</button></form>`
    : '';
  const note = notice ? `<p role="alert">${escapeHtml(notice)}</p>` : '';
  const content = `${note}
<nav aria-label="Identity providers"><ul>
${items}
</ul></nav>
${emailForm}`;
  const response = htmlResponse(200, { title: 'Choose how to sign in', paragraphs: [], content, brand });
  for (const cookie of setCookies) response.headers.append('set-cookie', cookie);
  return response;
}
