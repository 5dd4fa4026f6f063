// METRICS (Workers Analytics Engine): one data point per request, written after the response, with the
// decision's outcome, error code, rule index, IdP, refresh outcome and timings — and no user identifier
// (sub, email, address, session id) nor the path, which can name a person. The binding is a stand-in
// that records `writeDataPoint` calls, the platform's API. A binding that throws never fails a request.
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { API_RESOURCE } from '../setup/constants';
import { signIn, signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { captureLogs } from '../support/logs';
import { parseSessionCookie } from '../../src/session/store';
import { newIssuer, setFaults } from '../attacks/helpers';
import { bearer } from '../routes/helpers';

const ROUTES = [
  { path: '/admin/**', auth: 'session', allow: { groups: ['admins'] } },
  { path: '/api/**', auth: 'api' },
];
const IP = '203.0.113.9';
const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'cf-connecting-ip': IP };
const API = { accept: 'application/json', 'cf-connecting-ip': IP };

interface Point {
  blobs: string[];
  doubles: number[];
  indexes: string[];
}

/** Every point written by any gateway of this file: the identifier check at the end reads them all. */
const everyPoint: Point[] = [];
/** What each test's requests must never leak into a point. */
const identifiers = new Set<string>([IP, 'alice', 'bob', 'example.com']);

function dataset() {
  const points: Point[] = [];
  return {
    points,
    binding: {
      writeDataPoint(point: Point) {
        const copy = structuredClone(point);
        points.push(copy);
        everyPoint.push(copy);
      },
    },
  };
}

/** The point's fields by the names docs/operations.md "Metrics" gives them. */
function named(point: Point | undefined) {
  if (!point) throw new Error('no data point');
  const [outcome, code, rule, idp, refresh, endpoint, via] = point.blobs;
  const [latency_ms, status, idp_ms] = point.doubles;
  return { outcome, code, rule, idp, refresh, endpoint, via, latency_ms, status, idp_ms, index: point.indexes[0] };
}

/** Sends one request and returns the one data point it wrote. */
async function pointOf(gw: Gateway, points: Point[], path: string, headers: Record<string, string>) {
  const before = points.length;
  const res = await gw.fetch(path, { headers });
  await res.arrayBuffer();
  expect(points.length - before, `exactly one data point for ${path}`).toBe(1);
  return { res, point: named(points.at(-1)) };
}

function rememberSession(gw: Gateway) {
  const handle = parseSessionCookie(gw.jar.get('__Host-edgegate'));
  if (!handle) throw new Error('not signed in');
  identifiers.add(handle.id);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('with METRICS', () => {
  it('a forward names the rule, the IdP and no refresh; sign-in itself is counted at the login and the callback', async () => {
    const { binding, points } = dataset();
    const gw = gateway({ ROUTES, METRICS: binding });
    await signIn(gw, { user: 'alice', rd: '/admin/alice-notes' });
    rememberSession(gw);
    expect(points.map(named).map((p) => [p.endpoint, p.outcome, p.status])).toEqual([
      ['login', 'ok', 302],
      ['callback', 'ok', 303],
    ]);

    const { res, point } = await pointOf(gw, points, '/admin/alice-notes', NAVIGATE);
    expect(res.status).toBe(200);
    expect(point).toMatchObject({ outcome: 'forward', code: '', rule: '0', idp: 'default', refresh: 'none', endpoint: 'gate', via: 'session', status: 200, idp_ms: 0, index: 'forward' });
    expect(point.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('403: the allow that failed is counted under its rule', async () => {
    const { binding, points } = dataset();
    const gw = gateway({ ROUTES, METRICS: binding });
    await signIn(gw, { user: 'bob' });
    rememberSession(gw);
    const { res, point } = await pointOf(gw, points, '/admin/bob-notes', NAVIGATE);
    expect(res.status).toBe(403);
    expect(point).toMatchObject({ outcome: '403', code: 'forbidden', rule: '0', idp: 'default', refresh: 'none', via: 'session', status: 403, index: '403' });
  });

  it('anonymous: a browser is sent to sign in, a program gets 401; no rule matched is rule -1', async () => {
    const { binding, points } = dataset();
    const gw = gateway({ ROUTES, METRICS: binding });
    const signInPoint = await pointOf(gw, points, '/home', NAVIGATE);
    expect(signInPoint.res.status).toBe(302);
    expect(signInPoint.point).toMatchObject({ outcome: 'sign-in', code: '', rule: '-1', idp: '', refresh: 'none', via: '', status: 302 });
    const refused = await pointOf(gw, points, '/home', API);
    expect(refused.res.status).toBe(401);
    expect(refused.point).toMatchObject({ outcome: '401', code: 'unauthenticated', rule: '-1', status: 401 });
  });

  it('bearer tokens: the 401 of an unknown token says bearer', async () => {
    const { binding, points } = dataset();
    const gw = gateway({ ROUTES, METRICS: binding, OIDC_ISSUER: inject('idpIssuerApi'), API_AUDIENCE: API_RESOURCE });
    const { res, point } = await pointOf(gw, points, '/api/x', { ...bearer('not-a-token-anyone-issued'), 'cf-connecting-ip': IP });
    expect(res.status).toBe(401);
    expect(point).toMatchObject({ outcome: '401', code: 'invalid_token', rule: '1', via: 'bearer', idp: '' });
  });

  it('5xx: the IdP down at sign-in is counted with its code, at the gate and at /_auth/login', async () => {
    const { binding, points } = dataset();
    const issuer = await newIssuer({}, { discovery: { reset: true } });
    const gw = gateway({ ROUTES, METRICS: binding, OIDC_ISSUER: issuer, IDP_TIMEOUT: '1' });
    const gate = await pointOf(gw, points, '/home', NAVIGATE);
    expect(gate.res.status).toBe(503);
    expect(gate.point).toMatchObject({ outcome: '5xx', code: 'idp_unreachable', rule: '-1', endpoint: 'gate', status: 503, index: '5xx' });
    const login = await pointOf(gw, points, '/_auth/login?rd=%2F', NAVIGATE);
    expect(login.point).toMatchObject({ outcome: '5xx', code: 'idp_unreachable', rule: '', endpoint: 'login', status: 503 });
  });

  /** Alice signed in at a fresh test issuer whose one refresh renews the tokens for an hour. */
  async function refreshable(overrides: Record<string, unknown>) {
    const { binding, points } = dataset();
    const seconds = () => Math.floor(Date.now() / 1000);
    const issuer = await newIssuer();
    const gw = gateway({ ROUTES, METRICS: binding, OIDC_ISSUER: issuer, OIDC_SCOPES: 'openid offline_access', IDP_TIMEOUT: '1', IDP_OUTAGE_GRACE: '60', ...overrides });
    const { callbackResponse } = await signInWithScript(gw, {
      idToken: { claims: { sub: 'alice' } },
      tokenResponse: { refresh_token: `rt-${crypto.randomUUID()}` },
      refresh: { idToken: { claims: { sub: 'alice', exp: seconds() + 3600 } }, tokenResponse: { refresh_token: `rt-${crypto.randomUUID()}`, expires_in: 3600 } },
    });
    expect(callbackResponse.status).toBe(303);
    rememberSession(gw);
    return { gw, issuer, points };
  }

  describe.each([
    ['coordinated', {}],
    ['KV-only', { COORDINATOR: undefined }],
  ])('refresh (%s)', (_mode, overrides) => {
    it('refreshed while the IdP answers, unavailable (then 5xx past the grace) while it does not', async () => {
      const { gw, issuer, points } = await refreshable(overrides);
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 290_000 }); // 10 s before the access token expires
      const refreshed = await pointOf(gw, points, '/page', API);
      expect(refreshed.res.status).toBe(200);
      expect(refreshed.point).toMatchObject({ outcome: 'forward', refresh: 'refreshed', via: 'session', idp: 'default' });
      expect(refreshed.point.idp_ms).toBeGreaterThanOrEqual(0);
      const steady = await pointOf(gw, points, '/page', API);
      expect(steady.point).toMatchObject({ outcome: 'forward', refresh: 'none', idp_ms: 0 });

      await setFaults(issuer, { token: { reset: true } });
      vi.setSystemTime(Date.now() + 3_600_000); // the refreshed tokens expire now: due again, the IdP is down
      const served = await pointOf(gw, points, '/page', API);
      expect(served.res.status, 'within IDP_OUTAGE_GRACE').toBe(200);
      expect(served.point).toMatchObject({ outcome: 'forward', refresh: 'unavailable' });
      vi.setSystemTime(Date.now() + 120_000); // past the grace
      const refused = await pointOf(gw, points, '/page', API);
      expect(refused.point).toMatchObject({ outcome: '5xx', refresh: 'unavailable', via: 'session' });
      expect(['idp_unreachable', 'idp_timeout']).toContain(refused.point.code);
    });

    it('two requests due at once: one refreshed, the other shared its refresh', async () => {
      const { gw, points } = await refreshable(overrides);
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 290_000 });
      const answers = await Promise.all([gw.fetch('/page', { headers: API }), gw.fetch('/page', { headers: API })]);
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
      expect(points.slice(-2).map((p) => named(p).refresh).sort()).toEqual(['refreshed', 'shared']);
    });

    it('a refresh the IdP refuses ends the session: ended, and the program is told to sign in', async () => {
      const { gw, issuer, points } = await refreshable(overrides);
      await setFaults(issuer, { token: { status: 400, body: '{"error":"invalid_grant"}', contentType: 'application/json' } });
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 290_000 });
      const ended = await pointOf(gw, points, '/page', API);
      expect(ended.res.status).toBe(401);
      expect(ended.point).toMatchObject({ outcome: '401', code: 'unauthenticated', refresh: 'ended', via: 'session', idp: 'default' });
    });
  });

  it('a binding that throws never fails a request, and is logged once', async () => {
    const gw = gateway({
      ROUTES,
      METRICS: {
        writeDataPoint() {
          throw new Error('dataset unavailable');
        },
      },
    });
    const logs = captureLogs();
    let lines: string[];
    try {
      for (let i = 0; i < 3; i++) expect((await gw.fetch('/home', { headers: NAVIGATE })).status).toBe(302);
      lines = logs.lines;
    } finally {
      logs.restore();
    }
    expect(lines.filter((line) => line.includes('"metrics_unwritable"'))).toHaveLength(1);
  });

  it('no data point of this file holds a user identifier or the path', () => {
    expect(everyPoint.length).toBeGreaterThan(10);
    const json = JSON.stringify(everyPoint).toLowerCase();
    for (const identifier of [...identifiers, '/admin', 'notes', '/home', '/page']) expect(json, identifier).not.toContain(identifier.toLowerCase());
  });
});

describe('without METRICS', () => {
  it('a var of that name is no binding: requests are served as before', async () => {
    const gw = gateway({ ROUTES, METRICS: 'yes' });
    expect((await gw.fetch('/home', { headers: NAVIGATE })).status).toBe(302);
  });
});
