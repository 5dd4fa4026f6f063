// A small, test-only OpenID issuer (runs in Node, started by test/setup/global.ts) for the NEGATIVE
// ID-token cases a real OpenID Provider will not produce: wrong iss/aud/nonce, expired tokens,
// `alg: none`, algorithm confusion, unknown or mismatched keys, missing claims, broken token responses.
//
// Tests run inside workerd and can only `fetch`, so everything is scripted over HTTP:
//
//   POST /control/codes            body: CodeScript (below)  → { code }
//        The token endpoint redeems that code ONCE (unless `reusable`) and answers what was scripted. Defaults: an ID token
//        signed RS256 with { iss: <issuer redeemed at>, aud: <client id presented>, sub: 'test-user',
//        iat: now, exp: now+300 }; every claim/header field can be overridden, `null` deletes it.
//   GET  /control/last-token-request          the last request the token endpoint received
//   GET  /control/token-requests/<code>       the request that redeemed <code> (collision-proof)
//   POST /control/issuers          body: { metadata?: {...overrides, null deletes} } → { issuer }
//        A separate issuer under /t/<id> with its own discovery document (e.g. without
//        `authorization_response_iss_parameter_supported`, with `end_session_endpoint`, with a wrong
//        `issuer` value for mix-up tests). Codes are shared; default `iss` follows where they are redeemed.
//   GET  /control/requests?since=<n>          log of every non-control request: { n, method, path }
//   POST /control/rotate-keys      body: { issuer } (a /t/<id> issuer) → { kid }: that issuer's JWKS now also
//        publishes a new RS256 key "rs-rotated-<n>"; sign mode 'rotated' signs its tokens with the newest one
//        (codes: under that kid; /control/sign: pass `header: { kid }`, the key is found by the payload's iss).
//        Per issuer, so tests that read the root JWKS never see rotated keys.
//   POST /control/sign             body: SignScript → { jwt }: any header and payload, signed with the
//        issuer's keys (or `none`, HS256, a wrong key), e.g. bearer access tokens for negative cases.
//   POST /control/faults           body: { issuer, faults: EndpointFaults } (a /t/<id> issuer): from now on its
//        discovery, JWKS, token and/or UserInfo endpoints are slow (`delayMs`), drop the connection (`reset`)
//        or answer a fixed `status`/`body` instead (test/faults). `faults: {}` heals it. Also accepted by
//        POST /control/issuers next to `metadata`.
//
// Served (at the root issuer and under every /t/<id>):
//   /.well-known/openid-configuration, /jwks (RS256 kid "rs-1" + ES256 kid "es-1"), /authorize (200,
//   never really visited), /token, /userinfo (scripted userinfo for the access token).
import { createHash, createHmac, createPublicKey, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CodeScript, EndpointFault, EndpointFaults, SignMode, SignScript, TokenRequestRecord } from './protocol';

export type { CodeScript, IdTokenScript, SignMode, TokenRequestRecord } from './protocol';

export interface RunningTestIssuer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const b64u = (data: Buffer | string) => Buffer.from(data).toString('base64url');

function applyOverrides(base: Record<string, unknown>, over: Record<string, unknown> | undefined) {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over ?? {})) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

interface StoredCode {
  script: CodeScript;
  used: boolean;
}

export async function startTestIssuer(port = 0): Promise<RunningTestIssuer> {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const wrong = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pubJwk = (k: KeyObject, kid: string, alg: string) => ({ ...(k.export({ format: 'jwk' }) as object), kid, alg, use: 'sig' });
  const jwks = { keys: [pubJwk(rsa.publicKey, 'rs-1', 'RS256'), pubJwk(ec.publicKey, 'es-1', 'ES256')] };
  const rsaPublicPem = createPublicKey(rsa.privateKey).export({ type: 'spki', format: 'pem' }) as string;
  /** Issuer → keys added by /control/rotate-keys, oldest first. */
  const rotated = new Map<string, { kid: string; privateKey: KeyObject; jwk: object }[]>();
  let rotations = 0;
  const newestRotated = (issuer: string) => rotated.get(issuer)?.at(-1);

  let base = '';
  const codes = new Map<string, StoredCode>();
  const refreshTokens = new Map<string, StoredCode>();
  const userinfos = new Map<string, { status: number; body: unknown }>();
  const tenants = new Map<string, Record<string, unknown>>(); // id → metadata overrides
  const tenantFaults = new Map<string, EndpointFaults>(); // id → endpoint faults (POST /control/faults)
  const tokenRequests: TokenRequestRecord[] = [];
  const tokenRequestsByCode = new Map<string, TokenRequestRecord>();
  const log: { n: number; method: string; path: string }[] = [];

  const metadata = (issuer: string, overrides?: Record<string, unknown>) =>
    applyOverrides(
      {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        userinfo_endpoint: `${issuer}/userinfo`,
        response_types_supported: ['code'],
        response_modes_supported: ['query', 'form_post'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        subject_types_supported: ['public'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        authorization_response_iss_parameter_supported: true,
        code_challenge_methods_supported: ['S256'],
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'email', 'email_verified', 'name', 'groups'],
      },
      overrides,
    );

  function signJwt(header: Record<string, unknown>, claims: Record<string, unknown>, mode: SignMode, hsSecret: string | null, publicKeyAs: 'pem' | 'jwk'): string {
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
    const data = Buffer.from(input);
    let sig: Buffer;
    switch (mode) {
      case 'RS256':
        sig = cryptoSign('sha256', data, rsa.privateKey);
        break;
      case 'wrong-key':
        sig = cryptoSign('sha256', data, wrong.privateKey);
        break;
      case 'rotated': {
        const key = newestRotated(String(claims.iss));
        if (!key) throw new Error('sign mode rotated: POST /control/rotate-keys for this issuer first');
        sig = cryptoSign('sha256', data, key.privateKey);
        break;
      }
      case 'ES256':
        sig = cryptoSign('sha256', data, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
        break;
      case 'none':
        return `${input}.`;
      case 'HS256-with-secret':
        sig = createHmac('sha256', hsSecret ?? '').update(data).digest();
        break;
      case 'HS256-with-public-key':
        sig = createHmac('sha256', publicKeyAs === 'jwk' ? JSON.stringify(jwks.keys[0]) : rsaPublicPem).update(data).digest();
        break;
      default:
        throw new Error(`unknown sign mode ${String(mode)}`);
    }
    return `${input}.${b64u(sig)}`;
  }

  function defaultHeader(mode: SignMode): Record<string, unknown> {
    switch (mode) {
      case 'ES256':
        return { alg: 'ES256', kid: 'es-1', typ: 'JWT' };
      case 'none':
        return { alg: 'none', typ: 'JWT' };
      case 'HS256-with-secret':
        return { alg: 'HS256', typ: 'JWT' };
      case 'HS256-with-public-key':
        return { alg: 'HS256', kid: 'rs-1', typ: 'JWT' };
      case 'rotated':
        return { alg: 'RS256', kid: 'rotated', typ: 'JWT' }; // kid replaced by the issuer's newest (answerTokens)
      default:
        return { alg: 'RS256', kid: 'rs-1', typ: 'JWT' };
    }
  }

  function decodeClient(req: IncomingMessage, params: Record<string, string>): TokenRequestRecord['client'] {
    const auth = req.headers.authorization;
    if (auth && /^basic /i.test(auth)) {
      const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      const dec = (s: string) => {
        try {
          return decodeURIComponent(s.replace(/\+/g, ' '));
        } catch {
          return s;
        }
      };
      return { method: 'client_secret_basic', id: dec(i < 0 ? decoded : decoded.slice(0, i)), secret: i < 0 ? null : dec(decoded.slice(i + 1)) };
    }
    if (params.client_assertion) return { method: 'client_assertion', id: params.client_id ?? null, secret: null };
    if (params.client_secret !== undefined) return { method: 'client_secret_post', id: params.client_id ?? null, secret: params.client_secret };
    return { method: 'none', id: params.client_id ?? null, secret: null };
  }

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(text);
  };

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  async function answerTokens(res: ServerResponse, script: CodeScript, issuer: string, client: TokenRequestRecord['client']) {
    if (script.delayMs) await new Promise((r) => setTimeout(r, script.delayMs));
    if (script.tokenStatus !== undefined || script.tokenBody !== undefined) {
      const body = script.tokenBody ?? {};
      res.writeHead(script.tokenStatus ?? 200, { 'content-type': script.tokenContentType ?? (typeof body === 'string' ? 'text/plain' : 'application/json') });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
      return;
    }
    const accessToken = script.accessToken ?? b64u(randomBytes(24));
    const now = Math.floor(Date.now() / 1000);
    const response: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer', expires_in: 300 };
    let idSub: unknown = undefined;
    if (script.idToken !== null) {
      const it = script.idToken ?? {};
      const mode = it.sign ?? 'RS256';
      const defaults: Record<string, unknown> = { iss: issuer, aud: client.id ?? 'unknown-client', sub: 'test-user', iat: now, exp: now + 300 };
      if (it.atHash === true) defaults.at_hash = b64u(createHash('sha256').update(accessToken).digest().subarray(0, 16));
      else if (typeof it.atHash === 'string') defaults.at_hash = it.atHash;
      const claims = applyOverrides(defaults, it.claims);
      idSub = claims.sub;
      const header = applyOverrides({ ...defaultHeader(mode), ...(mode === 'rotated' ? { kid: newestRotated(issuer)?.kid } : {}) }, it.header);
      response.id_token = signJwt(header, claims, mode, it.secret ?? client.secret, it.publicKeyAs ?? 'pem');
    }
    const final = applyOverrides(response, script.tokenResponse);
    // Userinfo: as scripted; by default { sub } of the ID token; `userinfo: null` = 401 for this token.
    if (script.userinfo !== undefined && script.userinfo !== null) userinfos.set(accessToken, { status: script.userinfoStatus ?? 200, body: script.userinfo });
    else if (script.userinfo === undefined && typeof idSub === 'string') userinfos.set(accessToken, { status: 200, body: { sub: idSub } });
    if (typeof final.refresh_token === 'string' && script.refresh) refreshTokens.set(final.refresh_token, { script: script.refresh, used: false });
    json(res, 200, final);
  }

  async function handleToken(req: IncomingMessage, res: ServerResponse, issuer: string) {
    if (req.method !== 'POST') return json(res, 405, { error: 'invalid_request', error_description: 'POST only' });
    const body = await readBody(req);
    const params = Object.fromEntries(new URLSearchParams(body));
    const client = decodeClient(req, params);
    const record: TokenRequestRecord = {
      code: params.code ?? null,
      refreshToken: params.refresh_token ?? null,
      issuer,
      method: req.method,
      authorization: req.headers.authorization ?? null,
      contentType: req.headers['content-type'] ?? null,
      body,
      params,
      client,
      at: Date.now(),
    };
    tokenRequests.push(record);
    if (tokenRequests.length > 200) tokenRequests.shift();
    if (params.grant_type === 'authorization_code') {
      const code = params.code ?? '';
      tokenRequestsByCode.set(code, record);
      const stored = codes.get(code);
      if (!stored || (stored.used && !stored.script.reusable)) return json(res, 400, { error: 'invalid_grant', error_description: 'unknown or already used code' });
      stored.used = true;
      if (!params.code_verifier) return json(res, 400, { error: 'invalid_grant', error_description: 'code_verifier missing' });
      if (stored.script.codeChallenge !== undefined) {
        const computed = b64u(createHash('sha256').update(params.code_verifier).digest());
        if (computed !== stored.script.codeChallenge) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      }
      return answerTokens(res, stored.script, issuer, client);
    }
    if (params.grant_type === 'refresh_token') {
      const rt = params.refresh_token ?? '';
      tokenRequestsByCode.set(`refresh:${rt}`, record);
      const stored = refreshTokens.get(rt);
      if (!stored || stored.used) return json(res, 400, { error: 'invalid_grant', error_description: 'unknown or already used refresh token' });
      stored.used = true;
      return answerTokens(res, stored.script, issuer, client);
    }
    return json(res, 400, { error: 'unsupported_grant_type' });
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, path: string, url: URL) {
    if (path === '/control/codes' && req.method === 'POST') {
      const script = JSON.parse((await readBody(req)) || '{}') as CodeScript;
      const code = b64u(randomBytes(18));
      codes.set(code, { script, used: false });
      return json(res, 200, { code });
    }
    if (path === '/control/rotate-keys' && req.method === 'POST') {
      const { issuer } = JSON.parse((await readBody(req)) || '{}') as { issuer?: string };
      const id = /\/t\/([A-Za-z0-9_-]+)$/.exec(issuer ?? '')?.[1];
      if (!issuer || !id || !tenants.has(id)) return json(res, 400, { error: 'rotate-keys needs { issuer } of a /control/issuers tenant' });
      const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const kid = `rs-rotated-${++rotations}`;
      rotated.set(issuer, [...(rotated.get(issuer) ?? []), { kid, privateKey: key.privateKey, jwk: pubJwk(key.publicKey, kid, 'RS256') }]);
      return json(res, 200, { kid });
    }
    if (path === '/control/sign' && req.method === 'POST') {
      const script = JSON.parse((await readBody(req)) || '{}') as SignScript;
      const mode = script.sign ?? 'RS256';
      const header = applyOverrides(defaultHeader(mode), script.header);
      return json(res, 200, { jwt: signJwt(header, script.claims ?? {}, mode, script.secret ?? null, script.publicKeyAs ?? 'pem') });
    }
    if (path === '/control/last-token-request') {
      const last = tokenRequests.at(-1);
      return last ? json(res, 200, last) : json(res, 404, { error: 'no token request yet' });
    }
    const byCode = /^\/control\/token-requests\/(.+)$/.exec(path);
    if (byCode) {
      const rec = tokenRequestsByCode.get(decodeURIComponent(byCode[1]!));
      return rec ? json(res, 200, rec) : json(res, 404, { error: 'no token request for that code' });
    }
    if (path === '/control/issuers' && req.method === 'POST') {
      const body = JSON.parse((await readBody(req)) || '{}') as { metadata?: Record<string, unknown>; faults?: EndpointFaults };
      const id = b64u(randomBytes(9));
      tenants.set(id, body.metadata ?? {});
      if (body.faults) tenantFaults.set(id, body.faults);
      return json(res, 200, { issuer: `${base}/t/${id}` });
    }
    if (path === '/control/faults' && req.method === 'POST') {
      const { issuer, faults } = JSON.parse((await readBody(req)) || '{}') as { issuer?: string; faults?: EndpointFaults };
      const id = /\/t\/([A-Za-z0-9_-]+)$/.exec(issuer ?? '')?.[1];
      if (!id || !tenants.has(id)) return json(res, 400, { error: 'faults needs { issuer } of a /control/issuers tenant' });
      tenantFaults.set(id, faults ?? {});
      return json(res, 200, { ok: true });
    }
    if (path === '/control/requests') {
      const since = Number(url.searchParams.get('since') ?? 0);
      return json(res, 200, log.filter((e) => e.n >= since));
    }
    return json(res, 404, { error: 'unknown control endpoint' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', base);
    if (url.pathname.startsWith('/control/')) return handleControl(req, res, url.pathname, url);
    log.push({ n: log.length, method: req.method ?? 'GET', path: url.pathname });
    const m = /^(?:\/t\/([A-Za-z0-9_-]+))?(\/.*)$/.exec(url.pathname);
    const tenantId = m?.[1];
    const rest = m?.[2] ?? url.pathname;
    if (tenantId !== undefined && !tenants.has(tenantId)) return json(res, 404, { error: 'unknown test issuer' });
    const issuer = tenantId === undefined ? base : `${base}/t/${tenantId}`;
    const endpoint = faultedEndpoint(rest);
    const fault = tenantId === undefined || endpoint === undefined ? undefined : tenantFaults.get(tenantId)?.[endpoint];
    if (fault && (await applyFault(req, res, fault))) return;
    switch (rest) {
      case '/.well-known/openid-configuration':
        return json(res, 200, metadata(issuer, tenantId === undefined ? undefined : tenants.get(tenantId)), { 'cache-control': 'max-age=300' });
      case '/jwks':
        return json(res, 200, { keys: [...jwks.keys, ...(rotated.get(issuer) ?? []).map((k) => k.jwk)] }, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=300' });
      case '/authorize':
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('test issuer: authorization endpoint (tests call the callback themselves)\n');
      case '/token':
        return handleToken(req, res, issuer);
      case '/userinfo': {
        const auth = req.headers.authorization ?? '';
        const token = /^bearer (.+)$/i.exec(auth)?.[1];
        const ui = token ? userinfos.get(token) : undefined;
        if (!ui) return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
        // A string is a signed answer (Core 5.3.2), e.g. a JWT from /control/sign.
        if (typeof ui.body === 'string') {
          res.writeHead(ui.status, { 'content-type': 'application/jwt', 'cache-control': 'no-store' });
          return res.end(ui.body);
        }
        return json(res, ui.status, ui.body);
      }
      default:
        return json(res, 404, { error: 'not found' });
    }
  }

  /** Which EndpointFaults entry a request path belongs to. */
  function faultedEndpoint(rest: string): keyof EndpointFaults | undefined {
    if (rest === '/.well-known/openid-configuration') return 'discovery';
    if (rest === '/jwks') return 'jwks';
    if (rest === '/token') return 'token';
    if (rest === '/userinfo') return 'userinfo';
    return undefined;
  }

  /** Plays a fault; true when it answered (or dropped) the request, false to go on normally (delay only). */
  async function applyFault(req: IncomingMessage, res: ServerResponse, fault: EndpointFault): Promise<boolean> {
    if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault.reset) {
      req.socket.destroy();
      return true;
    }
    if (fault.status === undefined && fault.body === undefined) return false;
    res.writeHead(fault.status ?? 200, { 'content-type': fault.contentType ?? 'text/plain' });
    res.end(fault.body ?? '');
    return true;
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${actual}`;
  return {
    url: base,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
