// What the upstream receives, and what passes through unchanged (docs/upstream.md "What the upstream receives").
import { describe, expect, it } from 'vitest';
import { gateway, type Gateway } from '../support/gateway';
import { signIn } from '../support/flows';
import type { EchoBody } from '../setup/protocol';
import { API, NAVIGATE, header, upstreamSees } from './helpers';

async function signedIn(user = 'alice'): Promise<Gateway> {
  const gw = gateway();
  await signIn(gw, { user });
  return gw;
}

describe('spoofed identity headers', () => {
  const spoofed: [string, string][] = [
    ['X-User', 'mallory'],
    ['x-user-email', 'mallory@evil.example'],
    ['X-USER-GROUPS', 'admins'],
    ['X_User', 'mallory'],
    ['x_user_name', 'Mallory'],
    ['X-User-Jwt', 'eyJhbGciOiJub25lIn0.e30.'],
    ['X-User-Anything', 'x'],
    ['X-Forwarded-User', 'mallory'],
    ['X-Forwarded-Email', 'mallory@evil.example'],
    ['X-Forwarded-Groups', 'admins'],
    ['X-Forwarded-Preferred-Username', 'mallory'],
    ['X-Auth-Request-User', 'mallory'],
    ['X-Auth-Request-Email', 'mallory@evil.example'],
    ['x_auth_request_groups', 'admins'],
    ['Remote-User', 'mallory'],
    ['Remote-Email', 'mallory@evil.example'],
    ['Remote-Groups', 'admins'],
    ['Remote-Name', 'Mallory'],
    ['remote_user', 'mallory'],
  ];

  it('never reach the upstream, in any spelling, for a signed-in user', async () => {
    const gw = await signedIn('bob');
    const headers = new Headers(NAVIGATE);
    for (const [name, value] of spoofed) headers.append(name, value);
    const echo = await upstreamSees(gw, '/', { headers });
    const received = echo.rawHeaders.join('\n').toLowerCase();
    expect(received).not.toContain('mallory');
    expect(received).not.toContain('evil.example');
    expect(header(echo, 'x-user')).toBe('bob');
    expect(header(echo, 'x-user-groups')).toBe('staff');
    expect(header(echo, 'x-user-jwt')).toBeUndefined();
  });

  it('are removed even when listed in Connection or sent twice', async () => {
    const gw = await signedIn('bob');
    const headers = new Headers(NAVIGATE);
    headers.append('X-User', 'mallory');
    headers.append('X-User', 'mallory2');
    headers.set('Connection', 'keep-alive, X-User, X-Custom-Hop');
    headers.set('X-Custom-Hop', 'hop');
    const echo = await upstreamSees(gw, '/', { headers });
    expect(header(echo, 'x-user')).toBe('bob');
    expect(header(echo, 'x-custom-hop')).toBeUndefined();
  });

  it('replaces client-sent X-Forwarded-* with the gateway’s own values', async () => {
    const gw = await signedIn();
    const echo = await upstreamSees(gw, '/', {
      headers: { ...NAVIGATE, 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'gopher', 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6', 'cf-connecting-ip': '203.0.113.9' },
    });
    expect(header(echo, 'x-forwarded-host')).toBe('localhost');
    expect(header(echo, 'x-forwarded-proto')).toBe('https');
    expect(header(echo, 'x-forwarded-for')).toBe('203.0.113.9');
    expect(header(echo, 'forwarded')).toBeUndefined();
  });
});

describe('pass-through', () => {
  it('removes only the gateway’s cookies and keeps the upstream’s byte for byte', async () => {
    const gw = await signedIn();
    const session = gw.jar.get('__Host-edgegate');
    const echo = await upstreamSees(gw, '/', {
      headers: { ...NAVIGATE, cookie: `theme=dark; __Host-edgegate=${session}; cart=a%20b; __Host-edgegate-tx-abc=zzz` },
      cookies: false,
    } as RequestInit);
    expect(header(echo, 'cookie')).toBe('theme=dark; cart=a%20b');
  });

  it('sends no Cookie header at all when only gateway cookies were present', async () => {
    const gw = await signedIn();
    const echo = await upstreamSees(gw, '/');
    expect(header(echo, 'cookie')).toBeUndefined();
  });

  it('keeps Authorization headers and ordinary request headers', async () => {
    const gw = await signedIn();
    const echo = await upstreamSees(gw, '/', { headers: { ...NAVIGATE, authorization: 'Basic dXNlcjpwYXNz', 'x-app-version': '7' } });
    expect(header(echo, 'authorization')).toBe('Basic dXNlcjpwYXNz');
    expect(header(echo, 'x-app-version')).toBe('7');
  });

  it('forwards method, path, query and request body', async () => {
    const gw = await signedIn();
    const body = JSON.stringify({ order: 42, note: 'ü'.repeat(1000) });
    const res = await gw.fetch('/api/orders/7?expand=items&x=%2F', {
      method: 'PUT',
      body,
      headers: { ...API, 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as EchoBody;
    expect(echo.method).toBe('PUT');
    expect(echo.url).toBe('/api/orders/7?expand=items&x=%2F');
    expect(echo.body).toBe(body);
    expect(header(echo, 'x-user')).toBe('alice');
  });

  it('passes upstream redirects and their cookies back unchanged', async () => {
    const gw = await signedIn();
    const res = await gw.fetch('/redirect', { headers: NAVIGATE });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/elsewhere');
    expect(res.headers.getSetCookie().join()).toContain('upstream=1');
  });

  it('passes upstream status codes through', async () => {
    const gw = await signedIn();
    for (const status of [201, 404, 418, 500, 503]) {
      const res = await gw.fetch(`/status/${status}`, { headers: NAVIGATE });
      expect(res.status).toBe(status);
      await res.arrayBuffer();
    }
  });

  it('streams a server-sent events response', async () => {
    const gw = await signedIn();
    const res = await gw.fetch('/sse?n=3&ms=10', { headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.match(/^data:/gm)?.length).toBe(3);
  });

  it('adds a base path from UPSTREAM_URL', async () => {
    const gw = gateway({ UPSTREAM_URL: `${(await import('vitest')).inject('upstreamUrl')}/base/` });
    await signIn(gw);
    const echo = await upstreamSees(gw, '/page?q=1');
    expect(echo.url).toBe('/base/page?q=1');
  });

  it('answers 503 with a page when the upstream is down, without a stack trace', async () => {
    const gw = gateway({ UPSTREAM_URL: 'http://127.0.0.1:1' });
    await signIn(gw);
    const res = await gw.fetch('/', { headers: NAVIGATE });
    expect(res.status).toBe(503);
    const page = await res.text();
    expect(page).toContain('upstream_unreachable');
    expect(page).not.toMatch(/at \w+ \(|Error:/);
  });
});

describe('path normalization', () => {
  it('forwards the normalized path: unreserved escapes decoded, dot-segments resolved', async () => {
    const gw = await signedIn();
    expect((await upstreamSees(gw, '/%61dmin/%7Euser')).path).toBe('/admin/~user');
    expect((await upstreamSees(gw, '/a/b/../c')).path).toBe('/a/c');
    expect((await upstreamSees(gw, '/a/%2e%2e/c')).path).toBe('/c');
    expect((await upstreamSees(gw, '/x%20y')).path).toBe('/x%20y');
  });

  for (const path of ['/a%2fb', '/a%2Fb', '/a%5cb', '/a%00b', '/a%zz', '/a%', '/a%c3%28', '/a%01b']) {
    it(`refuses ${path} with 400 before it reaches the upstream`, async () => {
      const gw = await signedIn();
      const res = await gw.fetch(path, { headers: API });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('path_invalid');
    });
  }
});
