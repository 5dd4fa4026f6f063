// Cold start in Node 22: one fresh process per sample, so nothing is compiled or cached yet. Times, in
// this order: loading the minified module (parse + compile + evaluate), the first request (for the
// gateway: config validation, the KV read, key derivation, decryption, the identity headers — every
// per-isolate cache empty), and the second request (caches warm). Upstream and KV are in-memory stubs,
// as in the in-process bench, so no I/O is timed. The peer (@hono/oidc-auth) sends its own session
// cookie instead of the gateway's and reads its settings from process.env (hono/adapter's `env()` in
// Node), set here before its module loads.
//
// argv: <bundle.mjs> <setup.json> <gateway|passthrough|peer|config>; prints JSON on stdout.

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [modulePath, setupPath, kind] = process.argv.slice(2);
const setup = JSON.parse(readFileSync(setupPath, 'utf8'));
const browser = JSON.parse(readFileSync(new URL('../fixtures/browser-request.json', import.meta.url), 'utf8'));
const upstreamFixture = JSON.parse(readFileSync(new URL('../fixtures/upstream-response.json', import.meta.url), 'utf8'));

/** The KV calls the gateway makes, from a Map (bench/workers/memory-kv.ts, in plain JS). */
class Kv {
  constructor(entries) {
    this.data = new Map(Object.entries(entries));
  }
  async get(key, type) {
    const one = (k) => {
      const value = this.data.get(k) ?? null;
      return value !== null && (type === 'json' || type?.type === 'json') ? JSON.parse(value) : value;
    };
    // A list of keys is KV's bulk read: a Map of every key to its value or null.
    return Array.isArray(key) ? new Map(key.map((k) => [k, one(k)])) : one(key);
  }
  async getWithMetadata(key, type) {
    return { value: await this.get(key, type), metadata: null };
  }
  async put(key, value) {
    this.data.set(key, String(value));
  }
  async delete(key) {
    this.data.delete(key);
  }
  async list() {
    return { keys: [], list_complete: true, cacheStatus: null };
  }
}

const body = 'x'.repeat(upstreamFixture.bodyBytes);
globalThis.fetch = async (input, init) => {
  const request = new Request(input, init);
  return new Response(body, { status: upstreamFixture.status, headers: upstreamFixture.headers, statusText: request.method === 'GET' ? 'OK' : '' });
};

if (kind === 'peer') Object.assign(process.env, setup.peerBindings);

const ms = (start) => performance.now() - start;
const t0 = performance.now();
const mod = await import(pathToFileURL(modulePath).href);
const loadMs = ms(t0);

const headers = [...browser.headers, ['cookie', `${kind === 'peer' ? setup.peerCookie : setup.sessionCookie}; ${browser.siteCookie}`]];
const request = () => new Request(`${setup.origin}/`, { headers });
const out = { loadMs };
if (kind === 'config') {
  // Config validation alone: the first parse (its code compiled on first use) and a second one.
  const env = { ...setup.bindings, SESSIONS: new Kv({}) };
  let t = performance.now();
  const first = mod.parseConfig(env);
  out.firstMs = ms(t);
  t = performance.now();
  mod.parseConfig({ ...env });
  out.secondMs = ms(t);
  if ('problems' in first) throw new Error(`config: ${JSON.stringify(first.problems)}`);
} else {
  const env = { ...setup.bindings, SESSIONS: new Kv(setup.kv) };
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} };
  const call = kind === 'gateway' ? () => mod.default.fetch(request(), env, ctx) : () => mod.default.fetch(request(), kind === 'peer' ? setup.peerBindings : { UPSTREAM_URL: setup.upstreamUrl }, ctx);
  let t = performance.now();
  const first = await call();
  out.firstMs = ms(t);
  t = performance.now();
  const second = await call();
  out.secondMs = ms(t);
  if (first.status !== 200 || second.status !== 200) throw new Error(`${kind}: first request ${first.status}, second ${second.status}`);
}
process.stdout.write(JSON.stringify(out));
