/**
 * Cookie parsing and serialization. The `__Host-` rules live here, where cookies are made, so no
 * caller can forget them (RFC 6265bis 4.1.3.2: Secure, Path=/, no Domain).
 */

/**
 * Bounded work on hostile input: at most this much of the header is read, and at most MAX_COOKIES
 * cookies. It used to be all or nothing at 16 KiB — a browser whose *upstream* cookies added up to
 * more (a few large analytics or SSO cookies do) was never seen as signed in and looped through the
 * IdP for ever. Browsers keep at most ~180 cookies of ≤ 4096 bytes per site, and send the gateway's
 * `Path=/` cookies after longer-path ones, so these bounds never cut off a real session cookie; a
 * cookie cut in half by the byte bound simply fails to open, like any garbage.
 */
const MAX_COOKIE_HEADER = 64 * 1024;
const MAX_COOKIES = 300;

export function parseCookies(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  const parts = header.slice(0, MAX_COOKIE_HEADER).split(';', MAX_COOKIES);
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    // First occurrence wins: browsers send the most specific (longest path) cookie first.
    if (name && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export interface CookieOptions {
  maxAge?: number;
  httpOnly?: boolean;
  secure: boolean;
  sameSite: 'Lax' | 'Strict' | 'None';
}

const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[!#-+\--:<-[\]-~]*$/;

export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  if (!NAME.test(name)) throw new TypeError('invalid cookie name');
  if (!VALUE.test(value)) throw new TypeError('invalid cookie value');
  if (name.startsWith('__Host-') && !options.secure) throw new TypeError('__Host- cookies must be Secure');
  if (options.sameSite === 'None' && !options.secure) throw new TypeError('SameSite=None cookies must be Secure');
  const parts = [`${name}=${value}`, 'Path=/'];
  if (options.maxAge !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(options.maxAge))}`);
  if (options.httpOnly !== false) parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  parts.push(`SameSite=${options.sameSite}`);
  return parts.join('; ');
}

export function deleteCookie(name: string, options: Omit<CookieOptions, 'maxAge'>): string {
  return serializeCookie(name, '', { ...options, maxAge: 0 });
}
