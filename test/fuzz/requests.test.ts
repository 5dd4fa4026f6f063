// Fuzzing the worker with a fixed seed: thousands of random and mutated cookies, query strings, form
// bodies and headers — mostly near misses of valid values (a real session cookie, a real transaction's
// state, a real bearer token, real logout-token shapes). Whatever arrives: no 500, no exception
// escapes, no identity reaches the upstream without a valid session or token, the gateway's cookie never
// reaches the upstream, no log line carries a credential. Replays exactly: change SEED to explore.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ID } from '../setup/constants';
import type { EchoBody } from '../setup/protocol';
import { signInWithScript, startSignIn } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { captureLogs, type CapturedLogs } from '../support/logs';
import { now, signJwt, testIssuer } from '../attacks/helpers';
import { ALPHABETS, mutate, rng, type Rng } from './prng';

const SEED = 0xed6e6a7e;
const CASES_PER_KIND = 2500;
const SESSION = '__Host-edgegate';
const API_AUDIENCE = 'https://api.example/fuzz';
const ROUTES = [
  { path: '/pub/**', auth: 'public' },
  { path: '/api/**', auth: 'api' },
];
const PATHS = ['/', '/page', '/page?x=1', '/pub/x', '/api/x', '/_auth/userinfo', '/_auth/login', '/_auth/callback', '/_auth/signed-out', '/_auth/frontchannel-logout', '/_auth/nope', '/_auth/jwks'];
const IDENTITY = /^(x-user|x-forwarded-(user|email|groups|preferred-username|access-token)|x-auth-request-|remote-|x-remote-|oidc-)/i;

let gw: Gateway;
let session: string;
let bearerToken: string;
let txState: string;
let txCookie: string;
let logs: CapturedLogs;

beforeAll(async () => {
  gw = gateway({ OIDC_ISSUER: testIssuer, ROUTES, API_AUDIENCE });
  await signInWithScript(gw, { idToken: { claims: { sub: 'alice' } } });
  session = gw.jar.get(SESSION)!;
  const started = await startSignIn(gw, '/after');
  txState = started.state;
  const txName = `${SESSION}-tx-${txState.slice(0, 12)}`;
  txCookie = `${txName}=${gw.jar.get(txName)}`;
  expect(gw.jar.get(txName)).toBeTruthy();
  bearerToken = await signJwt({ header: { typ: 'at+jwt' }, claims: { iss: testIssuer, aud: API_AUDIENCE, sub: 'svc', iat: now(), exp: now() + 3600 } });
  logs = captureLogs();
});

afterAll(() => {
  logs?.restore();
});

/** Header values must be ASCII (workerd warns on anything else): other characters are percent-encoded. */
const ascii = (s: string) => s.replace(/[^\t\x20-\x7e]/gu, (c) => encodeURIComponent(c));

function cookieHeader(r: Rng): string {
  const parts: string[] = [];
  const count = 1 + r.int(5);
  for (let i = 0; i < count; i++) {
    switch (r.int(7)) {
      case 0:
        parts.push(`${SESSION}=${session}`);
        break;
      case 1:
        parts.push(`${SESSION}=${mutate(r, session)}`);
        break;
      case 2:
        parts.push(`${mutate(r, SESSION)}=${r.chance(0.5) ? session : mutate(r, session)}`);
        break;
      case 3:
        parts.push(r.chance(0.5) ? txCookie : mutate(r, txCookie));
        break;
      case 4:
        parts.push(`${r.string(ALPHABETS.b64url, 1 + r.int(8))}=${r.string(ALPHABETS.printable, r.int(40))}`);
        break;
      case 5:
        parts.push(`pref=a, ${SESSION}=${session}`);
        break;
      default:
        parts.push(r.string(ALPHABETS.printable + ALPHABETS.unicode, r.int(60)));
    }
  }
  return ascii(parts.join(r.pick(['; ', ';', ', ', ' ; ', ';;'])));
}

function queryString(r: Rng): string {
  const names = ['code', 'state', 'iss', 'error', 'error_description', 'rd', 'sid', 'session_state', 'login_hint', 'prompt', 'response', 'id_token', 'x'];
  const values = () =>
    r.pick([
      () => txState,
      () => mutate(r, txState),
      () => testIssuer,
      () => mutate(r, testIssuer),
      () => r.string(ALPHABETS.printable + ALPHABETS.unicode, r.int(50)),
      () => mutate(r, '/some/path?q=1'),
      () => mutate(r, '//evil.example'),
      () => r.string(ALPHABETS.special, r.int(10)),
      () => 'access_denied',
      () => '',
    ])();
  const params: string[] = [];
  for (let i = 0, n = r.int(6); i < n; i++) {
    const name = r.chance(0.9) ? r.pick(names) : r.string(ALPHABETS.special + ALPHABETS.b64url, r.int(6));
    const value = values();
    params.push(r.chance(0.8) ? `${encodeURIComponent(name)}=${encodeURIComponent(value)}` : `${name}=${value.replace(/#/g, '%23')}`);
  }
  return params.join(r.pick(['&', '&', ';', '&&']));
}

function formBody(r: Rng): { body: string; type: string } {
  const logoutLike = () =>
    mutate(r, `${btoa(JSON.stringify({ alg: r.pick(['RS256', 'none', 'HS256', 'ES256']), kid: r.pick(['rs-1', 'x']) })).replace(/=+$/, '')}.${btoa(JSON.stringify({ iss: testIssuer, aud: CLIENT_ID, sub: 'alice', jti: 'j' })).replace(/=+$/, '')}.sig`);
  const fields: string[] = [];
  for (let i = 0, n = r.int(5); i < n; i++) {
    const name = r.pick(['logout_token', 'logout_token', 'code', 'state', 'iss', 'csrf', r.string(ALPHABETS.printable, r.int(8))]);
    const value = r.pick([logoutLike, () => r.string(ALPHABETS.printable + ALPHABETS.unicode, r.int(80)), () => txState, () => mutate(r, bearerToken)])();
    fields.push(`${encodeURIComponent(name)}=${r.chance(0.8) ? encodeURIComponent(value) : value}`);
  }
  const type = r.pick(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', '']);
  return { body: fields.join('&'), type };
}

function randomHeaders(r: Rng): Headers {
  const headers = new Headers();
  const names = [
    'authorization', 'authorization', 'cookie', 'accept', 'sec-fetch-mode', 'sec-fetch-site', 'x-requested-with', 'content-type', 'connection', 'upgrade',
    'x-user', 'X_User', 'x-forwarded-user', 'remote_user', 'x-auth-request-email', 'x-forwarded-for', 'x-forwarded-host', 'forwarded', 'x-original-url',
    'x-rewrite-url', 'cf-connecting-ip', 'cf-ray', 'origin', 'access-control-request-method', 'te', 'transfer-encoding', 'x-http-method-override', 'oidc_claim_sub',
  ];
  for (let i = 0, n = 1 + r.int(6); i < n; i++) {
    const name = r.chance(0.9) ? r.pick(names) : `x-${r.string(ALPHABETS.b64url, 1 + r.int(10))}`;
    const value = r.pick([
      () => `Bearer ${bearerToken}`,
      () => `Bearer ${mutate(r, bearerToken)}`,
      () => mutate(r, `Bearer ${bearerToken}`),
      () => cookieHeader(r),
      () => r.pick(['text/html', 'application/json', '*/*', 'navigate', 'cors', 'same-origin', 'cross-site', 'websocket', 'XMLHttpRequest', 'keep-alive, x-user', 'GET']),
      () => r.string(ALPHABETS.printable, r.int(80)),
      () => 'alice',
    ])();
    try {
      headers.append(name, ascii(value).trim());
    } catch {
      // a value the Headers API itself refuses never reaches the worker
    }
  }
  return headers;
}

function randomPath(r: Rng): string {
  const base = r.pick(PATHS);
  if (r.chance(0.7)) return base;
  return mutate(r, base).replace(/#/g, '%23').replace(/\?/g, r.chance(0.5) ? '?' : '%3F');
}

interface Outcome {
  what: string;
  res: Response;
  /** The request carried the exact valid session cookie (necessary for an identity from a session). */
  hadSession: boolean;
  /** The request carried the exact valid bearer token (necessary for an identity from a token). */
  hadBearer: boolean;
}

async function send(what: string, path: string, init: RequestInit): Promise<Outcome> {
  const headers = new Headers(init.headers);
  const cookie = headers.get('cookie') ?? '';
  const authorization = headers.get('authorization') ?? '';
  let res: Response;
  try {
    res = await gw.fetch(path.startsWith('/') ? path : `/${path}`, { ...init, headers, cookies: false, store: false });
  } catch (error) {
    // Only a request the runtime itself cannot build (e.g. an invalid URL) may throw, never the gateway.
    if (error instanceof TypeError && /URL|header/i.test(error.message)) return { what, res: new Response(null, { status: 400 }), hadSession: false, hadBearer: false };
    throw new Error(`${what}: an exception escaped: ${String(error)}`);
  }
  return {
    what,
    res,
    // As RFC 6265 5.2 reads a cookie: name and value trimmed of whitespace around them.
    hadSession: cookie.split(';').some((c) => c.includes('=') && c.slice(0, c.indexOf('=')).trim() === SESSION && c.slice(c.indexOf('=') + 1).trim() === session),
    hadBearer: /^bearer +(\S+)$/i.exec(authorization.trim())?.[1] === bearerToken,
  };
}

/** What the fuzz reached, by kind of answer: proves the cases get past the first checks. */
const reached = new Map<string, number>();
const tally = (key: string) => reached.set(key, (reached.get(key) ?? 0) + 1);

async function check({ what, res, hadSession, hadBearer }: Outcome): Promise<void> {
  const text = await res.text();
  tally(String(res.status));
  expect(res.status, `${what}\n${text.slice(0, 300)}`).not.toBe(500);
  expect(text, what).not.toMatch(/\n\s+at \S+ \(/);
  if (res.status !== 200 || !text.includes('"rawHeaders"')) {
    if (res.status === 200 && res.headers.get('content-type')?.includes('application/json') && text.includes('"sub"')) {
      expect(hadSession, `${what}: /_auth/userinfo answered without the session`).toBe(true);
    }
    return;
  }
  const echo = JSON.parse(text) as EchoBody;
  const identity: [string, string][] = [];
  for (let i = 0; i < echo.rawHeaders.length; i += 2) {
    if (IDENTITY.test(echo.rawHeaders[i]!)) identity.push([echo.rawHeaders[i]!.toLowerCase(), echo.rawHeaders[i + 1]!]);
  }
  tally(identity.length === 0 ? 'forwarded anonymously' : `forwarded as ${identity[0]![1]}`);
  for (const [name, value] of identity) {
    expect(name, `${what}: only the gateway's X-User`).toBe('x-user');
    if (value === 'alice') expect(hadSession, `${what}: X-User alice without the session cookie`).toBe(true);
    else expect([value, hadBearer], `${what}: X-User ${value}`).toEqual(['svc', true]);
  }
  // (Other headers are the client's to fill: a session value pasted into X-Foo is forwarded as X-Foo.)
  const cookies = String(echo.headers['cookie'] ?? '').split(/[;,]/).map((c) => c.trim());
  expect(cookies.some((c) => c.startsWith(`${SESSION}=`) || c.startsWith(`${SESSION}-tx-`)), `${what}: a gateway cookie reached the upstream`).toBe(false);
}

describe(`fuzz (seed ${SEED.toString(16)})`, () => {
  it(`${CASES_PER_KIND} random and mutated cookie headers`, async () => {
    const r = rng(SEED);
    for (let i = 0; i < CASES_PER_KIND; i++) {
      const cookie = cookieHeader(r);
      let path = r.pick(PATHS);
      if (path === '/_auth/callback') path += `?state=${encodeURIComponent(r.chance(0.5) ? txState : mutate(r, txState))}&code=${r.string(ALPHABETS.b64url, 8)}&iss=${encodeURIComponent(testIssuer)}`;
      const accept = r.pick(['text/html', 'application/json', '*/*']);
      await check(await send(`cookie #${i} ${path} ${JSON.stringify(cookie).slice(0, 1000)}`, path, { headers: { cookie, accept } }));
    }
  });

  it(`${CASES_PER_KIND} random and mutated query strings (callback, login, signed-out, front-channel logout, pages)`, async () => {
    const r = rng(SEED + 1);
    for (let i = 0; i < CASES_PER_KIND; i++) {
      const path = `${r.pick(['/_auth/callback', '/_auth/callback', '/_auth/login', '/_auth/signed-out', '/_auth/frontchannel-logout', '/_auth/logout', '/page', '/pub/x'])}?${queryString(r)}`;
      // Logout only as a cross-site GET (a confirmation page): a real logout would end the fuzzer's session.
      const headers: Record<string, string> = { accept: r.pick(['text/html', 'application/json']), 'sec-fetch-site': 'cross-site' };
      if (r.chance(0.5)) headers['cookie'] = r.chance(0.5) ? txCookie : `${txCookie}; ${SESSION}=${session}`;
      await check(await send(`query #${i} ${path.slice(0, 300)}`, path, { headers }));
    }
  });

  it(`${CASES_PER_KIND} random and mutated form bodies`, async () => {
    const r = rng(SEED + 2);
    for (let i = 0; i < CASES_PER_KIND; i++) {
      const { body, type } = formBody(r);
      const path = r.pick(['/_auth/backchannel-logout', '/_auth/backchannel-logout', '/_auth/callback', '/page', '/pub/x', '/api/x', '/_auth/login']);
      const headers: Record<string, string> = { accept: r.pick(['text/html', 'application/json']) };
      if (type) headers['content-type'] = type;
      if (r.chance(0.3)) headers['cookie'] = ascii(`${SESSION}=${r.chance(0.5) ? session : mutate(r, session)}`);
      await check(await send(`form #${i} POST ${path} ${type} ${body.slice(0, 200)}`, path, { method: r.pick(['POST', 'POST', 'PUT', 'PATCH', 'DELETE']), headers, body }));
    }
  });

  it(`${CASES_PER_KIND} random and mutated headers and paths`, async () => {
    const r = rng(SEED + 3);
    for (let i = 0; i < CASES_PER_KIND; i++) {
      const headers = randomHeaders(r);
      let path = randomPath(r);
      if (r.chance(0.1)) {
        // A genuine bearer token among hostile headers: its identity, and only its, may pass.
        headers.set('authorization', r.chance(0.7) ? `Bearer ${bearerToken}` : `bearer  ${bearerToken}`);
        path = '/api/x';
      }
      const method = r.pick(['GET', 'GET', 'HEAD', 'OPTIONS', 'POST']);
      await check(await send(`headers #${i} ${method} ${path} ${JSON.stringify([...headers]).slice(0, 300)}`, path, { method, headers, ...(method === 'POST' ? { body: 'a=1' } : {}) }));
    }
  });

  it('reached every kind of answer: forwarded with and without identity, redirects, refusals', () => {
    const counts = Object.fromEntries(reached);
    for (const key of ['forwarded anonymously', 'forwarded as alice', 'forwarded as svc', '200', '302', '400', '401', '404']) {
      expect(counts[key] ?? 0, `${key} in ${JSON.stringify(counts)}`).toBeGreaterThan(10);
    }
  });

  it('left no credential in any log line, and every line is structured JSON', () => {
    expect(logs.lines.length).toBeGreaterThan(100);
    const entries = logs.entries();
    expect(entries.every((e) => typeof e['event'] === 'string' && typeof e['level'] === 'string')).toBe(true);
    for (const line of logs.lines) {
      expect(line).not.toContain(session);
      expect(line).not.toContain(session.split('.')[1]!);
      expect(line).not.toContain(bearerToken);
      expect(line).not.toContain(txCookie.split('=').slice(1).join('='));
    }
  });
});
