/**
 * The closest peer, measured beside the gateway: @hono/oidc-auth (a Hono middleware whose signed-in
 * state is a stateless session cookie, `oidc-auth`: an HS256 JWT over { sub, email, rtk, rtkexp,
 * ssnexp } signed with OIDC_AUTH_SECRET) in front of the same pass-through as passthrough.ts: same
 * upstream, same forwarding. Configured by env as its README says (OIDC_ISSUER, OIDC_CLIENT_ID,
 * OIDC_CLIENT_SECRET, OIDC_AUTH_SECRET, OIDC_REDIRECT_URI, …; in Node, hono/adapter's `env()` reads
 * process.env instead, so the Node-side bench sets those there).
 *
 * Its cookie comes from a real sign-in through it at the local IdP (bench/lib/signin.mjs
 * `signInPeer`), not a cookie minted by the bench: so the cookie is exactly what the peer issues
 * for the IdP's answer, and the bench checks its configuration works end to end. The bench sets
 * OIDC_REDIRECT_URI to `/_auth/callback`, the path the bench's IdP client already registers for
 * every origin. A signed-in request then verifies the JWT (WebCrypto HMAC) and makes no IdP call
 * until `rtkexp` (OIDC_AUTH_REFRESH_INTERVAL after sign-in, longer than a bench run): the bench
 * counts that at the IdP.
 *
 * One difference from the bare pass-through: the middleware sets Cache-Control on the response after
 * the handler, and a fetch() response's headers are immutable in workerd, so the handler answers
 * with a copy, as the peer's own README does for Cloudflare (`new Response(response.body, response)`).
 * The peer adds no identity headers and leaves its cookie in the upstream request (less work than the
 * gateway's header rewrite).
 */
import { oidcAuthMiddleware } from '@hono/oidc-auth';
import { Hono } from 'hono';
import { passThrough } from './passthrough';

export interface PeerEnv {
  UPSTREAM_URL: string;
  OIDC_ISSUER: string;
  OIDC_CLIENT_ID: string;
  OIDC_CLIENT_SECRET: string;
  OIDC_AUTH_SECRET: string;
  OIDC_REDIRECT_URI?: string;
  OIDC_SCOPES?: string;
  OIDC_AUTH_REFRESH_INTERVAL?: string;
}

let upstream: { raw: string; url: URL } | undefined;

const app = new Hono<{ Bindings: PeerEnv }>();
app.use('*', oidcAuthMiddleware());
app.all('*', async (c) => {
  if (upstream?.raw !== c.env.UPSTREAM_URL) upstream = { raw: c.env.UPSTREAM_URL, url: new URL(c.env.UPSTREAM_URL) };
  const response = await passThrough(c.req.raw, upstream.url);
  return new Response(response.body, response);
});

export default app;
