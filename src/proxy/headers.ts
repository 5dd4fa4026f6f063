import { isGatewayCookie } from '../session/cookie-names';

/**
 * Identity headers a legacy app may trust, in any case and with `_` for `-` (some servers, e.g. via
 * CGI, map both to the same variable). Removed from every request before anything is forwarded.
 */
const IDENTITY_EXACT = new Set([
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'remote-user',
  'remote-email',
  'remote-groups',
  'remote-name',
]);
const IDENTITY_PREFIXES = ['x-user', 'x-auth-request-'];

/** Set by the gateway from what it knows; a client's own values would be spoofable. */
const GATEWAY_SET = new Set(['x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-for', 'forwarded', 'x-real-ip']);

/**
 * Headers that override the request URL at the origin: IIS (URL Rewrite), older Symfony and Zend
 * route on `X-Original-URL` / `X-Rewrite-URL`; `X-Original-URI`, `X-Forwarded-Uri` and
 * `X-Forwarded-Prefix` are read by nginx/Traefik-era apps and Spring / ASP.NET Core path-base
 * handling. The rules judged the request's own path, so a client's `/assets/x` with
 * `X-Original-URL: /admin` would be served the admin page. The gateway is the edge: nobody in
 * front of it sets these legitimately.
 */
const URL_OVERRIDE = new Set(['x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-forwarded-uri', 'x-forwarded-prefix']);

/** RFC 9110 7.6.1: meaningful for one connection only. `upgrade` is kept for WebSockets (below). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function canonical(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

export function isIdentityHeader(name: string, extra: ReadonlySet<string> = EMPTY): boolean {
  const n = canonical(name);
  return IDENTITY_EXACT.has(n) || IDENTITY_PREFIXES.some((p) => n.startsWith(p)) || extra.has(n);
}
const EMPTY: ReadonlySet<string> = new Set();

export interface Identity {
  user: string;
  email?: string;
  name?: string;
  groups?: string[];
}

export interface ForwardContext {
  /** The host and scheme the client used (before any rewrite to the upstream). */
  publicUrl: URL;
  clientIp: string | null;
  identity: Identity | null;
  /** The gateway consumed the client's `Authorization` (a bearer token on an api rule): do not pass it on. */
  dropAuthorization?: boolean;
}

/** Builds the headers the upstream receives: client headers minus everything spoofable, plus ours. */
export function upstreamHeaders(incoming: Headers, ctx: ForwardContext): Headers {
  const headers = new Headers();
  const connectionListed = new Set(
    (incoming.get('connection') ?? '').split(',').map((t) => canonical(t.trim())).filter(Boolean),
  );
  const isWebSocket = incoming.get('upgrade')?.toLowerCase() === 'websocket';
  for (const [name, value] of incoming) {
    const n = canonical(name);
    if (isIdentityHeader(n) || GATEWAY_SET.has(n) || URL_OVERRIDE.has(n)) continue;
    if (HOP_BY_HOP.has(n) || connectionListed.has(n)) continue;
    if (n === 'authorization' && ctx.dropAuthorization) continue;
    if (n === 'cookie') {
      const kept = stripGatewayCookies(value);
      if (kept) headers.set('cookie', kept);
      continue;
    }
    headers.append(name, value);
  }
  if (isWebSocket) headers.set('upgrade', 'websocket');

  headers.set('x-forwarded-host', ctx.publicUrl.host);
  headers.set('x-forwarded-proto', ctx.publicUrl.protocol.replace(':', ''));
  if (ctx.clientIp) headers.set('x-forwarded-for', ctx.clientIp);

  const id = ctx.identity;
  if (id) {
    headers.set('x-user', headerValue(id.user));
    if (id.email) headers.set('x-user-email', headerValue(id.email));
    if (id.name) headers.set('x-user-name', headerValue(id.name));
    if (id.groups && id.groups.length > 0) headers.set('x-user-groups', headerValue(id.groups.join(',')));
  }
  return headers;
}

/** Keeps every cookie but the gateway's own, byte for byte. */
export function stripGatewayCookies(header: string): string {
  return header
    .split(';')
    .filter((part) => {
      const eq = part.indexOf('=');
      const name = (eq === -1 ? part : part.slice(0, eq)).trim();
      return name !== '' && !isGatewayCookie(name);
    })
    .map((p) => p.trim())
    .join('; ');
}

/** Header values must not carry CR/LF or other controls (response splitting, log injection). */
const MAX_VALUE = 4096;
function headerValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, MAX_VALUE);
}

