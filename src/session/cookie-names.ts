/**
 * Cookie names. In production (HTTPS) they carry the `__Host-` prefix, which makes browsers reject
 * them unless Secure, Path=/ and host-only — a subdomain cannot plant or overwrite them. Plain-HTTP
 * loopback demos (DEV_ALLOW_HTTP) cannot use the prefix, so they use the bare names.
 */
export const SESSION_COOKIE = 'edgegate';
export const TX_COOKIE_PREFIX = 'edgegate-tx-';
/** "Signed in here before": lets silent re-authentication outlive the session cookie (session/transaction.ts). */
export const RESUME_COOKIE = 'edgegate-resume';
/** The identity provider last chosen on the chooser page (routes/chooser.ts): offered first next time. */
export const IDP_CHOICE_COOKIE = 'edgegate-idp';

export interface CookieMode {
  secure: boolean;
  prefix: '__Host-' | '';
}

export const SECURE_MODE: CookieMode = { secure: true, prefix: '__Host-' };
export const DEV_HTTP_MODE: CookieMode = { secure: false, prefix: '' };

export function sessionCookieName(mode: CookieMode): string {
  return `${mode.prefix}${SESSION_COOKIE}`;
}

export function txCookieName(mode: CookieMode, key: string): string {
  return `${mode.prefix}${TX_COOKIE_PREFIX}${key}`;
}

/** Every cookie name the gateway may set, in either mode: these never reach the upstream. */
export function isGatewayCookie(name: string): boolean {
  const bare = name.startsWith('__Host-') ? name.slice('__Host-'.length) : name;
  return bare === SESSION_COOKIE || bare === RESUME_COOKIE || bare === IDP_CHOICE_COOKIE || bare.startsWith(TX_COOKIE_PREFIX);
}
