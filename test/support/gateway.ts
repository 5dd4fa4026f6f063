// Drives the worker directly (no network hop): builds a Request for https://localhost<path>, attaches the
// jar's cookies, calls `worker.fetch(request, env, ctx)`, stores the Set-Cookie headers it answers and
// NEVER follows redirects. Runs inside workerd.
//
//   const gw = gateway();                                  // bindings from vitest.config.ts
//   const gw2 = gateway({ OIDC_ISSUER: env.TEST_ISSUER_URL }); // overrides; `undefined` removes a binding
//   const res = await gw.fetch('/some/page', { headers: { accept: 'text/html' } });
//
// The merged env object is built ONCE per gateway() call: the worker caches parsed configuration per env
// object, so one gateway = one configuration, and a new gateway() = a fresh one.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../src/index';
import { ORIGIN } from '../setup/constants';
import { CookieJar } from './cookies';

export type TestEnv = Record<string, unknown>;

export interface GatewayInit extends RequestInit {
  /** false: do not send the jar's cookies (the jar still stores what comes back). Default true. */
  cookies?: boolean;
  /** false: do not store the response's cookies in the jar. Default true. */
  store?: boolean;
}

export interface Gateway {
  /** A path (`/x?y`) on https://localhost, or a full URL (e.g. the callback URL the IdP redirected to). */
  fetch(pathOrUrl: string | URL, init?: GatewayInit): Promise<Response>;
  jar: CookieJar;
  /** The exact env object handed to the worker on every call of this gateway. */
  env: TestEnv;
}

/** The bindings from vitest.config.ts (IdP, upstream, secrets, TEST_ISSUER_URL). */
export const baseEnv = env as unknown as TestEnv;

type WorkerModule = { fetch(request: Request, env: TestEnv, ctx: ExecutionContext): Promise<Response> | Response };

export function gateway(overrides: Record<string, unknown> = {}, jar = new CookieJar()): Gateway {
  const merged: TestEnv = { ...baseEnv, ...overrides };
  for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete merged[k];
  const w = worker as unknown as WorkerModule;

  return {
    jar,
    env: merged,
    async fetch(pathOrUrl, init = {}) {
      const { cookies = true, store = true, ...requestInit } = init;
      const url = pathOrUrl instanceof URL ? pathOrUrl.href : /^[a-z][a-z0-9+.-]*:/i.test(pathOrUrl) ? pathOrUrl : `${ORIGIN}${pathOrUrl.startsWith('/') ? '' : '/'}${pathOrUrl}`;
      const headers = new Headers(requestInit.headers);
      if (cookies && !headers.has('cookie')) {
        const cookie = jar.header(url);
        if (cookie) headers.set('cookie', cookie);
      }
      const request = new Request(url, { ...requestInit, headers, redirect: 'manual' });
      const ctx = createExecutionContext();
      const response = await w.fetch(request, merged, ctx);
      await waitOnExecutionContext(ctx);
      if (store) jar.store(response, url);
      return response;
    },
  };
}
