// Helpers for the fault suite (test/faults, run inside workerd): a misbehaving IdP (test-issuer tenants
// with endpoint faults), a KV binding that fails on demand, and what a refusal must look like.
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import type { Gateway } from '../support/gateway';

export { newIssuer, requestsTo, setFaults, testIssuer, now } from '../attacks/helpers';
export { API, NAVIGATE, header } from '../gateway/helpers';
export { captureLogs } from '../support/logs';

export const realKv = (env as unknown as { SESSIONS: KVNamespace }).SESSIONS;

export type KvOp = 'get' | 'put' | 'delete' | 'list' | 'getWithMetadata';

/**
 * The real SESSIONS namespace behind a switch: while `failing` holds an operation, that operation
 * rejects the way a KV outage does. Passed as `gateway({ SESSIONS: kv.binding })`.
 */
export function flakyKv(): { binding: KVNamespace; failing: Set<KvOp>; calls: Record<string, number> } {
  const failing = new Set<KvOp>();
  const calls: Record<string, number> = {};
  const binding = new Proxy(realKv, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        if (failing.has(prop as KvOp)) return Promise.reject(new Error(`KV ${String(prop)} failed: storage unavailable (test fault)`));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { binding, failing, calls };
}

/**
 * A refusal as it must look: the expected status and code, a short page (or JSON) carrying a request id,
 * never a stack trace, never a 500 (unless the configuration is broken), never the upstream's answer.
 */
export async function expectReadableRefusal(res: Response, status: number, code: string, as: 'html' | 'json' = 'html'): Promise<string> {
  const body = await res.text();
  expect(res.status, body.slice(0, 300)).toBe(status);
  expect(body).not.toMatch(/\n\s+at \S+|Error: /);
  expect(body).not.toContain('rawHeaders');
  if (as === 'json') {
    expect(res.headers.get('content-type')).toContain('application/json');
    const json = JSON.parse(body) as { error: string; request_id: string };
    expect(json.error).toBe(code);
    expect(json.request_id).toMatch(/^[0-9a-zA-Z-]{8,64}$/);
    return json.request_id;
  }
  expect(res.headers.get('content-type')).toContain('text/html');
  expect(body.length, 'a short page').toBeLessThan(4096);
  const footer = /Error (\w+) · request ([0-9a-zA-Z-]+)/.exec(body);
  expect(footer?.[1]).toBe(code);
  return footer![2]!;
}

/** GET through `gw` as a browser navigation and as an API client. */
export async function asBrowserAndApi(gw: Gateway, path: string): Promise<[Response, Response]> {
  const page = await gw.fetch(path, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' }, store: false });
  const api = await gw.fetch(path, { headers: { accept: 'application/json' }, store: false });
  return [page, api];
}
