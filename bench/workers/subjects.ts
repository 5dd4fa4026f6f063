/**
 * What the in-process CPU benchmark runs, shared by workerd (inprocess.ts) and Node
 * (lib/inprocess-node.mjs): the production gateway (src/index.ts, unchanged) and the bare
 * pass-through, called as plain functions on the same request, with
 * - a stub KV (a Map holding the real sealed session the bench signed in for), and
 * - a stub upstream: global `fetch` answers from memory, so no I/O happens inside a timed call.
 * The closest peer (peer.ts, @hono/oidc-auth) is called the same way on the same request, with its
 * own session cookie (from a real sign-in through it) in place of the gateway's.
 * Plus a few isolated building blocks of the gateway's hot path, reimplemented with the same
 * parameters as src/ so that a change there cannot break the bench (a mismatch shows as "n/a").
 */
import { SignJWT } from 'jose';
import gateway from '../../src/index';
import { endpointFor, routingPath } from '../../src/app';
import { MemoryKv } from './memory-kv';
import { passThrough } from './passthrough';
import peer, { type PeerEnv } from './peer';
import browser from '../fixtures/browser-request.json';
import upstreamFixture from '../fixtures/upstream-response.json';

export interface Setup {
  /** The gateway's public origin at sign-in, e.g. http://127.0.0.1:8787. */
  origin: string;
  /** `edgegate=<id>.<secret>`, as the callback set it. */
  sessionCookie: string;
  /** KV contents to preload (the sealed session under `session:<id>`). */
  kv: Record<string, string>;
  /** The gateway's settings, as in the end-to-end run. */
  bindings: Record<string, unknown>;
  upstreamUrl: string;
  publicPath: string;
  /** Who signed in: the X-User the stub upstream must see. */
  user: string;
  /** The peer's session cookie, `oidc-auth=<JWT>`, from a sign-in through it. */
  peerCookie: string;
  /** The peer's settings (its env). */
  peerBindings: PeerEnv;
  /**
   * Which subjects this process or isolate runs: the gateway's (default) or the peer's. Never both in
   * one: the gateway (hono/tiny) and the peer (hono) share Hono's code, and a second app's calls make
   * that code's inline caches polymorphic, slowing whichever is measured (~15 µs in Node).
   */
  group?: 'gateway' | 'peer';
}

/** The peer's subject, by name (run.mjs and report.mjs use the same string). */
export const PEER_SUBJECT = 'peer (@hono/oidc-auth): signed-in GET';

export { MemoryKv };
export type Subject = () => unknown;

export interface Bench {
  /** Timed whole-request subjects, by name. */
  subjects: Record<string, Subject>;
  /** Timed building blocks of the gateway's hot path, by name (missing = could not be set up). */
  components: Record<string, Subject>;
  /** Facts found while setting up (sizes, what the stub upstream saw). */
  facts: Record<string, unknown>;
  kv: MemoryKv;
  upstream: { requests: number; lastUser: string | null };
  /** Settles ctx.waitUntil work the gateway left behind. */
  settle(): Promise<void>;
  /**
   * Sends `n` requests, each with a session cookie of its own that opens nothing (a fresh id and
   * secret: a KV miss), as a client guessing cookies would: what the isolate keeps per bad credential
   * shows in the heap afterwards. Each is answered 401 by the gateway.
   */
  badCookies(n: number): Promise<void>;
}

const UPSTREAM_BODY = `<!DOCTYPE html><html><head><title>bench</title></head><body>${'x'.repeat(upstreamFixture.bodyBytes - 80)}</body></html>`;

export async function createBench(setup: Setup): Promise<Bench> {
  const kv = new MemoryKv();
  for (const [key, value] of Object.entries(setup.kv)) kv.seed(key, value);

  const upstream = { requests: 0, lastUser: null as string | null };
  // The stub upstream. A real fetch() parses the URL and copies the headers before any I/O;
  // `new Request` does the same here, so both handlers pay that part of the cost.
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    upstream.requests++;
    upstream.lastUser = request.headers.get('x-user');
    return new Response(UPSTREAM_BODY, { status: upstreamFixture.status, headers: upstreamFixture.headers as [string, string][] });
  };

  const env = { ...setup.bindings, SESSIONS: kv as unknown as KVNamespace };
  const pendingWork: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (p: Promise<unknown>) => void pendingWork.push(p),
    passThroughOnException() {},
    props: {},
  } as unknown as ExecutionContext;
  const upstreamUrl = new URL(setup.upstreamUrl);

  // The same gateway with X-User-Jwt on (ASSERTION_KEY): shows what the signed assertion costs per
  // request once its per-request-line cache is warm (issue 9: no signature per request).
  const assertionKey = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const envWithAssertion = { ...env, ASSERTION_KEY: JSON.stringify({ ...(await crypto.subtle.exportKey('jwk', assertionKey.privateKey)), alg: 'ES256', kid: 'bench' }) };
  const signedInHeaders: [string, string][] = [...(browser.headers as [string, string][]), ['cookie', `${setup.sessionCookie}; ${browser.siteCookie}`]];
  const anonymousHeaders: [string, string][] = [...(browser.headers as [string, string][]), ['cookie', browser.siteCookie]];
  const pageUrl = `${setup.origin}/`;
  const assetUrl = `${setup.origin}${setup.publicPath}`;
  const peerHeaders: [string, string][] = [...(browser.headers as [string, string][]), ['cookie', `${setup.peerCookie}; ${browser.siteCookie}`]];
  // In Node, hono/adapter's env() hands the peer process.env, not the env argument (in workerd: the env).
  const nodeProcess = (globalThis as { process?: { env: Record<string, string | undefined> } }).process;
  if (nodeProcess && setup.group === 'peer') Object.assign(nodeProcess.env, setup.peerBindings);

  const forPeer = setup.group === 'peer';
  const subjects: Record<string, Subject> = {
    // The harness alone: build the request, answer from the stub. Both handlers include this.
    'stub upstream only': () => fetch(new Request(pageUrl, { headers: signedInHeaders })),
    'pass-through': () => passThrough(new Request(pageUrl, { headers: signedInHeaders }), upstreamUrl),
    ...(forPeer
      ? { [PEER_SUBJECT]: () => peer.fetch(new Request(pageUrl, { headers: peerHeaders }), setup.peerBindings, ctx) }
      : {
          'gateway: signed-in GET': () => gateway.fetch(new Request(pageUrl, { headers: signedInHeaders }), env, ctx),
          'gateway: public GET': () => gateway.fetch(new Request(assetUrl, { headers: anonymousHeaders }), env, ctx),
          'gateway: public GET + session cookie': () => gateway.fetch(new Request(assetUrl, { headers: signedInHeaders }), env, ctx),
          'gateway: signed-in GET + X-User-Jwt': () => gateway.fetch(new Request(pageUrl, { headers: signedInHeaders }), envWithAssertion, ctx),
        }),
  };

  // Check once, untimed, that each subject does what its name says.
  const facts: Record<string, unknown> = {};
  const check = async (name: string, wantUser: string | null) => {
    const before = upstream.requests;
    const response = (await subjects[name]!()) as Response;
    if (response.status !== 200 || upstream.requests !== before + 1) {
      throw new Error(`in-process "${name}": expected 200 from the stub upstream, got ${response.status} ${response.headers.get('location') ?? ''}`);
    }
    if (wantUser !== null && upstream.lastUser !== wantUser) {
      throw new Error(`in-process "${name}": the upstream saw X-User ${String(upstream.lastUser)}, expected ${wantUser} (session not accepted?)`);
    }
    if (wantUser === null && upstream.lastUser !== null) throw new Error(`in-process "${name}": unexpected X-User ${upstream.lastUser}`);
  };
  await check('pass-through', null);
  if (forPeer) {
    // 200 from the stub upstream and exactly one fetch: a refresh at the IdP would be a second fetch,
    // and a cookie the peer does not accept a redirect to the IdP.
    await check(PEER_SUBJECT, null);
  } else {
    await check('gateway: signed-in GET', setup.user);
    await check('gateway: public GET', null);
    await check('gateway: signed-in GET + X-User-Jwt', setup.user);
  }
  kv.reads = 0;
  kv.writes = 0;

  const components: Record<string, Subject> = forPeer ? {} : await hotPathComponents(setup, kv, facts);
  // What X-User-Jwt would cost without its cache: one ES256 signature per request.
  if (!forPeer) components['sign one ES256 JWT (what the assertion cache saves)'] = () =>
    new SignJWT({ sub: setup.user, htm: 'GET', htu: pageUrl }).setProtectedHeader({ alg: 'ES256' }).setIssuedAt().setExpirationTime('60s').sign(assertionKey.privateKey);
  return {
    subjects,
    components,
    facts,
    kv,
    upstream,
    async settle() {
      await Promise.allSettled(pendingWork.splice(0));
    },
    async badCookies(n: number) {
      const name = setup.sessionCookie.slice(0, setup.sessionCookie.indexOf('='));
      const random = (bytes: number) => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes)))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      for (let i = 0; i < n; i++) {
        // As a script's fetch (sec-fetch-mode: cors): a 401 from the gateway itself, no sign-in (no IdP).
        const headers: [string, string][] = [
          ...(browser.headers as [string, string][]).filter(([h]) => h !== 'sec-fetch-mode'),
          ['sec-fetch-mode', 'cors'],
          ['cookie', `${name}=${random(16)}.${random(32)}; ${browser.siteCookie}`],
        ];
        const response = await gateway.fetch(new Request(pageUrl, { headers }), env, ctx);
        await response.body?.cancel();
        if (i % 500 === 0) await Promise.allSettled(pendingWork.splice(0));
      }
      await Promise.allSettled(pendingWork.splice(0));
    },
  };
}

// ---- building blocks ------------------------------------------------------------------------------

const utf8 = new TextEncoder();

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** As src/session/store.ts derives a session's key: HKDF-SHA-256(SESSION_SECRET ‖ per-session secret). */
async function deriveSessionKey(serverSecret: string, id: string, perSession: string): Promise<CryptoKey> {
  const a = utf8.encode(serverSecret);
  const b = fromBase64Url(perSession);
  const ikm = new Uint8Array(a.length + b.length);
  ikm.set(a, 0);
  ikm.set(b, a.length);
  const base = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8.encode(`edgegate/session/v1/${id}`) },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** As src/crypto/aead.ts opens a sealed value: `v1.` + base64url(iv ‖ ciphertext), AAD = KV key. */
async function openSealed(key: CryptoKey, sealed: string, aad: string): Promise<string> {
  const bytes = fromBase64Url(sealed.slice(3));
  const plaintext = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.subarray(0, 12), additionalData: utf8.encode(aad) }, key, bytes.subarray(12));
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(plaintext);
}

async function hotPathComponents(setup: Setup, kv: MemoryKv, facts: Record<string, unknown>): Promise<Record<string, Subject>> {
  const components: Record<string, Subject> = {};
  const cookieValue = setup.sessionCookie.slice(setup.sessionCookie.indexOf('=') + 1);
  const [id = '', perSession = ''] = cookieValue.split('.');
  const kvKey = `session:${id}`;
  const sealed = kv.data.get(kvKey)?.value ?? '';
  const secret = String(setup.bindings['SESSION_SECRET']).split(',')[0]!.trim();
  facts['sealedSessionBytes'] = sealed.length;

  components['HKDF: derive the session key (importKey + deriveKey)'] = () => deriveSessionKey(secret, id, perSession);

  let plaintext: string | null = null;
  try {
    const key = await deriveSessionKey(secret, id, perSession);
    plaintext = await openSealed(key, sealed, kvKey);
    components['AES-GCM: open the sealed session (base64url + decrypt + UTF-8)'] = () => openSealed(key, sealed, kvKey);
  } catch {
    facts['sessionFormat'] = 'the sealed session did not open with the recipe of src/session/store.ts as of this bench: decrypt/JSON components skipped';
  }
  if (plaintext !== null) {
    const text = plaintext;
    facts['sessionPlaintextBytes'] = text.length;
    const session = JSON.parse(text) as Record<string, unknown>;
    facts['sessionFieldBytes'] = Object.fromEntries(Object.entries(session).map(([k, v]) => [k, JSON.stringify(v ?? null).length]));
    components['JSON.parse of the session'] = async () => JSON.parse(text);
  }

  components['KV get from the in-memory stub'] = () => kv.get(kvKey, 'text');

  // The gateway's routing (src/app.ts): the path as matched, then the endpoint table.
  const pageUrl = `${setup.origin}/some/page?q=1`;
  const headers = browser.headers as [string, string][];
  const pagePath = new URL(pageUrl).pathname;
  components['Routing: endpointFor(routingPath(pathname)) (src/app.ts)'] = async () => endpointFor('GET', routingPath(pagePath));

  components['new URL(request.url)'] = async () => new URL(pageUrl);
  const incoming = new Headers([...headers, ['cookie', `${setup.sessionCookie}; x=1`]]);
  // Ways to build the upstream's headers; in workerd every Headers call crosses into C++.
  const added: [string, string][] = [
    ['x-forwarded-host', '127.0.0.1:8787'], ['x-forwarded-proto', 'http'], ['x-forwarded-scheme', 'http'], ['x-forwarded-ssl', 'off'],
    ['x-forwarded-port', '8787'], ['x-forwarded-for', '192.0.2.1'], ['x-real-ip', '192.0.2.1'], ['true-client-ip', '192.0.2.1'],
    ['x-user', 'alice'], ['x-user-email', 'alice@example.com'], ['x-user-name', 'Alice'],
  ];
  components['Headers: copy one by one, filtering, then append 11'] = async () => {
    const out = new Headers();
    for (const [name, value] of incoming) {
      if (name.toLowerCase().replace(/_/g, '-').startsWith('x-user')) continue;
      out.append(name, value);
    }
    for (const [name, value] of added) out.append(name, value);
    return out;
  };
  const cloneStripAnd = (add: 'set' | 'append') => async () => {
    const out = new Headers(incoming);
    for (const name of incoming.keys()) {
      if (name.startsWith('x-user') || name.startsWith('x_user')) out.delete(name);
    }
    for (const [name, value] of added) out[add](name, value);
    return out;
  };
  components['Headers: clone whole, walk names, delete matches, then set 11'] = cloneStripAnd('set');
  components['Headers: clone whole, walk names, delete matches, then append 11 (as src/proxy)'] = cloneStripAnd('append');
  // UPSTREAM_TIMEOUT's per-request timer (proxy/forward.ts), armed and cleared.
  components['setTimeout + clearTimeout'] = async () => clearTimeout(setTimeout(() => undefined, 30_000));
  return components;
}
