// The test-only layer of the local IdPs that the workerd tests drive over HTTP (runs in Node, inside
// the oidc-provider of scripts/idp.mjs: its outgoing `fetch` and one Koa middleware). Used by the
// token-lifecycle IdP (./lifecycle-idp.ts) and by corp and partner (./idps-idp.ts):
//
//   GET  /__test/stats          token endpoint requests so far, by grant type ({ refresh_token: n, … }),
//                               revocation requests, and token requests refused by a fault
//   POST /__test/reset          zero the counters, clear faults, held requests and captured logout tokens
//   POST /__test/fault          body { token: 'pass' | 'down' | 'hang' | 'reset' | 'hold', ms? }: what the
//                               token endpoint does next — answer 503, answer 504 only after `ms`, drop
//                               the connection, or wait until /__test/release and then process it
//   GET  /__test/held           { held: n } token requests waiting for /__test/release
//   POST /__test/release        lets every held token request through; body { count: n }: only the n
//                               oldest (to process concurrent redemptions one after another)
//   GET  /__test/logout-tokens  [{ uri, logoutToken }]: the back-channel logout requests the IdP made.
//                               The gateway under test is not reachable from Node, so the IdP's
//                               outgoing `fetch` records them (and answers 200) instead of sending them.
//   POST /__test/dpop           body { nonce?: true, ignore?: true }: DPoP proofs (RFC 9449) must carry the
//                               IdP's nonce (else use_dpop_nonce; only where the IdP asks `requireDpopNonce`),
//                               or the token endpoint ignores them (an IdP that answers Bearer);
//                               GET: { nonceRefusals } so far. Reset clears both.
import { ORIGIN } from './constants';
import type { CapturedLogoutToken, IdpStats, TokenFault } from './protocol';

export interface KoaContext {
  method: string;
  path: string;
  status: number;
  body: unknown;
  type: string;
  req: { socket: { destroy(): void }; on(event: string, cb: (chunk?: Uint8Array) => void): void; headers: Record<string, string | string[] | undefined> };
  oidc?: { params?: { grant_type?: string } };
  respond?: boolean;
}

export interface IdpControls {
  /** The IdP's outgoing fetch: requests to the gateway (back-channel logout) are captured, the rest go out. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** The Koa middleware: /__test/*, the token-endpoint faults and the counters. */
  middleware(ctx: KoaContext, next: () => Promise<void>): Promise<void>;
  /** Whether DPoP proofs must carry the IdP's nonce now (oidc-provider's `requireNonce`). */
  requireDpopNonce(): boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh test layer (its own counters, faults and captured logout tokens) for one IdP. */
export function idpControls(): IdpControls {
  const captured: CapturedLogoutToken[] = [];
  let stats: IdpStats = { token: {}, refused: 0, revocation: 0 };
  let fault: { token: TokenFault; ms: number } = { token: 'pass', ms: 0 };
  let held: (() => void)[] = [];
  let dpop = { nonce: false, ignore: false, nonceRefusals: 0 };

  const captureFetch = async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.startsWith(`${ORIGIN}/`)) {
      const body = new URLSearchParams(String(init.body ?? ''));
      captured.push({ uri: url, logoutToken: body.get('logout_token') ?? '' });
      return new Response(null, { status: 200 });
    }
    return fetch(input, init);
  };

  const instrument = async (ctx: KoaContext, next: () => Promise<void>) => {
    if (ctx.path.startsWith('/__test/')) {
      await control(ctx);
      return;
    }
    if (ctx.method === 'POST' && ctx.path === '/token') {
      switch (fault.token) {
        case 'down':
          stats.refused++;
          ctx.status = 503;
          ctx.type = 'text/html';
          ctx.body = '<html><body>503 Service Unavailable (test fault)</body></html>';
          return;
        case 'reset':
          // workerd logs an "uncaught … Network connection lost" line for this (its own, even when
          // the fetch's rejection is handled); the test still passes.
          stats.refused++;
          ctx.req.socket.destroy();
          ctx.respond = false;
          return;
        case 'hang':
          // Answers only after `ms`, and never reaches oidc-provider: a request the gateway gave up on
          // must not rotate the refresh token behind its back.
          stats.refused++;
          await sleep(fault.ms);
          ctx.status = 504;
          ctx.type = 'text/plain';
          ctx.body = 'gateway timeout (test fault)';
          return;
        case 'hold':
          await new Promise<void>((resolve) => held.push(resolve));
          break;
        case 'pass':
          break;
      }
    }
    if (ctx.method === 'POST' && ctx.path === '/token/revocation') stats.revocation++;
    if (dpop.ignore && ctx.method === 'POST' && ctx.path === '/token') delete ctx.req.headers['dpop'];
    await next();
    if ((ctx.body as { error?: string } | undefined)?.error === 'use_dpop_nonce') dpop.nonceRefusals++;
    if (ctx.method === 'POST' && ctx.path === '/token') {
      const grant = ctx.oidc?.params?.grant_type ?? 'unknown';
      stats.token[grant] = (stats.token[grant] ?? 0) + 1;
    }
  };

  async function control(ctx: KoaContext) {
    const body = ctx.method === 'POST' ? await readJson(ctx) : {};
    ctx.type = 'application/json';
    switch (ctx.path) {
      case '/__test/stats':
        ctx.body = stats;
        return;
      case '/__test/reset':
        stats = { token: {}, refused: 0, revocation: 0 };
        fault = { token: 'pass', ms: 0 };
        for (const release of held) release();
        held = [];
        captured.length = 0;
        dpop = { nonce: false, ignore: false, nonceRefusals: 0 };
        ctx.body = { ok: true };
        return;
      case '/__test/fault':
        fault = { token: (body['token'] as TokenFault) ?? 'pass', ms: Number(body['ms'] ?? 0) };
        ctx.body = fault;
        return;
      case '/__test/held':
        ctx.body = { held: held.length };
        return;
      case '/__test/release': {
        const count = typeof body['count'] === 'number' ? Math.min(body['count'], held.length) : held.length;
        const released = held.slice(0, count);
        held = held.slice(count);
        for (const release of released) release();
        ctx.body = { released: count };
        return;
      }
      case '/__test/dpop':
        if (ctx.method === 'POST') dpop = { ...dpop, nonce: body['nonce'] === true, ignore: body['ignore'] === true };
        ctx.body = dpop;
        return;
      case '/__test/logout-tokens':
        ctx.body = captured;
        return;
      default:
        ctx.status = 404;
        ctx.body = { error: 'unknown control endpoint' };
    }
  }

  return { fetch: captureFetch, middleware: instrument, requireDpopNonce: () => dpop.nonce };
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
