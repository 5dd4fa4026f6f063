// A compromised or careless upstream (or one reached through a per-rule `upstream`) answers with
// `Set-Cookie` for the gateway's own cookie names: to plant a session of the attacker's in the victim's
// browser (session fixation: the victim then acts as the attacker upstream), to overwrite the sign-in
// transaction, or to delete the session. Browsers compare cookie-name prefixes case-insensitively
// (RFC 6265bis 4.1.3), and a name without the prefix is still read on plain-HTTP loopback demos, so
// every spelling is dropped — and logged — while the upstream's own cookies pass untouched.
import { inject, afterEach, describe, expect, it } from 'vitest';
import { captureLogs, type CapturedLogs } from '../support/logs';
import { gateway } from '../support/gateway';
import { NAVIGATE } from './helpers';

const GATEWAY_SPELLINGS = [
  '__Host-edgegate=attacker; Path=/; Secure; HttpOnly',
  '__host-edgegate=attacker; Path=/; Secure',
  '__HOST-EDGEGATE=attacker; Path=/; Secure',
  '__Secure-edgegate=attacker; Path=/; Secure',
  '__secure-Edgegate=attacker; Path=/; Secure',
  'edgegate=attacker; Path=/',
  'EdgeGate=attacker; Path=/',
  ' edgegate =attacker; Path=/',
  'edgegate=; Max-Age=0; Path=/',
  '__Host-edgegate-resume=1; Path=/; Secure',
  'EDGEGATE-RESUME=1; Path=/',
  '__Host-edgegate-tx-abcdef=attacker; Path=/; Secure',
  '__Secure-EdgeGate-TX-abcdef=attacker; Path=/; Secure',
  'edgegate-tx-x=attacker; Path=/',
  // A name-less cookie (no "="): its value becomes a cookie named like ours in the next request.
  '__Host-edgegate',
];
const OWN = ['app_session=abc; Path=/; HttpOnly', 'edgegate_theme=dark; Path=/', 'theme=dark', 'xedgegate=1'];

function query(cookies: string[]): string {
  return cookies.map((c) => `c=${encodeURIComponent(c)}`).join('&');
}

let logs: CapturedLogs | undefined;
afterEach(() => logs?.restore());

describe("the upstream sets the gateway's cookies", () => {
  it('every spelling is dropped and logged; the upstream’s own cookies pass', async () => {
    const gw = gateway({ ROUTES: [{ path: '/pub/**', auth: 'public' }] });
    logs = captureLogs();
    const res = await gw.fetch(`/pub/set-cookies?${query([...GATEWAY_SPELLINGS, ...OWN])}`, { headers: NAVIGATE, cookies: false });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual(OWN);
    await res.arrayBuffer();
    const dropped = logs.entries().filter((e) => e.event === 'upstream_set_gateway_cookie');
    expect(dropped.length).toBe(GATEWAY_SPELLINGS.length);
    // The name is logged, never the value.
    expect(JSON.stringify(dropped)).not.toContain('attacker');
  });

  it('through a per-rule upstream too', async () => {
    const upstream = `${inject('upstreamUrl')}/legacy`;
    const gw = gateway({ ROUTES: [{ path: '/pub/**', auth: 'public', upstream }] });
    logs = captureLogs();
    const res = await gw.fetch(`/pub/set-cookies?${query(['__Host-edgegate=attacker; Path=/; Secure', 'legacy=1'])}`, { headers: NAVIGATE, cookies: false });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual(['legacy=1']);
    expect(((await res.json()) as { path: string }).path).toBe('/legacy/pub/set-cookies');
  });

  it('a response without gateway cookies is passed on as it came (body and headers)', async () => {
    const gw = gateway({ ROUTES: [{ path: '/pub/**', auth: 'public' }] });
    const res = await gw.fetch(`/pub/set-cookies?${query(OWN)}`, { headers: NAVIGATE, cookies: false });
    expect(res.headers.getSetCookie()).toEqual(OWN);
    expect(((await res.json()) as { path: string }).path).toBe('/pub/set-cookies');
  });
});
