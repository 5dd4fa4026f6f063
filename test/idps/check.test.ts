// `npm run check` with several IdPs: per sample path, which IdPs may sign in there — the same set the
// worker's chooser offers for that path (config/idps.ts idpsOfRule, read from the same settings by the
// same config code), checked here against the worker itself (docs/protocols.md "Several identity providers").
import { describe, expect, it } from 'vitest';
import { runCheck } from '../../src/check/main';
import { CORP, PARTNER, corpIssuer, idpsGateway, partnerIssuer } from './helpers';

const API_PARTNER = { ...PARTNER, api_audience: 'https://api.example' };
const ROUTES = [
  { path: '/corp/**', auth: 'session', idps: ['corp'] },
  { path: '/api/**', auth: 'api', idps: ['corp', 'partner'] },
  { path: '/pub/**', auth: 'public' },
  { path: '/**', auth: 'session' },
];
const SAMPLES = ['/corp/wiki', '/reports', '/api/orders', '/pub/about'];

/** The check's text for each sample (the block that starts with `GET <sample>`). */
function blocks(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const block of text.split('\n\n').slice(1)) out[block.split('\n')[0]!.replace(/^GET /, '')] = block;
  return out;
}

/** The IdP names in a `may sign in:` line, as the check prints them. */
function mayIn(block: string): string[] {
  const line = block.split('\n').find((l) => l.trim().startsWith('may sign in:'));
  return line ? [...line.matchAll(/(?:: |, )([a-z][a-z0-9-]*)(?= \(")/g)].map((m) => m[1]!) : [];
}

describe('npm run check with IDPS', () => {
  const check = runCheck({ source: 'wrangler.toml', routes: ROUTES, samples: SAMPLES, settings: { IDPS: [CORP, API_PARTNER], ROUTES } });

  it('shows per sample path which IdPs may sign in, and whose bearer tokens an api rule takes', () => {
    expect(check.exitCode).toBe(0);
    const by = blocks(check.text);
    expect(by['/corp/wiki']).toContain('may sign in: corp ("Corp SSO"); a navigation goes straight there');
    expect(by['/reports']).toContain('may sign in: corp ("Corp SSO"), partner ("Partner login"); a navigation gets the chooser (an email at example.com, contractor.example goes straight to its IdP)');
    expect(by['/api/orders']).toContain('sessions from: corp ("Corp SSO"), partner ("Partner login")');
    expect(by['/api/orders']).toContain('bearer tokens from: partner (aud https://api.example)');
    expect(by['/pub/about']).not.toMatch(/may sign in|sessions from/);
  });

  it('names the same IdPs the worker offers a navigation on that path', async () => {
    const gw = idpsGateway([CORP, API_PARTNER], { ROUTES });
    const origins: Record<string, string> = { [new URL(corpIssuer).origin]: 'corp', [new URL(partnerIssuer).origin]: 'partner' };
    const by = blocks(check.text);
    for (const path of ['/corp/wiki', '/reports']) {
      const res = await gw.fetch(path, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' }, store: false });
      const offered =
        res.status === 302
          ? [origins[new URL(res.headers.get('location')!).origin]]
          : [...(await res.text()).matchAll(/href="\/_auth\/login\?idp=([a-z0-9-]+)/g)].map((m) => m[1]);
      expect(offered.length, `${path}: the worker offers IdPs`).toBeGreaterThan(0);
      expect(mayIn(by[path]!), path).toEqual(offered);
    }
  });

  it('decides --as for a session of the IdP given, or of the first the rule allows', () => {
    const as = (idp?: string) =>
      blocks(runCheck({ source: 'wrangler.toml', routes: ROUTES, samples: ['POST /corp/wiki'], settings: { IDPS: [CORP, PARTNER], ROUTES }, asking: { claims: { sub: 'alice' }, network: {}, ...(idp ? { idp } : {}) } }).text)['POST /corp/wiki']!;
    expect(as()).toContain('decision (a session from corp): forward to the upstream');
    expect(as('partner')).toContain('decision (a session from partner): 403 forbidden by ROUTES[0] idps: requires a sign-in with corp');
  });

  it('refuses ROUTES naming an IdP that is not configured, as the worker does', () => {
    const bad = runCheck({ source: 'wrangler.toml', routes: [{ path: '/**', auth: 'session', idps: ['crop'] }], samples: [], settings: { IDPS: [CORP, PARTNER] } });
    expect(bad.exitCode).toBe(1);
    expect(bad.text).toContain('ROUTES[0].idps: names "crop", which is not an identity provider here (corp, partner)');
  });

  it('says nothing of IdPs with the single IdP of the OIDC_* settings', () => {
    const single = runCheck({ source: 'wrangler.toml', routes: ROUTES.slice(2), samples: ['/reports'], settings: { OIDC_ISSUER: corpIssuer, OIDC_CLIENT_ID: 'app' } });
    expect(single.exitCode).toBe(0);
    expect(single.text).not.toMatch(/may sign in/);
  });
});
