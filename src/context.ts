import { loadConfig, type Config } from './config';
import { isLoopbackHost } from './config/hosts';
import { GatewayError } from './http/errors';
import { parseCookies } from './http/cookies';
import { getProvider, type Provider } from './oidc/provider';
import { DEV_HTTP_MODE, SECURE_MODE, type CookieMode } from './session/cookie-names';
import { KvSessionStore, type SessionStore } from './session/store';
import type { RequestFacts } from './http/metrics';
import { rateLimiterOf, type RateLimiter } from './http/rate-limit';
import type { Env } from './env';

/** Everything a handler needs for one request, resolved once at the edge of the app. */
export interface RequestContext {
  request: Request;
  url: URL;
  config: Config;
  cookies: Map<string, string>;
  mode: CookieMode;
  /** KV-only or coordinated (chosen by the wiring, app.ts): the lifecycle sees only the interface. */
  store: SessionStore;
  /** Epoch seconds. */
  now: number;
  provider(): Promise<Provider>;
  waitUntil(promise: Promise<unknown>): void;
  /** This request's facts for the METRICS data point (http/metrics.ts), filled where they are known. */
  metrics: RequestFacts;
  /** The RATE_LIMITER binding, when there is one (http/rate-limit.ts). */
  rateLimiter: RateLimiter | undefined;
}

const stores = new WeakMap<Config, KvSessionStore>();

/** Builds the request's session store over the isolate's KV store (lifecycle/stores.ts). */
export type StoreFactory = (config: Config, kv: KvSessionStore, waitUntil: (p: Promise<unknown>) => void) => SessionStore;

export function createContext(request: Request, env: Env, waitUntil: (p: Promise<unknown>) => void, storeFor: StoreFactory): RequestContext {
  const config = loadConfig(env);
  const url = new URL(request.url);
  let kv = stores.get(config);
  if (!kv) {
    kv = new KvSessionStore(config.sessions, config.sessionSecrets, config.sessionCacheTtl);
    stores.set(config, kv);
  }
  const store = storeFor(config, kv, waitUntil);
  return {
    request,
    url,
    config,
    cookies: parseCookies(request.headers.get('cookie')),
    mode: cookieMode(config, url),
    store,
    now: Math.floor(Date.now() / 1000),
    provider: () => getProvider(config),
    waitUntil,
    metrics: {},
    rateLimiter: rateLimiterOf(env),
  };
}

/**
 * Production is HTTPS with `__Host-` cookies. Plain HTTP is tolerated only for a loopback demo that
 * opted in; anywhere else a Secure cookie would be dropped by the browser and sign-in would loop.
 */
function cookieMode(config: Config, url: URL): CookieMode {
  if (url.protocol === 'https:') return SECURE_MODE;
  if (config.devAllowHttp && isLoopback(url.hostname)) return DEV_HTTP_MODE;
  throw new GatewayError('https_required', 'This site is only available over HTTPS.', {
    detail: 'plain-HTTP request outside a loopback DEV_ALLOW_HTTP demo',
    status: 400,
  });
}

/** The last host asked about and the answer: a demo serves one host, so each request need not parse it again. */
let lastHost: { hostname: string; loopback: boolean } | undefined;
function isLoopback(hostname: string): boolean {
  if (lastHost?.hostname !== hostname) lastHost = { hostname, loopback: isLoopbackHost(hostname) };
  return lastHost.loopback;
}

export function redirectUri(ctx: RequestContext): string {
  return `${ctx.url.origin}/_auth/callback`;
}
