// An attacker sends the headers frameworks read as "the client's address" or "the host and scheme the
// client used" — True-Client-IP, X-Real-IP, X-Client-IP, Client-IP, X-Original-Host, X-Host,
// X-Forwarded-Port/-Ssl/-Scheme/-Server — to pass an upstream IP allow-list, poison password-reset
// links and caches keyed on the host, or make an upstream believe a plain-HTTP request was HTTPS.
// The gateway is the edge: the upstream gets the gateway's values (from CF-Connecting-IP and the
// request URL) or none, in any spelling the attacker tries.
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { NAVIGATE, echoOf } from './helpers';

const ROUTES = [{ path: '/pub/**', auth: 'public' }];
const SPOOFED_IP = '6.6.6.6';
const SPOOFED_HOST = 'evil.example';

const SPOOFS: [string, string][] = [
  ['True-Client-IP', SPOOFED_IP],
  ['true_client_ip', SPOOFED_IP],
  ['X-Client-IP', SPOOFED_IP],
  ['X_Client_IP', SPOOFED_IP],
  ['Client-IP', SPOOFED_IP],
  ['X-Real-IP', SPOOFED_IP],
  ['x_real_ip', SPOOFED_IP],
  ['X-Cluster-Client-IP', SPOOFED_IP],
  ['Fastly-Client-IP', SPOOFED_IP],
  ['X-Forwarded', `for=${SPOOFED_IP}`],
  ['Forwarded-For', SPOOFED_IP],
  ['X-Original-Host', SPOOFED_HOST],
  ['X-Host', SPOOFED_HOST],
  ['X_Host', SPOOFED_HOST],
  ['X-Forwarded-Server', SPOOFED_HOST],
  ['X-Forwarded-Port', '8080'],
  ['x_forwarded_port', '8080'],
  ['X-Forwarded-Ssl', 'off'],
  ['X-Forwarded-Scheme', 'http'],
  ['X-Url-Scheme', 'http'],
  ['Front-End-Https', 'off'],
];

function spoofed(extra: Record<string, string> = {}): Headers {
  const headers = new Headers({ ...NAVIGATE, ...extra });
  for (const [name, value] of SPOOFS) headers.append(name, value);
  return headers;
}

/** Every header the upstream received, lower-cased, with `_` read as `-` (as CGI and friends do). */
function received(rawHeaders: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase().replace(/_/g, '-');
    out.set(name, [...(out.get(name) ?? []), rawHeaders[i + 1]!]);
  }
  return out;
}

describe('spoofed client address and host headers', () => {
  it('are replaced by the gateway’s values, in every spelling', async () => {
    const gw = gateway({ ROUTES });
    const echo = await echoOf(await gw.fetch('/pub/x', { headers: spoofed({ 'cf-connecting-ip': '203.0.113.9' }), cookies: false }));
    const got = received(echo.rawHeaders);
    expect(echo.rawHeaders.join('\n')).not.toContain(SPOOFED_IP);
    expect(echo.rawHeaders.join('\n')).not.toContain(SPOOFED_HOST);
    expect(got.get('x-real-ip')).toEqual(['203.0.113.9']);
    expect(got.get('true-client-ip')).toEqual(['203.0.113.9']);
    expect(got.get('x-forwarded-for')).toEqual(['203.0.113.9']);
    expect(got.get('x-forwarded-host')).toEqual(['localhost']);
    expect(got.get('x-forwarded-proto')).toEqual(['https']);
    expect(got.get('x-forwarded-port')).toEqual(['443']);
    expect(got.get('x-forwarded-ssl')).toEqual(['on']);
    expect(got.get('x-forwarded-scheme')).toEqual(['https']);
    for (const name of ['x-client-ip', 'client-ip', 'x-cluster-client-ip', 'fastly-client-ip', 'x-forwarded', 'forwarded-for', 'x-original-host', 'x-host', 'x-forwarded-server', 'x-url-scheme', 'front-end-https']) {
      expect(got.get(name), name).toBeUndefined();
    }
  });

  it('without a client address from Cloudflare, no client address at all', async () => {
    const gw = gateway({ ROUTES });
    const echo = await echoOf(await gw.fetch('/pub/x', { headers: spoofed(), cookies: false }));
    const got = received(echo.rawHeaders);
    expect(echo.rawHeaders.join('\n')).not.toContain(SPOOFED_IP);
    for (const name of ['x-real-ip', 'true-client-ip', 'x-forwarded-for', 'x-client-ip', 'client-ip']) expect(got.get(name), name).toBeUndefined();
  });

  it('a plain-HTTP loopback demo is told so (port and scheme of the request)', async () => {
    const gw = gateway({ ROUTES });
    const echo = await echoOf(await gw.fetch('http://localhost:8787/pub/x', { headers: spoofed(), cookies: false }));
    const got = received(echo.rawHeaders);
    expect(got.get('x-forwarded-port')).toEqual(['8787']);
    expect(got.get('x-forwarded-ssl')).toEqual(['off']);
    expect(got.get('x-forwarded-scheme')).toEqual(['http']);
    expect(got.get('x-forwarded-host')).toEqual(['localhost:8787']);
  });
});
