// hono/tiny (PatternRouter): the routes are few and static; the default RegExpRouter adds 2.5 KB gzipped
// to the bundle for no per-request difference measurable here (bench/RESULTS.md, "Bundle").
import { Hono } from 'hono/tiny';
import type { Env } from './env';
import { GatewayError } from './http/errors';
import { errorResponse } from './http/respond';
import { rateLimiterOf, takeRate } from './http/rate-limit';
import { metricsOf, writeMetrics } from './http/metrics';
import { createContext, type RequestContext } from './context';
import { pageContextOf } from './config/brand';
import { sessionStoreFor } from './lifecycle/coordinated';
import { handleCallback } from './routes/callback';
import { handleLogout, handleSignedOut, handleUserInfo } from './routes/auth-pages';
import { handleLogin } from './routes/signin';
import { handleProtected } from './routes/gate';
import { handleJwks } from './routes/jwks';
import { handleBackchannelLogout } from './routes/backchannel';
import { handleFrontchannelLogout } from './routes/frontchannel';
import { handleSsf } from './routes/ssf';
import { handleSessionInfo } from './routes/session-info';
import { handleProtectedResource } from './routes/protected-resource';
import { WELL_KNOWN } from './oidc/resource-metadata';

type AppEnv = { Bindings: Env; Variables: { ctx: RequestContext } };

/** Wiring only: which handler answers which path. The handlers hold the logic. */
export const app = new Hono<AppEnv>();

// METRICS (optional): one data point per request, written after the response whatever it was. Hono
// turns a thrown error into the response (onError) before `next()` returns here, so refusals and
// failures pass this point too, with the error in `c.error`. Without the binding: nothing at all.
app.use('*', async (c, next) => {
  const metrics = metricsOf(c.env);
  if (!metrics) return next();
  const started = Date.now();
  await next();
  const ctx = c.get('ctx') as RequestContext | undefined; // unset when the request failed before its context was built
  writeMetrics(metrics, ctx?.metrics ?? {}, { pathname: (ctx?.url ?? new URL(c.req.url)).pathname, status: c.res.status, error: c.error, latencyMs: Date.now() - started });
});

app.use('*', async (c, next) => {
  c.set('ctx', createContext(c.req.raw, c.env, (promise) => c.executionCtx.waitUntil(promise), sessionStoreFor));
  await next();
});

// Endpoints anyone can call without a session: limited per client when RATE_LIMITER is bound (http/rate-limit.ts).
// One middleware for all of them, so every other request is matched against one pattern less each.
const RATE_SCOPES: ReadonlyMap<string, string> = new Map([
  ['/_auth/login', 'login'],
  ['/_auth/callback', 'callback'],
  ['/_auth/backchannel-logout', 'logout'],
  ['/_auth/frontchannel-logout', 'logout'],
  ['/_auth/ssf', 'ssf'],
]);
app.use('/_auth/*', async (c, next) => {
  const limiter = rateLimiterOf(c.env);
  if (limiter) {
    const path = c.req.path;
    const scope = RATE_SCOPES.get(path) ?? (path.startsWith('/_auth/callback/') ? 'callback' : undefined);
    if (scope) await takeRate(limiter, scope, c.req.raw);
  }
  await next();
});

app.get('/_auth/login', (c) => handleLogin(c.get('ctx')));
// GET for response_mode=query, POST for form_post; the handler accepts only the configured one.
app.on(['GET', 'POST'], '/_auth/callback', (c) => handleCallback(c.get('ctx')));
// One redirect URI per identity provider (docs/protocols.md "Several identity providers"; RFC 9700 4.4).
app.on(['GET', 'POST'], '/_auth/callback/:idp', (c) => handleCallback(c.get('ctx'), c.req.param('idp')));
app.on(['GET', 'POST'], '/_auth/logout', (c) => handleLogout(c.get('ctx')));
app.get('/_auth/signed-out', (c) => handleSignedOut(c.get('ctx')));
app.get('/_auth/userinfo', (c) => handleUserInfo(c.get('ctx')));
app.get('/_auth/session', (c) => handleSessionInfo(c.get('ctx')));
app.all('/_auth/backchannel-logout', (c) => handleBackchannelLogout(c.get('ctx')));
app.get('/_auth/frontchannel-logout', (c) => handleFrontchannelLogout(c.get('ctx')));
app.get('/_auth/jwks', (c) => handleJwks(c.get('ctx')));
app.all('/_auth/ssf', (c) => handleSsf(c.get('ctx')));
app.all('/_auth/*', () => {
  throw new GatewayError('not_found', 'There is no such gateway endpoint.');
});
// RFC 9728 metadata of the APIs the gateway guards; any other URL there is the origin's.
app.get(`${WELL_KNOWN}`, (c) => handleProtectedResource(c.get('ctx')) ?? handleProtected(c.get('ctx')));
app.get(`${WELL_KNOWN}/*`, (c) => handleProtectedResource(c.get('ctx')) ?? handleProtected(c.get('ctx')));
app.all('*', (c) => handleProtected(c.get('ctx')));

// The refusal's log line carries the same facts as its METRICS data point (rule, IdP, refresh).
// Its page carries the brand, even of a configuration that is invalid otherwise (config/brand.ts).
app.onError((error, c) => errorResponse(c.req.raw, error, (c.get('ctx') as RequestContext | undefined)?.metrics, pageContextOf(c.env as unknown as Record<string, unknown>, c.req.raw)));
