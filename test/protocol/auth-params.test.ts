// Extra authorization parameters: OIDC_AUTH_PARAMS (static: audience, resource, ui_locales, acr_values
// default, prompt…; protocol parameters refused), and login_hint / prompt from /_auth/login links.
import { describe, expect, it } from 'vitest';
import { API, atIdp, deliver, NAVIGATE, protocolGateway, redirectToIdp, upstreamIdentity } from './helpers';
import { configProblems } from '../support/config-errors';

async function authorizeParams(overrides: Record<string, unknown>, path = '/_auth/login?rd=%2F'): Promise<URLSearchParams> {
  return (await redirectToIdp(protocolGateway(overrides), path)).location.searchParams;
}

async function configMessage(overrides: Record<string, unknown>): Promise<string> {
  return configProblems(() => protocolGateway(overrides).fetch('/', { headers: API }));
}

describe('OIDC_AUTH_PARAMS', () => {
  it('adds static parameters from a TOML table, repeating resource (RFC 8707)', async () => {
    const p = await authorizeParams({
      OIDC_AUTH_PARAMS: { audience: 'https://api.example.com', ui_locales: 'de fr', acr_values: 'urn:example:mfa', resource: ['https://a.example/', 'https://b.example/'], max_results: 5 },
    });
    expect(p.get('audience')).toBe('https://api.example.com');
    expect(p.get('ui_locales')).toBe('de fr');
    expect(p.get('acr_values')).toBe('urn:example:mfa');
    expect(p.getAll('resource')).toEqual(['https://a.example/', 'https://b.example/']);
    expect(p.get('max_results')).toBe('5');
    // The protocol's own parameters are untouched.
    expect(p.get('response_type')).toBe('code');
    expect(p.get('code_challenge_method')).toBe('S256');
  });

  it('takes the same as a JSON string (.dev.vars, --var)', async () => {
    const p = await authorizeParams({ OIDC_AUTH_PARAMS: '{"audience":"https://api.example.com"}' });
    expect(p.get('audience')).toBe('https://api.example.com');
  });

  it('a static prompt is kept, and consent is added for offline_access', async () => {
    expect((await authorizeParams({ OIDC_AUTH_PARAMS: { prompt: 'select_account' } })).get('prompt')).toBe('select_account');
    expect((await authorizeParams({ OIDC_AUTH_PARAMS: { prompt: 'select_account' }, OIDC_SCOPES: 'openid offline_access' })).get('prompt')).toBe('select_account consent');
  });

  it('a step-up rule’s acr_values replace the default', async () => {
    const gw = protocolGateway({ OIDC_AUTH_PARAMS: { acr_values: 'urn:example:pwd' }, ROUTES: JSON.stringify([{ path: '/mfa/**', auth: 'session', acr_values: ['urn:example:mfa'] }]) });
    const { location } = await redirectToIdp(gw, '/mfa/page');
    expect(location.searchParams.getAll('acr_values')).toEqual(['urn:example:mfa']);
  });

  it('signs in at oidc-provider with extra parameters it understands', async () => {
    const gw = protocolGateway({ OIDC_AUTH_PARAMS: { ui_locales: 'en', claims: '{"id_token":{"email":null}}' } });
    const { location } = await redirectToIdp(gw);
    expect((await deliver(gw, await atIdp(location.href))).status).toBe(303);
    expect((await upstreamIdentity(gw))['x-user']).toBe('alice');
  });

  for (const name of ['state', 'nonce', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'response_type', 'response_mode', 'client_id', 'scope', 'request', 'request_uri', 'max_age', 'login_hint', 'id_token_hint', 'client_secret', 'Scope']) {
    it(`refuses the protocol parameter ${name}`, async () => {
      const message = await configMessage({ OIDC_AUTH_PARAMS: { [name]: 'x' } });
      expect(message).toMatch(new RegExp(`OIDC_AUTH_PARAMS\\.${name}: is a protocol parameter edgegate sets itself`));
    });
  }

  const invalid: [string, unknown, RegExp][] = [
    ['not a table', '["audience"]', /OIDC_AUTH_PARAMS: expected a table/],
    ['not JSON', 'audience=x', /OIDC_AUTH_PARAMS: expected a table/],
    ['a nested table', { audience: { x: 1 } }, /OIDC_AUTH_PARAMS\.audience: expected a non-empty string/],
    ['an empty value', { audience: '' }, /OIDC_AUTH_PARAMS\.audience: expected a non-empty string/],
    ['a control character', { ui_locales: 'de\nfr' }, /OIDC_AUTH_PARAMS\.ui_locales: expected a non-empty string/],
    ['a list for a single-valued parameter', { audience: ['a', 'b'] }, /OIDC_AUTH_PARAMS\.audience: expected a single value/],
    ['a resource that is not an absolute URI', { resource: 'api' }, /OIDC_AUTH_PARAMS\.resource: expected absolute URIs/],
    ['a resource with a fragment', { resource: 'https://api.example/#x' }, /OIDC_AUTH_PARAMS\.resource: must not contain a fragment/],
    ['prompt=none', { prompt: 'none' }, /OIDC_AUTH_PARAMS\.prompt: "none" cannot be a default/],
    ['an unknown prompt', { prompt: 'always' }, /OIDC_AUTH_PARAMS\.prompt: expected one or more of/],
    ['a bad name', { 'a b': 'x' }, /OIDC_AUTH_PARAMS\."a b": expected a parameter name/],
  ];
  for (const [label, value, message] of invalid) {
    it(`refuses ${label}`, async () => {
      expect(await configMessage({ OIDC_AUTH_PARAMS: value })).toMatch(message);
    });
  }
});

describe('login_hint and prompt from /_auth/login', () => {
  it('passes login_hint and prompt on', async () => {
    const p = await authorizeParams({}, '/_auth/login?rd=%2Fx&login_hint=alice%40example.com&prompt=login');
    expect(p.get('login_hint')).toBe('alice@example.com');
    expect(p.get('prompt')).toBe('login');
  });

  it('a link’s prompt replaces the configured one; consent stays for offline_access', async () => {
    const p = await authorizeParams({ OIDC_AUTH_PARAMS: { prompt: 'select_account' }, OIDC_SCOPES: 'openid offline_access' }, '/_auth/login?prompt=login');
    expect(p.get('prompt')).toBe('login consent');
  });

  it('signs in at oidc-provider with a login_hint', async () => {
    const gw = protocolGateway();
    const { location } = await redirectToIdp(gw, '/_auth/login?rd=%2F&login_hint=bob');
    expect((await deliver(gw, await atIdp(location.href, { user: 'bob' }))).status).toBe(303);
  });

  const bad: [string, string][] = [
    ['a control character in login_hint', 'login_hint=alice%0Aevil'],
    ['a login_hint over 320 characters', `login_hint=${'a'.repeat(321)}`],
    ['login_hint twice', 'login_hint=a&login_hint=b'],
    ['an unknown prompt', 'prompt=always'],
    ['prompt=none with another value', 'prompt=none%20login'],
  ];
  for (const [label, query] of bad) {
    it(`refuses ${label} with 400`, async () => {
      const res = await protocolGateway().fetch(`/_auth/login?rd=%2F&${query}`, { headers: NAVIGATE });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('Error bad_request');
    });
  }
});
