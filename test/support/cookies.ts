// A tiny cookie jar for driving the gateway like a browser would, for one origin (https://localhost).
// Runs inside workerd: only standard APIs. Domain is ignored (single host); Path is honoured by prefix;
// Max-Age<=0 or an Expires in the past deletes; Secure cookies are sent on https:// only.

export interface ParsedSetCookie {
  name: string;
  value: string;
  /** Every attribute, keyed by lower-cased name; flag attributes (HttpOnly, Secure, Partitioned) are `true`. */
  attributes: Record<string, string | true>;
  // Convenience views of `attributes`:
  httpOnly: boolean;
  secure: boolean;
  sameSite: string | undefined;
  path: string | undefined;
  domain: string | undefined;
  maxAge: number | undefined;
  expires: Date | undefined;
}

/** Parses one Set-Cookie header value (RFC 6265 §5.2, lenient like browsers). */
export function parseSetCookie(header: string): ParsedSetCookie {
  const [pair = '', ...attrs] = header.split(';');
  const eq = pair.indexOf('=');
  const name = (eq < 0 ? '' : pair.slice(0, eq)).trim();
  const value = (eq < 0 ? pair : pair.slice(eq + 1)).trim();
  const attributes: Record<string, string | true> = {};
  for (const attr of attrs) {
    const i = attr.indexOf('=');
    const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
    if (!key) continue;
    attributes[key] = i < 0 ? true : attr.slice(i + 1).trim();
  }
  const str = (k: string) => (typeof attributes[k] === 'string' ? (attributes[k] as string) : undefined);
  const maxAgeRaw = str('max-age');
  const expiresRaw = str('expires');
  const expires = expiresRaw === undefined ? undefined : new Date(expiresRaw);
  return {
    name,
    value,
    attributes,
    httpOnly: attributes.httponly === true,
    secure: attributes.secure === true,
    sameSite: str('samesite'),
    path: str('path'),
    domain: str('domain'),
    maxAge: maxAgeRaw === undefined || !/^-?\d+$/.test(maxAgeRaw) ? undefined : Number(maxAgeRaw),
    expires: expires && !Number.isNaN(expires.getTime()) ? expires : undefined,
  };
}

/** All Set-Cookie headers of a response, parsed. */
export function setCookies(response: Response): ParsedSetCookie[] {
  return response.headers.getSetCookie().map(parseSetCookie);
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  secure: boolean;
  expiresAt: number | undefined; // ms epoch; undefined = session cookie
}

export class CookieJar {
  #cookies = new Map<string, StoredCookie>(); // key: `${path}\n${name}`

  /** Stores (or deletes) cookies from every Set-Cookie header of `response`. `requestUrl` gives the default path. */
  store(response: Response, requestUrl = 'https://localhost/'): void {
    for (const header of response.headers.getSetCookie()) this.storeHeader(header, requestUrl);
  }

  storeHeader(header: string, requestUrl = 'https://localhost/'): void {
    const c = parseSetCookie(header);
    if (!c.name) return;
    const path = c.path?.startsWith('/') ? c.path : defaultPath(new URL(requestUrl).pathname);
    const key = `${path}\n${c.name}`;
    let expiresAt: number | undefined;
    if (c.maxAge !== undefined) expiresAt = c.maxAge <= 0 ? 0 : Date.now() + c.maxAge * 1000;
    else if (c.expires) expiresAt = c.expires.getTime();
    if (expiresAt !== undefined && expiresAt <= Date.now()) {
      this.#cookies.delete(key);
      return;
    }
    this.#cookies.set(key, { name: c.name, value: c.value, path, secure: c.secure, expiresAt });
  }

  /** The `Cookie` header for a request to `url` ('' when nothing applies). Longer paths first, like browsers. */
  header(url = 'https://localhost/'): string {
    const u = new URL(url);
    const now = Date.now();
    return [...this.#cookies.values()]
      .filter((c) => (c.expiresAt === undefined || c.expiresAt > now) && pathMatches(u.pathname, c.path) && (!c.secure || u.protocol === 'https:'))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** Value of the cookie `name` (any path), or undefined. */
  get(name: string): string | undefined {
    for (const c of this.#cookies.values()) if (c.name === name && (c.expiresAt === undefined || c.expiresAt > Date.now())) return c.value;
    return undefined;
  }

  /** Sets a cookie by hand (e.g. to tamper with a session value). */
  set(name: string, value: string, path = '/'): void {
    this.#cookies.set(`${path}\n${name}`, { name, value, path, secure: true, expiresAt: undefined });
  }

  delete(name: string): void {
    for (const [k, c] of this.#cookies) if (c.name === name) this.#cookies.delete(k);
  }

  clear(): void {
    this.#cookies.clear();
  }

  /** Names of the live cookies. */
  names(): string[] {
    return [...new Set([...this.#cookies.values()].filter((c) => c.expiresAt === undefined || c.expiresAt > Date.now()).map((c) => c.name))];
  }
}

function defaultPath(requestPath: string): string {
  const i = requestPath.lastIndexOf('/');
  return i <= 0 ? '/' : requestPath.slice(0, i);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
