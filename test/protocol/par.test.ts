// Pushed Authorization Requests (RFC 9126), OIDC_USE_PAR = auto | always | never: the request goes to
// the IdP directly, the browser carries only client_id and request_uri; PAR failures are clear pages.
import { describe, expect, it } from 'vitest';
import { createTestIssuer } from '../support/flows';
import { gateway } from '../support/gateway';
import { API, atIdp, CLIENT_SECRET, clientKeys, deliver, NAVIGATE, parIssuer, PROTOCOL_CLIENTS, protocolGateway, redirectToIdp, testIssuer, upstreamIdentity } from './helpers';
import { configProblems } from '../support/config-errors';

function onlyClientIdAndRequestUri(location: URL): void {
  expect([...location.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
  expect(location.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
}

describe('OIDC_USE_PAR', () => {
  it('auto: pushes when the IdP requires it, and the sign-in completes', async () => {
    const gw = protocolGateway({ OIDC_ISSUER: parIssuer });
    const { location } = await redirectToIdp(gw);
    onlyClientIdAndRequestUri(location);
    expect(location.searchParams.get('client_id')).toBe(PROTOCOL_CLIENTS.basic);
    const res = await deliver(gw, await atIdp(location.href, { user: 'bob' }));
    expect(res.status, await res.clone().text()).toBe(303);
    expect((await upstreamIdentity(gw))['x-user']).toBe('bob');
  });

  it('auto: does not push when the IdP merely offers it', async () => {
    const { location } = await redirectToIdp(protocolGateway());
    expect(location.searchParams.get('request_uri')).toBeNull();
    expect(location.searchParams.get('state')).toBeTruthy();
  });

  it('always: pushes the hybrid flow with form_post and private_key_jwt, and it completes', async () => {
    const gw = protocolGateway({
      OIDC_USE_PAR: 'always',
      OIDC_RESPONSE_TYPE: 'code id_token',
      OIDC_CLIENT_ID: PROTOCOL_CLIENTS.keyJwt,
      OIDC_CLIENT_AUTH: 'private_key_jwt',
      OIDC_CLIENT_KEY: clientKeys.ecJwk,
      OIDC_AUTH_PARAMS: { ui_locales: 'en' },
    });
    const { location } = await redirectToIdp(gw);
    onlyClientIdAndRequestUri(location);
    const answer = await atIdp(location.href);
    expect(answer.method).toBe('POST');
    const res = await deliver(gw, answer);
    expect(res.status, await res.clone().text()).toBe(303);
    expect((await upstreamIdentity(gw))['x-user']).toBe('alice');
  });

  it('never: a configuration error when the IdP requires PAR', async () => {
    const problems = await configProblems(() => protocolGateway({ OIDC_ISSUER: parIssuer, OIDC_USE_PAR: 'never' }).fetch('/_auth/login', { headers: API }));
    expect(problems).toMatch(/OIDC_USE_PAR: is never, but the identity provider requires pushed authorization requests/);
  });

  it('always: a configuration error when the IdP has no PAR endpoint', async () => {
    const problems = await configProblems(() => gateway({ OIDC_ISSUER: testIssuer, OIDC_USE_PAR: 'always' }).fetch('/_auth/login', { headers: API }));
    expect(problems).toMatch(/OIDC_USE_PAR: is always, but the identity provider advertises no pushed_authorization_request_endpoint/);
  });

  it('refuses a value it does not know', async () => {
    expect(await configProblems(() => protocolGateway({ OIDC_USE_PAR: 'sometimes' }).fetch('/', { headers: API }))).toMatch(/OIDC_USE_PAR: expected one of auto, always, never/);
  });
});

describe('PAR errors: a clear page, nobody redirected', () => {
  async function expectParPage(res: Response, status: number, code: string, text?: RegExp): Promise<void> {
    const body = await res.text();
    expect(res.status, body.slice(0, 300)).toBe(status);
    expect(res.headers.get('location')).toBeNull();
    expect(body).toContain(`Error ${code}`);
    if (text) expect(body).toMatch(text);
    expect(body).not.toContain(CLIENT_SECRET);
  }

  it('the IdP refuses the pushed request (invalid_target for an unknown resource)', async () => {
    const gw = protocolGateway({ OIDC_ISSUER: parIssuer, OIDC_AUTH_PARAMS: { resource: 'https://unknown.example/' } });
    await expectParPage(await gw.fetch('/page', { headers: NAVIGATE }), 502, 'idp_error', /refused to start the sign-in \(invalid_target\)/);
  });

  it('the IdP refuses the client (a wrong secret)', async () => {
    const gw = protocolGateway({ OIDC_ISSUER: parIssuer, OIDC_CLIENT_SECRET: 'not-the-secret-0123456789-abcdefghij' });
    await expectParPage(await gw.fetch('/page', { headers: NAVIGATE }), 502, 'idp_error', /invalid_client/);
  });

  it('the PAR endpoint answers something that is not a PAR response', async () => {
    const issuer = await createTestIssuer(testIssuer, {});
    const broken = await createTestIssuer(testIssuer, { pushed_authorization_request_endpoint: `${issuer}/authorize`, require_pushed_authorization_requests: true });
    await expectParPage(await gateway({ OIDC_ISSUER: broken }).fetch('/page', { headers: NAVIGATE }), 502, 'idp_bad_response');
  });

  it('the PAR endpoint cannot be reached (503)', async () => {
    const broken = await createTestIssuer(testIssuer, { pushed_authorization_request_endpoint: 'http://127.0.0.1:9/par', require_pushed_authorization_requests: true });
    await expectParPage(await gateway({ OIDC_ISSUER: broken }).fetch('/page', { headers: NAVIGATE }), 503, 'idp_unreachable');
  });
});
