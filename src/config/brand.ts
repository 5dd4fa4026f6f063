import type { Brand } from '../http/pages';
import type { PageContext } from '../http/respond';
import { isLoopbackHost } from './hosts';

/**
 * BRAND_NAME, BRAND_LOGO_URL, BRAND_COLOR, BRAND_SUPPORT_URL (docs/configuration.md "Pages"). Strictly checked: the
 * color goes into the pages' CSS, so only a hex color passes (never `red;background:url(…)`); the URLs
 * are https (a logo over http would be mixed content, and the CSP names its origin); the name is text.
 */

export const BRAND_KEYS = ['BRAND_NAME', 'BRAND_LOGO_URL', 'BRAND_COLOR', 'BRAND_SUPPORT_URL'] as const;

/** Long enough for any company or product name, short enough for a page header. */
const MAX_NAME = 80;
const MAX_URL = 2048;
const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

interface Problem {
  key: string;
  message: string;
}

/** The brand, and a problem (by key) for each setting that is not usable. */
export function parseBrand(env: Record<string, unknown>, devAllowHttp: boolean): { brand: Brand; problems: Problem[] } {
  // Unbranded, the checks below are never compiled (a fresh isolate compiles a function whole on its first call).
  if (BRAND_KEYS.every((key) => env[key] === undefined || env[key] === null)) return { brand: {}, problems: [] };
  return checkBrand(env, devAllowHttp);
}

function checkBrand(env: Record<string, unknown>, devAllowHttp: boolean): { brand: Brand; problems: Problem[] } {
  const brand: Brand = {};
  const problems: Problem[] = [];
  const value = (key: (typeof BRAND_KEYS)[number]): string | undefined => {
    const raw = env[key];
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== 'string' || raw.trim() === '') {
      problems.push({ key, message: 'expected a non-empty string' });
      return undefined;
    }
    return raw.trim();
  };

  const name = value('BRAND_NAME');
  if (name !== undefined) {
    // Control characters (newlines included) have no place in a one-line header.
    if (name.length > MAX_NAME) problems.push({ key: 'BRAND_NAME', message: `must be at most ${MAX_NAME} characters` });
    else if (/[\u0000-\u001f\u007f]/.test(name)) problems.push({ key: 'BRAND_NAME', message: 'must not contain control characters' });
    else brand.name = name;
  }
  const color = value('BRAND_COLOR');
  if (color !== undefined) {
    if (HEX_COLOR.test(color)) brand.color = color.toLowerCase();
    else problems.push({ key: 'BRAND_COLOR', message: 'expected a hex color such as #1a73e8 or #17e' });
  }
  for (const [key, field] of [['BRAND_LOGO_URL', 'logoUrl'], ['BRAND_SUPPORT_URL', 'supportUrl']] as const) {
    const raw = value(key);
    if (raw === undefined) continue;
    const problem = urlProblem(raw, devAllowHttp);
    if (problem) problems.push({ key, message: problem });
    else brand[field] = new URL(raw).href;
  }
  return { brand, problems };
}

function urlProblem(raw: string, devAllowHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'expected an absolute https:// URL';
  }
  if (raw.length > MAX_URL) return `must be at most ${MAX_URL} characters`;
  if (url.username || url.password) return 'must not contain a user name or password';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && devAllowHttp && isLoopbackHost(url.hostname)) return undefined;
  return 'must be an https:// URL (plain http only for a local demo: DEV_ALLOW_HTTP = "true" with a loopback issuer and URL)';
}

/** Per env object, like the configuration: pages of a broken configuration still carry its brand. */
const brands = new WeakMap<object, Brand>();

/**
 * What an error page needs even when the configuration as a whole is invalid (src/app.ts onError):
 * the brand settings that are valid on their own, and whether this is a local demo, where the page may
 * show the operator what is wrong. Local = DEV_ALLOW_HTTP set, the request on loopback and no issuer
 * elsewhere: a deployed Worker is never reached at a loopback host, so visitors never see details.
 */
export function pageContextOf(env: Record<string, unknown>, request: Request): PageContext {
  const dev = devRequested(env) && issuersOf(env).every((issuer) => isLoopbackUrl(issuer));
  let brand = brands.get(env);
  if (!brand) {
    brand = parseBrand(env, dev).brand;
    brands.set(env, brand);
  }
  return { brand, localDev: dev && isLoopbackUrl(request.url), idpOrigins: originsOf(issuersOf(env)) };
}

/**
 * Where a sign-out form's redirect goes on to: the IdPs' end-session endpoints, taken to be on their
 * issuers' origins (as at Okta, Entra ID, Auth0, Keycloak, oidc-provider).
 */
export function originsOf(issuers: readonly string[]): string[] {
  const origins: string[] = [];
  for (const issuer of issuers) {
    try {
      const url = new URL(issuer);
      if (url.protocol === 'https:' || url.protocol === 'http:') origins.push(url.origin);
    } catch {
      // not a URL: the configuration error names it
    }
  }
  return origins;
}

function devRequested(env: Record<string, unknown>): boolean {
  const raw = env['DEV_ALLOW_HTTP'];
  return raw === true || raw === 'true' || raw === '1' || raw === 'yes';
}

function isLoopbackUrl(value: string): boolean {
  try {
    return isLoopbackHost(new URL(value).hostname);
  } catch {
    return true; // not a URL: no host elsewhere (the configuration error names it)
  }
}

/** OIDC_ISSUER and the issuers of IDPS (a list of tables, or its JSON), as far as they can be read. */
function issuersOf(env: Record<string, unknown>): string[] {
  const issuers: string[] = [];
  if (typeof env['OIDC_ISSUER'] === 'string') issuers.push(env['OIDC_ISSUER']);
  let idps = env['IDPS'];
  if (typeof idps === 'string') {
    try {
      idps = JSON.parse(idps) as unknown;
    } catch {
      idps = undefined;
    }
  }
  if (Array.isArray(idps)) {
    for (const idp of idps) {
      const issuer = (idp as { issuer?: unknown } | null)?.issuer;
      if (typeof issuer === 'string') issuers.push(issuer);
    }
  }
  return issuers;
}
