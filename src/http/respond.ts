import { GatewayError, errorName, isGatewayError } from './errors';
import { htmlResponse, jsonResponse, type Brand, type PageAction } from './pages';
import { wantsJson, requestId } from './client';
import { log } from './log';
import type { RequestFacts } from './metrics';

/** What the error page of this request looks like: the site's brand, and whether it is a local demo (config/brand.ts). */
export interface PageContext {
  brand?: Brand;
  /** DEV_ALLOW_HTTP demo on loopback: a configuration error shows its details on the page. */
  localDev?: boolean;
  /** The IdPs' origins: a sign-out form's redirect goes on to one (CSP form-action, http/pages.ts). */
  idpOrigins?: readonly string[];
}

/**
 * Turns anything thrown while handling a request into the response a client should see and one
 * log line for the operator. Unknown exceptions become a generic 500: their messages may contain
 * internals, so they go to the log only.
 */
export function errorResponse(request: Request, thrown: unknown, facts: RequestFacts = {}, page: PageContext = {}): Response {
  const error = isGatewayError(thrown)
    ? thrown
    : new GatewayError('internal', 'Something went wrong in the gateway. Please try again.', { cause: thrown });
  const asJson = error.json ?? wantsJson(request);
  const id = requestId(request);
  const url = new URL(request.url);
  log(error.status >= 500 ? 'error' : 'warn', 'request_refused', {
    code: error.code,
    status: error.status,
    request_id: id,
    method: request.method,
    host: url.host,
    path: url.pathname.slice(0, 512),
    message: error.message,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(error.subject ? { sub: error.subject } : {}),
    ...(facts.rule !== undefined ? { rule: facts.rule } : {}),
    ...(facts.idp !== undefined ? { idp: facts.idp } : {}),
    ...(facts.via !== undefined ? { via: facts.via } : {}),
    ...(facts.refresh !== undefined ? { refresh: facts.refresh } : {}),
    ...(isGatewayError(thrown) ? {} : { exception: describe(thrown) }),
  });
  // Which setting is wrong is the operator's business: every visitor gets the generic message, a local demo the list too.
  const details = error.code === 'config_invalid' && page.localDev && error.detail ? error.detail : undefined;
  if (asJson) {
    return jsonResponse(
      error.status,
      { error: error.code, message: error.message, request_id: id, ...error.extra, ...(details ? { detail: details } : {}) },
      error.headers,
    );
  }
  return htmlResponse(
    error.status,
    {
      title: error.title,
      paragraphs: error.signedInAs ? [error.message, `Signed in as ${error.signedInAs}.`] : [error.message],
      actions: waysOnward(request, error),
      ...(details ? { details: { heading: 'What is wrong (shown only in local development)', text: details } } : {}),
      footer: `Error ${error.code} · request ${id}`,
      ...(page.brand ? { brand: page.brand } : {}),
      ...(error.signedInAs && page.idpOrigins ? { formTargets: page.idpOrigins } : {}),
    },
    error.headers,
  );
}

/**
 * Every error page offers a way on (the support link, when BRAND_SUPPORT_URL is set, is in its footer):
 * a refused user can sign out or sign in as someone else (no script: a link and a POST form); otherwise
 * the error's own retry link, sign-in for a 401, the same page again for a failure that may pass, and
 * the start of the site.
 */
function waysOnward(request: Request, error: GatewayError): PageAction[] {
  const url = new URL(request.url);
  const here = url.pathname + url.search;
  // Only links that stay on this site: `//host/x` would be another site's address.
  const linkable = !here.startsWith('//') && here.length <= 2048 && !(url.pathname === '/_auth' || url.pathname.startsWith('/_auth/'));
  const actions: PageAction[] = [];
  if (error.signedInAs) {
    // prompt=login (Core 3.1.2.1): the IdP asks for credentials even while its own session lasts.
    if (linkable) actions.push({ href: `/_auth/login?rd=${encodeURIComponent(here)}&prompt=login`, label: 'Sign in as someone else' });
    actions.push({ post: '/_auth/logout', label: 'Sign out' });
  } else if (error.retryHref) {
    actions.push({ href: error.retryHref, label: error.status === 401 ? 'Sign in' : 'Try again' });
  } else if (error.status === 401 && linkable) {
    actions.push({ href: `/_auth/login?rd=${encodeURIComponent(here)}`, label: 'Sign in' });
  } else if ((error.status >= 500 || error.status === 429) && linkable && (request.method === 'GET' || request.method === 'HEAD')) {
    actions.push({ href: here, label: 'Try again' });
  }
  if (!actions.some((a) => 'href' in a && a.href === '/')) actions.push({ href: '/', label: 'Back to the start' });
  return actions;
}

function describe(thrown: unknown): string {
  if (thrown instanceof Error) return `${errorName(thrown)}: ${thrown.message}`.slice(0, 500);
  return String(thrown).slice(0, 200);
}
