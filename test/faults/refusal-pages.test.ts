// Errors people can read: every kind of refusal answers its status with a short HTML page for browsers
// or JSON for programs, both carrying a request id, and writes one structured JSON log line with that
// id for the operator. Nothing answers 500 except a broken configuration, and nothing shows a stack.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearProviderCache } from '../../src/oidc/provider';
import { callback, scriptCode, signInWithScript, startSignIn } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import type { CapturedLogs } from '../support/logs';
import { API, NAVIGATE, captureLogs, expectReadableRefusal, flakyKv, newIssuer, now, setFaults, testIssuer } from './helpers';
import { signJwt } from '../attacks/helpers';

const API_AUDIENCE = 'https://api.example/refusals';
const ROUTES = [
  { path: '/admin/**', auth: 'session', allow: { groups: ['admins'] } },
  { path: '/api/scoped/**', auth: 'api', scopes: ['orders:write'] },
  { path: '/api/mfa/**', auth: 'api', acr_values: ['mfa'] },
  { path: '/api/**', auth: 'api' },
];

let logs: CapturedLogs;
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => logs.restore());

const at = (overrides: Record<string, unknown> = {}) => gateway({ OIDC_ISSUER: testIssuer, API_AUDIENCE, ROUTES, ...overrides });

async function signedIn(overrides: Record<string, unknown> = {}): Promise<Gateway> {
  const gw = at(overrides);
  const { callbackResponse } = await signInWithScript(gw, { idToken: { claims: { sub: 'alice', groups: ['staff'] } } });
  expect(callbackResponse.status).toBe(303);
  return gw;
}

const bearer = async (claims: Record<string, unknown>) =>
  `Bearer ${await signJwt({ header: { typ: 'at+jwt' }, claims: { iss: testIssuer, aud: API_AUDIENCE, sub: 'svc', iat: now(), exp: now() + 300, ...claims } })}`;

type Case = [label: string, status: number, code: string, as: 'html' | 'json', run: () => Promise<Response>];

const cases: Case[] = [
  ['an ambiguous path', 400, 'path_invalid', 'html', () => at().fetch('/a%2fb', { headers: NAVIGATE })],
  ['an ambiguous path (program)', 400, 'path_invalid', 'json', () => at().fetch('/a%2fb', { headers: API })],
  ['an unknown gateway endpoint', 404, 'not_found', 'html', () => at().fetch('/_auth/nope', { headers: NAVIGATE })],
  ['plain HTTP off loopback', 400, 'https_required', 'html', () => at().fetch('http://example.com/x', { headers: NAVIGATE })],
  ['a callback without state', 400, 'signin_state_invalid', 'html', () => at().fetch('/_auth/callback?code=abc', { headers: NAVIGATE })],
  ['a callback without state (program)', 400, 'signin_state_invalid', 'json', () => at().fetch('/_auth/callback?code=abc', { headers: API })],
  ['a callback from another issuer (mix-up)', 400, 'callback_invalid', 'html', async () => {
    const gw = at();
    const { state } = await startSignIn(gw);
    return callback(gw, { code: await scriptCode(testIssuer), state, iss: 'https://evil.example' });
  }],
  ['the user denied consent', 403, 'idp_denied', 'html', async () => {
    const gw = at();
    const { state } = await startSignIn(gw);
    return callback(gw, { error: 'access_denied', state, iss: testIssuer });
  }],
  ['the IdP reported an error', 502, 'idp_error', 'json', async () => {
    const gw = at();
    const { state } = await startSignIn(gw);
    return callback(gw, { error: 'temporarily_unavailable', state, iss: testIssuer }, { headers: API });
  }],
  ['an ID token signed with alg none', 502, 'id_token_invalid', 'html', async () => (await signInWithScript(at(), { idToken: { sign: 'none' } })).callbackResponse],
  ['UserInfo about someone else', 502, 'userinfo_invalid', 'html', async () => (await signInWithScript(at(), { userinfo: { sub: 'mallory' } })).callbackResponse],
  ['the IdP unreachable', 503, 'idp_unreachable', 'html', () => gateway({ OIDC_ISSUER: 'http://127.0.0.1:9' }).fetch('/_auth/login', { headers: NAVIGATE })],
  ['the IdP too slow', 504, 'idp_timeout', 'json', async () => {
    const issuer = await newIssuer({}, { discovery: { delayMs: 3000 } });
    return gateway({ OIDC_ISSUER: issuer, IDP_TIMEOUT: '1' }).fetch('/_auth/login', { headers: API });
  }],
  ['no session, a program', 401, 'unauthenticated', 'json', () => at().fetch('/page', { headers: API })],
  ['no session, a form POST', 401, 'unauthenticated', 'html', () => at().fetch('/page', { method: 'POST', headers: NAVIGATE, body: 'a=1' })],
  ['a forged bearer token', 401, 'invalid_token', 'json', () => at().fetch('/api/x', { headers: { ...NAVIGATE, authorization: 'Bearer not.a.token' } })],
  ['a bearer token without the scope', 403, 'insufficient_scope', 'json', async () => at().fetch('/api/scoped/x', { headers: { ...API, authorization: await bearer({ scope: 'orders:read' }) } })],
  ['a session too weak for a step-up api', 401, 'step_up_required', 'json', async () => (await signedIn()).fetch('/api/mfa/x', { headers: API })],
  ['a signed-in user outside the allowed group', 403, 'forbidden', 'html', async () => (await signedIn()).fetch('/admin/x', { headers: NAVIGATE })],
  ['a signed-in user outside the allowed group (program)', 403, 'forbidden', 'json', async () => (await signedIn()).fetch('/admin/x', { headers: API })],
  ['the session store failing', 503, 'session_store_unavailable', 'html', async () => {
    const kv = flakyKv();
    const gw = await signedIn({ SESSIONS: kv.binding });
    kv.failing.add('get');
    return gw.fetch('/page', { headers: NAVIGATE });
  }],
  ['the upstream unreachable', 503, 'upstream_unreachable', 'html', async () => (await signedIn({ UPSTREAM_URL: 'http://127.0.0.1:1' })).fetch('/page', { headers: NAVIGATE })],
  ['the upstream too slow', 504, 'upstream_timeout', 'json', async () => (await signedIn({ UPSTREAM_TIMEOUT: '1' })).fetch('/slow?ms=3000', { headers: API })],
  ['a broken configuration', 500, 'config_invalid', 'html', () => gateway({ SESSION_SECRET: 'too-short' }).fetch('/page', { headers: NAVIGATE })],
];

describe('every refusal', () => {
  it.each(cases)('%s → %i %s (%s) with a request id in the answer and in one log line', async (_label, status, code, as, run) => {
    const res = await run();
    const cacheControl = res.headers.get('cache-control');
    const id = await expectReadableRefusal(res, status, code, as);
    expect(cacheControl).toBe('no-store');
    const entries = logs.entries();
    const line = entries.find((e) => e['event'] === 'request_refused' && e['request_id'] === id);
    expect(line, `a request_refused line for ${id} in:\n${logs.lines.join('\n')}`).toBeDefined();
    expect(line).toMatchObject({ code, status, level: status >= 500 ? 'error' : 'warn' });
    expect(typeof line!['path']).toBe('string');
    expect(String(line!['path'])).not.toContain('?');
  });

  it('uses the platform’s request id (CF-Ray) when there is one, so the page matches Cloudflare’s logs', async () => {
    const res = await at().fetch('/a%2fb', { headers: { ...NAVIGATE, 'cf-ray': '8f1e2d3c4b5a6978-FRA' } });
    expect(await expectReadableRefusal(res, 400, 'path_invalid')).toBe('8f1e2d3c4b5a6978-FRA');
    const spoofed = await at().fetch('/a%2fb', { headers: { ...NAVIGATE, 'cf-ray': '<script>alert(1)</script>' } });
    expect(await expectReadableRefusal(spoofed, 400, 'path_invalid')).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('an error remembered for an outage', () => {
  it('is not changed by one request for the next (JSON for an api rule, cookies of a callback)', async () => {
    const issuer = await newIssuer({}, { discovery: { reset: true } });
    const gw = gateway({ OIDC_ISSUER: issuer, API_AUDIENCE, ROUTES, IDP_TIMEOUT: '1' });
    // The failed discovery is cached for a few seconds and the same failure answers every request.
    await expectReadableRefusal(await gw.fetch('/api/x', { headers: { ...NAVIGATE, authorization: 'Bearer abc' } }), 503, 'idp_unreachable', 'json');
    const page = await gw.fetch('/_auth/login', { headers: NAVIGATE });
    expect(page.headers.get('set-cookie')).toBeNull();
    await expectReadableRefusal(page, 503, 'idp_unreachable', 'html');
  });

  it('is not changed by a callback for the next visitor (its Set-Cookie stays with it)', async () => {
    const issuer = await newIssuer();
    const gw = gateway({ OIDC_ISSUER: issuer, IDP_TIMEOUT: '1' });
    const { state } = await startSignIn(gw);
    await setFaults(issuer, { discovery: { reset: true }, token: { reset: true } });
    clearProviderCache();
    const failed = await callback(gw, { code: 'c', state, iss: issuer });
    expect(failed.headers.get('set-cookie'), 'the callback clears its own transaction').toContain('edgegate-tx-');
    await expectReadableRefusal(failed, 503, 'idp_unreachable');
    const next = await gateway(gw.env).fetch('/_auth/login', { headers: NAVIGATE });
    expect(next.headers.get('set-cookie'), 'no cookie of someone else’s sign-in').toBeNull();
    await expectReadableRefusal(next, 503, 'idp_unreachable');
  });
});
