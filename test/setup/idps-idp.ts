// The IdPs of test/idps, "corp" and "partner" (runs in Node, started by test/setup/global.ts): each a
// real oidc-provider (scripts/idp.mjs) with the gateway's client registered at that IdP's own redirect
// URI (/_auth/callback/<name>) and back-channel logout at the gateway, plus a thin test-only layer the
// workerd tests drive over HTTP (as ./lifecycle-idp.ts, smaller):
//
//   GET  /__test/stats          { token: { refresh_token: n, … }, refused: n }: token endpoint requests
//   POST /__test/fault          body { token: 'pass' | 'down' }: down = the token endpoint answers 503
//   POST /__test/reset          zero the counters, clear the fault and the captured logout tokens
//   GET  /__test/logout-tokens  [{ uri, logoutToken }]: the back-channel logout requests the IdP made.
//                               The gateway under test is not reachable from Node, so the IdP's
//                               outgoing `fetch` records them (and answers 200) instead of sending them.
//
// `sid`: with it, logout tokens carry the IdP session's `sid` (and ID tokens carry `sid`, which
// oidc-provider includes only then); without it, logout tokens name the user by `sub` alone.
// @ts-ignore -- plain ESM script without type declarations
import { startIdp } from '../../scripts/idp.mjs';
import { CLIENT_ID, CLIENT_SECRET, ORIGIN, POST_LOGOUT_REDIRECT_URI } from './constants';
import type { CapturedLogoutToken, IdpsIdpStats } from './protocol';

interface KoaContext {
  method: string;
  path: string;
  status: number;
  body: unknown;
  type: string;
  req: { on(event: string, cb: (chunk?: Uint8Array) => void): void };
  oidc?: { params?: { grant_type?: string } };
}

export async function startIdpsIdp(name: string, { sid }: { sid: boolean }): Promise<{ issuer: string; close(): Promise<void> }> {
  const captured: CapturedLogoutToken[] = [];
  let stats: IdpsIdpStats = { token: {}, refused: 0 };
  let down = false;

  const captureFetch = async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith(`${ORIGIN}/`)) return fetch(input, init);
    captured.push({ uri: url, logoutToken: new URLSearchParams(String(init.body ?? '')).get('logout_token') ?? '' });
    return new Response(null, { status: 200 });
  };

  const instrument = async (ctx: KoaContext, next: () => Promise<void>) => {
    if (ctx.path.startsWith('/__test/')) return control(ctx);
    const token = ctx.method === 'POST' && ctx.path === '/token';
    if (token && down) {
      stats.refused++;
      ctx.status = 503;
      ctx.type = 'text/html';
      ctx.body = '<html><body>503 Service Unavailable (test fault)</body></html>';
      return;
    }
    await next();
    if (token) {
      const grant = ctx.oidc?.params?.grant_type ?? 'unknown';
      stats.token[grant] = (stats.token[grant] ?? 0) + 1;
    }
  };

  async function control(ctx: KoaContext): Promise<void> {
    const body = ctx.method === 'POST' ? await readJson(ctx) : {};
    ctx.type = 'application/json';
    switch (ctx.path) {
      case '/__test/stats':
        ctx.body = stats;
        return;
      case '/__test/fault':
        down = body['token'] === 'down';
        ctx.body = { token: down ? 'down' : 'pass' };
        return;
      case '/__test/reset':
        stats = { token: {}, refused: 0 };
        down = false;
        captured.length = 0;
        ctx.body = { ok: true };
        return;
      case '/__test/logout-tokens':
        ctx.body = captured;
        return;
      default:
        ctx.status = 404;
        ctx.body = { error: 'unknown control endpoint' };
    }
  }

  const idp = await startIdp({
    port: 0,
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${ORIGIN}/_auth/callback/${name}`],
        post_logout_redirect_uris: [POST_LOGOUT_REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        backchannel_logout_uri: `${ORIGIN}/_auth/backchannel-logout`,
        backchannel_logout_session_required: sid,
      },
    ],
    fetch: captureFetch,
    middleware: [instrument],
  });
  return { issuer: String(idp.issuer), close: () => idp.close() };
}

function readJson(ctx: KoaContext): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    ctx.req.on('data', (chunk) => chunks.push(chunk!));
    ctx.req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      } catch {
        resolve({});
      }
    });
  });
}
