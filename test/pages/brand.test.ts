// BRAND_NAME, BRAND_LOGO_URL, BRAND_COLOR, BRAND_SUPPORT_URL on every page the gateway itself answers
// with: error pages (even of an otherwise broken configuration), the signed-out page, the logout
// confirmation, the IdP chooser and the front-channel logout page. Escaped, strictly validated (the
// color goes into CSS), and the logo is the only thing the pages' CSP lets load, from its origin only.
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { configProblems } from '../support/config-errors';
import { CORP, PARTNER, idpsGateway } from '../idps/helpers';
import { API, BRAND, NAVIGATE, signedInAs } from './helpers';

function expectBranded(html: string, csp: string | null, what: string) {
  expect(html, what).toContain('<span>Acme Intranet</span>');
  expect(html, what).toMatch(/<title>[^<]* · Acme Intranet<\/title>/);
  expect(html, what).toContain('<img src="https://cdn.acme.example/logo.svg" alt="" height="32">');
  expect(html, what).toContain('background:#ffd400;color:#000000');
  expect(csp, what).toContain('img-src https://cdn.acme.example;');
}

describe('brand settings', () => {
  it('brand every page the gateway answers with', async () => {
    const pages: [string, () => Promise<Response>][] = [
      ['403 page', async () => (await signedInAs('bob', BRAND)).fetch('/admin/x', { headers: NAVIGATE })],
      ['404 page', () => gateway(BRAND).fetch('/_auth/nope', { headers: NAVIGATE })],
      ['signed-out page', () => gateway(BRAND).fetch('/_auth/signed-out', { headers: NAVIGATE })],
      ['logout confirmation', () => gateway(BRAND).fetch('/_auth/logout', { headers: { ...NAVIGATE, 'sec-fetch-site': 'cross-site' } })],
      ['IdP chooser', () => idpsGateway([CORP, PARTNER], BRAND).fetch('/_auth/login?rd=%2F', { headers: NAVIGATE })],
      ['front-channel logout page', () => gateway(BRAND).fetch('/_auth/frontchannel-logout', { headers: NAVIGATE })],
      ['configuration-error page', () => gateway({ ...BRAND, SESSION_SECRET: 'too-short' }).fetch('https://app.example.com/', { headers: NAVIGATE })],
    ];
    for (const [what, load] of pages) {
      const res = await load();
      expectBranded(await res.text(), res.headers.get('content-security-policy'), what);
    }
  });

  it('offer the support link on error pages', async () => {
    const html = await (await gateway(BRAND).fetch('/_auth/nope', { headers: NAVIGATE })).text();
    expect(html).toContain('<a href="https://help.acme.example/it">Contact support</a>');
    const plain = await (await gateway().fetch('/_auth/nope', { headers: NAVIGATE })).text();
    expect(plain).not.toContain('Contact support');
  });

  it('escape the name everywhere it appears', async () => {
    const name = '<script>alert(1)</script> "R&D" \'Ops\'';
    const html = await (await gateway({ BRAND_NAME: name }).fetch('/_auth/nope', { headers: NAVIGATE })).text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('<span>&lt;script&gt;alert(1)&lt;/script&gt; &quot;R&amp;D&quot; &#39;Ops&#39;</span>');
    expect(html).toContain('<title>Not found · &lt;script&gt;');
  });

  it('without a logo, the CSP loads no image at all; with one, exactly its origin', async () => {
    const plain = await gateway().fetch('/_auth/nope', { headers: NAVIGATE });
    expect(plain.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    const branded = await gateway({ BRAND_LOGO_URL: 'https://cdn.acme.example:8443/a/logo.png?v=2' }).fetch('/_auth/nope', { headers: NAVIGATE });
    expect(branded.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; img-src https://cdn.acme.example:8443; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
  });

  it('keep the front-channel page framable by the IdP only', async () => {
    const res = await gateway(BRAND).fetch('/_auth/frontchannel-logout', { headers: NAVIGATE });
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/frame-ancestors http:\/\/127\.0\.0\.1:\d+;/);
    expect(csp).toContain('img-src https://cdn.acme.example;');
  });

  it('pick black or white text on the brand color, whichever is readable', async () => {
    for (const [color, ink] of [['#ffd400', '#000000'], ['#1a237e', '#ffffff'], ['#FFF', '#000000'], ['#000', '#ffffff'], ['#777777', '#000000']] as const) {
      const html = await (await gateway({ BRAND_COLOR: color }).fetch('/_auth/nope', { headers: NAVIGATE })).text();
      expect(html, color).toContain(`background:${color.toLowerCase()};color:${ink}`);
    }
  });

  it('accept a loopback http logo only in a local demo', async () => {
    // The tests' base configuration is a DEV_ALLOW_HTTP demo with a loopback issuer.
    const res = await gateway({ BRAND_LOGO_URL: 'http://127.0.0.1:9999/logo.png' }).fetch('/_auth/nope', { headers: NAVIGATE });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-security-policy')).toContain('img-src http://127.0.0.1:9999;');
    const problems = await configProblems(() =>
      gateway({ BRAND_LOGO_URL: 'http://127.0.0.1:9999/logo.png', DEV_ALLOW_HTTP: undefined, OIDC_ISSUER: 'https://idp.example.org' }).fetch('/', { headers: API }),
    );
    expect(problems).toMatch(/BRAND_LOGO_URL: must be an https:\/\/ URL/);
  });
});

describe('invalid brand settings are refused by name', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a color that is CSS, not a hex color', { BRAND_COLOR: 'red;background:url(https://evil.example/x)' }, /BRAND_COLOR: expected a hex color/],
    ['a named color', { BRAND_COLOR: 'red' }, /BRAND_COLOR: expected a hex color/],
    ['a hex color with alpha', { BRAND_COLOR: '#11223344' }, /BRAND_COLOR: expected a hex color/],
    ['a color with a trailing brace', { BRAND_COLOR: '#123}' }, /BRAND_COLOR: expected a hex color/],
    ['a logo over plain http', { BRAND_LOGO_URL: 'http://cdn.acme.example/logo.png' }, /BRAND_LOGO_URL: must be an https:\/\/ URL/],
    ['a javascript: logo', { BRAND_LOGO_URL: 'javascript:alert(1)' }, /BRAND_LOGO_URL: must be an https:\/\/ URL/],
    ['a data: logo', { BRAND_LOGO_URL: 'data:image/svg+xml,<svg/>' }, /BRAND_LOGO_URL: must be an https:\/\/ URL/],
    ['a relative logo', { BRAND_LOGO_URL: '/logo.png' }, /BRAND_LOGO_URL: expected an absolute https:\/\/ URL/],
    ['a logo URL with a password', { BRAND_LOGO_URL: 'https://user:pw@cdn.acme.example/logo.png' }, /BRAND_LOGO_URL: must not contain a user name or password/],
    ['a support link that is not https', { BRAND_SUPPORT_URL: 'javascript:alert(1)' }, /BRAND_SUPPORT_URL: must be an https:\/\/ URL/],
    ['a name too long for a header', { BRAND_NAME: 'x'.repeat(81) }, /BRAND_NAME: must be at most 80 characters/],
    ['a name with a line break', { BRAND_NAME: 'Acme\nIntranet' }, /BRAND_NAME: must not contain control characters/],
    ['an empty name', { BRAND_NAME: ' ' }, /BRAND_NAME: expected a non-empty string/],
    ['a misspelt brand setting', { BRAND_COLOUR: '#123456' }, /BRAND_COLOUR: is not a setting edgegate knows/],
  ];
  for (const [label, overrides, problem] of cases) {
    it(label, async () => {
      expect(await configProblems(() => gateway(overrides).fetch('/', { headers: API }))).toMatch(problem);
    });
  }

  it('the broken configuration’s page still carries the valid brand settings, not the invalid one', async () => {
    const res = await gateway({ BRAND_NAME: 'Acme Intranet', BRAND_COLOR: 'red;x' }).fetch('https://app.example.com/', { headers: NAVIGATE });
    const html = await res.text();
    expect(res.status).toBe(500);
    expect(html).toContain('<span>Acme Intranet</span>');
    expect(html).not.toContain('red;x');
  });
});
