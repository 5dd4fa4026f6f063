// The configuration-error page is generic for every visitor: "misconfigured, the operator has been
// told", with a request id. Which setting is wrong is in the operator's log line, and on the page only
// in a local demo (DEV_ALLOW_HTTP with a loopback issuer, requested on loopback).
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { captureLogs } from '../support/logs';
import { CONFIG_INVALID_MESSAGE } from '../../src/http/errors';
import { API, NAVIGATE, testIssuer } from './helpers';

const BROKEN = { SESSION_SECRET: 'too-short', ROUTES: [{ path: '/x', auth: 'public', paht: '/y' }] };
const DETAILS = ['SESSION_SECRET', 'ROUTES[0].paht', 'must be at least 32'];

async function refusal(url: string, overrides: Record<string, unknown> = BROKEN, headers: Record<string, string> = NAVIGATE) {
  const logs = captureLogs();
  try {
    const res = await gateway(overrides).fetch(url, { headers });
    return { status: res.status, body: await res.text(), log: logs.entries().find((e) => e['event'] === 'request_refused') };
  } finally {
    logs.restore();
  }
}

describe('the configuration-error page', () => {
  it('tells a visitor only that sign-in is misconfigured, with a request id', async () => {
    const { status, body, log } = await refusal('https://app.example.com/page');
    expect(status).toBe(500);
    expect(body).toContain(CONFIG_INVALID_MESSAGE.replace(/'/g, '&#39;'));
    const id = /Error config_invalid · request ([0-9a-f]{16})/.exec(body)?.[1];
    expect(id).toBeDefined();
    for (const detail of DETAILS) expect(body).not.toContain(detail);
    // The operator's log line names every problem, under the same request id.
    expect(log).toMatchObject({ code: 'config_invalid', request_id: id });
    for (const detail of DETAILS) expect(String(log!['detail'])).toContain(detail);
  });

  it('tells a program the same (JSON), without details', async () => {
    const { status, body } = await refusal('https://app.example.com/api/x', BROKEN, API);
    expect(status).toBe(500);
    const json = JSON.parse(body) as Record<string, unknown>;
    expect(json).toMatchObject({ error: 'config_invalid', message: CONFIG_INVALID_MESSAGE });
    expect(json['detail']).toBeUndefined();
    for (const detail of DETAILS) expect(body).not.toContain(detail);
  });

  it('is generic too when the IdP’s metadata shows a setting unusable', async () => {
    const { status, body, log } = await refusal('https://app.example.com/_auth/login', { OIDC_ISSUER: testIssuer, OIDC_USE_PAR: 'always' });
    expect(status).toBe(500);
    expect(body).not.toContain('OIDC_USE_PAR');
    expect(String(log!['detail'])).toMatch(/OIDC_USE_PAR: is always/);
  });

  it('shows the details in a local demo (loopback request, DEV_ALLOW_HTTP, loopback issuer)', async () => {
    const { body } = await refusal('https://localhost/page');
    expect(body).toContain('What is wrong (shown only in local development)');
    for (const detail of DETAILS) expect(body).toContain(detail);
    const json = JSON.parse((await refusal('https://localhost/api/x', BROKEN, API)).body) as Record<string, unknown>;
    expect(json['message']).toBe(CONFIG_INVALID_MESSAGE);
    expect(String(json['detail'])).toContain('SESSION_SECRET');
  });

  it('keeps the details off the page when any part of the local-demo condition is missing', async () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ['a public host', 'https://app.example.com/page', {}],
      ['DEV_ALLOW_HTTP unset', 'https://localhost/page', { DEV_ALLOW_HTTP: undefined }],
      ['DEV_ALLOW_HTTP not a boolean', 'https://localhost/page', { DEV_ALLOW_HTTP: 'sure' }],
      ['an issuer elsewhere', 'https://localhost/page', { OIDC_ISSUER: 'https://idp.example.org' }],
      ['an IdP of IDPS elsewhere', 'https://localhost/page', { OIDC_ISSUER: undefined, IDPS: [{ name: 'corp', issuer: 'https://login.example.org', client_id: 'x' }] }],
    ];
    for (const [label, url, overrides] of cases) {
      const { status, body } = await refusal(url, { ...BROKEN, ...overrides });
      expect(status, label).toBe(500);
      for (const detail of DETAILS) expect(body, label).not.toContain(detail);
      expect(body, label).not.toContain('What is wrong');
    }
  });

  it('reports the shipped placeholder issuer as a configuration problem, not as an IdP outage', async () => {
    const { status, body, log } = await refusal('https://app.example.com/', { OIDC_ISSUER: 'https://idp.example.com' });
    expect(status).toBe(500);
    expect(body).not.toContain('unavailable');
    expect(String(log!['detail'])).toMatch(/OIDC_ISSUER: is https:\/\/idp\.example\.com, the placeholder from the shipped wrangler\.toml/);
  });
});
