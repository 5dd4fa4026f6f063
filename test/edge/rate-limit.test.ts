// RATE_LIMITER (Workers Rate Limiting): the endpoints anyone can call without a session answer 429 with
// Retry-After once a client is over the limit — per CF-Connecting-IP, never per a header the client
// writes — as a readable page or JSON; without the binding nothing is limited. The binding here is a
// stand-in with the platform's API (`limit({ key })` → `{ success }`) and a limit of 3 per key.
import { describe, expect, it } from 'vitest';
import { baseEnv, gateway } from '../support/gateway';
import { captureLogs } from '../support/logs';
import { limiter } from '../support/rate-limiter';


const HTML = { accept: 'text/html' };

describe('with RATE_LIMITER', () => {
  it('sign-in: the 4th request from one address is refused with 429, Retry-After and a page; another address is not', async () => {
    const { binding, keys } = limiter();
    const gw = gateway({ RATE_LIMITER: binding });
    for (let i = 0; i < 3; i++) {
      const res = await gw.fetch('/_auth/login?rd=/', { headers: { ...HTML, 'cf-connecting-ip': '198.51.100.7' }, cookies: false, store: false });
      expect(res.status).toBe(302);
    }
    const refused = await gw.fetch('/_auth/login?rd=/', { headers: { ...HTML, 'cf-connecting-ip': '198.51.100.7', 'x-forwarded-for': '203.0.113.1' }, cookies: false });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.headers.get('location')).toBeNull();
    const page = await refused.text();
    expect(page).toContain('Too many requests');
    expect(page).toContain('rate_limited');
    expect(keys.every((key) => key === 'login:198.51.100.7')).toBe(true);

    const other = await gw.fetch('/_auth/login?rd=/', { headers: { ...HTML, 'cf-connecting-ip': '198.51.100.8' }, cookies: false });
    expect(other.status).toBe(302);
  });

  it('callback, logout channels and the SSF receiver are limited too; programs get JSON', async () => {
    for (const [path, method, scope] of [
      ['/_auth/callback?code=x&state=y', 'GET', 'callback'],
      ['/_auth/callback/corp?code=x&state=y', 'GET', 'callback'],
      ['/_auth/backchannel-logout', 'POST', 'logout'],
      ['/_auth/frontchannel-logout', 'GET', 'logout'],
      ['/_auth/ssf', 'POST', 'ssf'],
    ] as const) {
      const { binding, keys } = limiter(0);
      const gw = gateway({ RATE_LIMITER: binding });
      const res = await gw.fetch(path, { method, headers: { accept: 'application/json', 'cf-connecting-ip': '192.0.2.1' }, cookies: false });
      expect(res.status, path).toBe(429);
      expect(res.headers.get('retry-after')).toBe('60');
      expect(((await res.json()) as { error: string }).error).toBe('rate_limited');
      expect(keys).toEqual([`${scope}:192.0.2.1`]);
    }
  });

  it('logs a rate_limited event without the client address', async () => {
    const { binding } = limiter(0);
    const gw = gateway({ RATE_LIMITER: binding });
    const captured = captureLogs();
    let logs: Record<string, unknown>[];
    try {
      await gw.fetch('/_auth/login', { headers: { ...HTML, 'cf-connecting-ip': '192.0.2.44' }, cookies: false });
      logs = captured.entries();
    } finally {
      captured.restore();
    }
    const event = logs.find((line) => line['event'] === 'rate_limited');
    expect(event?.['scope']).toBe('login');
    expect(JSON.stringify(logs)).not.toContain('192.0.2.44');
  });

  it('pages behind the gateway are not limited', async () => {
    const { binding, keys } = limiter(0);
    const gw = gateway({ RATE_LIMITER: binding });
    const res = await gw.fetch('/some/page', { headers: HTML, cookies: false });
    expect(res.status).toBe(302);
    // Gateway endpoints that need a session or serve public keys are not limited either.
    expect((await gw.fetch('/_auth/jwks', { cookies: false })).status).not.toBe(429);
    expect((await gw.fetch('/_auth/userinfo', { headers: { accept: 'application/json' }, cookies: false })).status).toBe(401);
    expect(keys).toEqual([]);
  });
});

describe('without RATE_LIMITER', () => {
  it('nothing is limited', async () => {
    const gw = gateway({ RATE_LIMITER: undefined });
    for (let i = 0; i < 20; i++) {
      const res = await gw.fetch('/_auth/login?rd=/', { headers: { ...HTML, 'cf-connecting-ip': '198.51.100.7' }, cookies: false, store: false });
      expect(res.status).toBe(302);
    }
  });
});

describe("Miniflare's own Rate Limiting simulation (as under wrangler dev)", () => {
  it('limits /_auth/login per address: 429 after the binding\'s limit (3 a minute here)', async () => {
    const binding = (baseEnv as Record<string, unknown>)['TEST_RATE_LIMITER'];
    expect(binding, 'vitest.config.ts binds TEST_RATE_LIMITER').toBeDefined();
    const gw = gateway({ RATE_LIMITER: binding });
    const ip = `198.51.100.${Math.floor(Math.random() * 200) + 20}`;
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await gw.fetch('/_auth/login?rd=/', { headers: { ...HTML, 'cf-connecting-ip': ip }, cookies: false, store: false });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([302, 302, 302, 429]);
  });
});
