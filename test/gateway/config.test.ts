// Invalid configuration is reported by name at the first request, and the gateway then refuses
// everything: it never runs half-configured.
import { describe, expect, inject, it } from 'vitest';
import { gateway } from '../support/gateway';
import { signIn } from '../support/flows';
import { setCookies } from '../support/cookies';
import { configProblems } from '../support/config-errors';
import { API, NAVIGATE } from './helpers';

/** The problems the operator is told (the log line); the public answer is generic (configProblems checks). */
async function configError(overrides: Record<string, unknown>, path = '/'): Promise<string> {
  return configProblems(() => gateway(overrides).fetch(path, { headers: API }));
}

describe('configuration errors', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['OIDC_ISSUER missing', { OIDC_ISSUER: undefined }, /OIDC_ISSUER: is required/],
    ['OIDC_ISSUER not a URL', { OIDC_ISSUER: 'idp.example.com' }, /OIDC_ISSUER: expected an absolute URL/],
    ['OIDC_ISSUER with a query', { OIDC_ISSUER: 'https://idp.example.com/?x=1' }, /OIDC_ISSUER: must not contain a query/],
    // Deployed unchanged, the shipped wrangler.toml must not read as an IdP outage.
    ['OIDC_ISSUER the shipped placeholder', { OIDC_ISSUER: 'https://idp.example.com' }, /OIDC_ISSUER: is https:\/\/idp\.example\.com, the placeholder from the shipped wrangler\.toml/],
    ['OIDC_ISSUER the shipped placeholder, with a slash', { OIDC_ISSUER: 'https://idp.example.com/' }, /OIDC_ISSUER: is https:\/\/idp\.example\.com, the placeholder/],
    ['OIDC_CLIENT_ID missing', { OIDC_CLIENT_ID: undefined }, /OIDC_CLIENT_ID: is required/],
    ['SESSION_SECRET missing', { SESSION_SECRET: undefined }, /SESSION_SECRET: is required/],
    ['SESSION_SECRET too short', { SESSION_SECRET: 'short-but-random-Xq9' }, /SESSION_SECRET: must be at least 32 characters/],
    ['SESSION_SECRET a placeholder', { SESSION_SECRET: 'changemechangemechangemechangeme' }, /SESSION_SECRET: looks like a placeholder/],
    ['OIDC_SCOPES without openid', { OIDC_SCOPES: 'profile email' }, /OIDC_SCOPES: must include "openid"/],
    ['SESSION_IDLE_TTL not a number', { SESSION_IDLE_TTL: 'a day' }, /SESSION_IDLE_TTL: expected a whole number/],
    ['SESSION_IDLE_TTL under KV’s minimum', { SESSION_IDLE_TTL: '30' }, /SESSION_IDLE_TTL: must be at least 60/],
    ['SESSION_MAX_TTL shorter than idle', { SESSION_IDLE_TTL: '7200', SESSION_MAX_TTL: '3600' }, /SESSION_MAX_TTL: must not be shorter/],
    ['CLOCK_SKEW too large', { CLOCK_SKEW: '3600' }, /CLOCK_SKEW: must be at most 300/],
    ['OIDC_CLIENT_AUTH unknown', { OIDC_CLIENT_AUTH: 'magic' }, /OIDC_CLIENT_AUTH: expected one of/],
    ['OIDC_CLIENT_SECRET missing for client_secret_basic', { OIDC_CLIENT_SECRET: undefined }, /OIDC_CLIENT_SECRET: is required for OIDC_CLIENT_AUTH = client_secret_basic/],
    ['OIDC_CLIENT_KEY missing for private_key_jwt', { OIDC_CLIENT_AUTH: 'private_key_jwt' }, /OIDC_CLIENT_KEY: is required/],
    ['OIDC_ID_TOKEN_ALGS with HS256', { OIDC_ID_TOKEN_ALGS: 'RS256,HS256' }, /OIDC_ID_TOKEN_ALGS: expected a comma-separated list/],
    ['OIDC_ID_TOKEN_ALGS with none', { OIDC_ID_TOKEN_ALGS: 'none' }, /OIDC_ID_TOKEN_ALGS/],
    ['OIDC_RESPONSE_TYPE unknown', { OIDC_RESPONSE_TYPE: 'token' }, /OIDC_RESPONSE_TYPE: expected one of "code", "code id_token", "id_token"/],
    ['a typo of a setting', { OIDC_SCOPE: 'openid' }, /OIDC_SCOPE: is not a setting edgegate knows/],
    ['ASSERTION_KEY not a private key', { ASSERTION_KEY: '{"kty":"EC","crv":"P-256","x":"a","y":"b"}' }, /ASSERTION_KEY: must be a private key/],
    ['ASSERTION_KEY a shared secret', { ASSERTION_KEY: '{"kty":"oct","k":"c2VjcmV0"}' }, /ASSERTION_KEY: must be an asymmetric key/],
    ['ASSERTION_KEY not JSON', { ASSERTION_KEY: '-----BEGIN PRIVATE KEY-----' }, /ASSERTION_KEY: expected a private JWK/],
    ['CLAIM_HEADERS naming a reserved header', { CLAIM_HEADERS: { department: 'Cookie' } }, /CLAIM_HEADERS: department: "Cookie" is reserved/],
    ['CLAIM_HEADERS with a bad header name', { CLAIM_HEADERS: '{"department":"X User"}' }, /CLAIM_HEADERS: department: expected a header name/],
    ['IDENTITY_HEADER_BUDGET too small', { IDENTITY_HEADER_BUDGET: '100' }, /IDENTITY_HEADER_BUDGET: must be at least 1024/],
    ['http issuer without DEV_ALLOW_HTTP', { DEV_ALLOW_HTTP: undefined }, /OIDC_ISSUER: must be an https:\/\/ URL/],
    ['DEV_ALLOW_HTTP with a non-loopback issuer', { OIDC_ISSUER: 'http://idp.example.com' }, /OIDC_ISSUER: must be an https:\/\/ URL/],
    ['DEV_ALLOW_HTTP not a boolean', { DEV_ALLOW_HTTP: 'sure' }, /DEV_ALLOW_HTTP: expected "true" or "false"/],
    ['SESSIONS binding missing', { SESSIONS: undefined }, /SESSIONS: must be a KV namespace binding/],
  ];

  for (const [label, overrides, message] of cases) {
    it(`names the problem: ${label}`, async () => {
      expect(await configError(overrides)).toMatch(message);
    });
  }

  it('lists every problem at once', async () => {
    const problems = await configError({ OIDC_CLIENT_ID: undefined, SESSION_SECRET: undefined });
    expect(problems).toMatch(/OIDC_CLIENT_ID/);
    expect(problems).toMatch(/SESSION_SECRET/);
  });

  // The tests' requests are a local demo (https://localhost, DEV_ALLOW_HTTP, loopback issuer): its page shows the details.
  it('never echoes a secret value', async () => {
    const secret = 'short-secret-VALUE-xyz';
    const gw = gateway({ SESSION_SECRET: secret, OIDC_CLIENT_SECRET: 'client-secret-VALUE' });
    const page = await (await gw.fetch('/', { headers: NAVIGATE })).text();
    expect(page).toContain('SESSION_SECRET');
    expect(page).not.toContain(secret);
    expect(page).not.toContain('client-secret-VALUE');
  });

  it('refuses every path, gateway endpoints included, with a readable page for browsers', async () => {
    const gw = gateway({ OIDC_ISSUER: undefined });
    for (const path of ['/', '/_auth/login', '/_auth/callback?code=x&state=y', '/assets/app.css']) {
      const res = await gw.fetch(path, { headers: NAVIGATE });
      expect(res.status, path).toBe(500);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(await res.text()).toContain('OIDC_ISSUER');
    }
  });

  it('reports an issuer that differs from the IdP’s own (trailing slash) by name', async () => {
    expect(await configError({ OIDC_ISSUER: `${inject('idpIssuer')}/` }, '/_auth/login')).toMatch(/OIDC_ISSUER: is ".*\/" but the identity provider calls itself/);
  });

  it('reports a client authentication method the IdP does not advertise', async () => {
    const problems = await configError({ OIDC_CLIENT_AUTH: 'client_secret_jwt', OIDC_ISSUER: inject('testIssuerUrl') }, '/_auth/login');
    // The test issuer advertises only basic and post.
    expect(problems).toMatch(/OIDC_CLIENT_AUTH: is client_secret_jwt, but the identity provider supports only/);
  });

  it('accepts numbers and booleans as TOML gives them', async () => {
    const gw = gateway({ SESSION_IDLE_TTL: 3600, DEV_ALLOW_HTTP: true, CLOCK_SKEW: 10 });
    const res = await gw.fetch('/', { headers: NAVIGATE });
    expect(res.status).toBe(302);
  });
});

describe('plain HTTP', () => {
  it('is refused outside loopback, even with DEV_ALLOW_HTTP', async () => {
    const gw = gateway();
    const res = await gw.fetch('http://app.example.com/', { headers: API });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('https_required');
  });

  it('on loopback with DEV_ALLOW_HTTP uses un-prefixed, non-Secure cookies and an http callback', async () => {
    const gw = gateway();
    const res = await gw.fetch('http://localhost:8787/', { headers: NAVIGATE });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('redirect_uri')).toBe('http://localhost:8787/_auth/callback');
    const [tx] = setCookies(res);
    expect(tx!.name).toMatch(/^edgegate-tx-/);
    expect(tx!.secure).toBeFalsy();
  });

  it('on loopback without DEV_ALLOW_HTTP is refused (no downgrade of cookies)', async () => {
    // An https issuer so that the configuration itself is valid.
    const gw = gateway({ DEV_ALLOW_HTTP: undefined, OIDC_ISSUER: 'https://idp.example.org' });
    const res = await gw.fetch('http://localhost:8787/', { headers: API });
    expect(res.status).toBe(400);
  });

  it('on HTTPS always uses the __Host- cookies, even with DEV_ALLOW_HTTP', async () => {
    const gw = gateway();
    await signIn(gw);
    expect(gw.jar.names()).toContain('__Host-edgegate');
  });
});
