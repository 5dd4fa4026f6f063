// RFC 9728 Protected Resource Metadata: the documents the gateway publishes for API_AUDIENCE, and the
// `resource_metadata` every api 401/403 challenge carries (plus `scope` where the rule requires some).
import { describe, expect, inject, it } from 'vitest';
import { API_RESOURCE, CLIENT_ID } from '../setup/constants';
import { idpsGateway } from '../idps/helpers';
import { gateway } from '../support/gateway';
import { GATEWAY_RESOURCE, ORIGIN, apiGateway, apiIdp, challenges, tokensFor } from './helpers';

const METADATA = `${ORIGIN}/.well-known/oauth-protected-resource/mcp`;
const ROUTES = [
  { path: '/mcp/admin/**', auth: 'api', scopes: ['mcp:admin'] },
  { path: '/mcp/**', auth: 'api', scopes: ['mcp:tools'] },
  { path: '/other-host/**', host: 'elsewhere.example', auth: 'api', scopes: ['elsewhere:read'] },
  { path: '/members/**', auth: 'api', allow: { groups: ['nobody'] } },
];
const JSON_CLIENT = { accept: 'application/json' };

describe('the metadata document', () => {
  it('is published at the path-suffixed well-known URL formed from API_AUDIENCE (RFC 9728 3.1)', async () => {
    const gw = apiGateway(ROUTES, { API_DOCUMENTATION_URL: 'https://docs.example.com/mcp', API_RESOURCE_NAME: 'Example MCP server' });
    const res = await gw.fetch(METADATA);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.json()).toEqual({
      resource: GATEWAY_RESOURCE,
      authorization_servers: [apiIdp],
      // The api rules of this host; not the rule for elsewhere.example.
      scopes_supported: ['mcp:admin', 'mcp:tools'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256', 'RS256', 'EdDSA']),
      resource_name: 'Example MCP server',
      resource_documentation: 'https://docs.example.com/mcp',
    });
  });

  it('names the host by default, and no documentation unless configured', async () => {
    const body = (await (await apiGateway(ROUTES).fetch(METADATA)).json()) as Record<string, unknown>;
    expect(body['resource_name']).toBe('localhost');
    expect(body).not.toHaveProperty('resource_documentation');
    expect(body['dpop_signing_alg_values_supported']).not.toContain('HS256');
    expect(body['dpop_signing_alg_values_supported']).not.toContain('none');
  });

  it('says DPoP-bound tokens are required when every api rule requires them', async () => {
    const routes = [{ path: '/mcp/**', auth: 'api', dpop: 'required' }];
    expect(await (await apiGateway(routes).fetch(METADATA)).json()).toMatchObject({ dpop_bound_access_tokens_required: true });
    const mixed = [...routes, { path: '/v1/**', auth: 'api' }];
    expect(await (await apiGateway(mixed).fetch(METADATA)).json()).not.toHaveProperty('dpop_bound_access_tokens_required');
  });

  it('an audience on the origin itself is published at the root well-known URL', async () => {
    const res = await apiGateway(ROUTES, { API_AUDIENCE: ORIGIN }).fetch('/.well-known/oauth-protected-resource');
    expect(await res.json()).toMatchObject({ resource: ORIGIN });
  });

  it('an audience that is not a URL of this host (api://…, another host) is published at the root, as configured', async () => {
    for (const audience of ['api://7f1c2d3e-example', API_RESOURCE]) {
      const gw = apiGateway(ROUTES, { API_AUDIENCE: audience });
      expect(await (await gw.fetch('/.well-known/oauth-protected-resource')).json()).toMatchObject({ resource: audience, authorization_servers: [apiIdp] });
      const challenge = challenges((await gw.fetch('/mcp/x', { headers: JSON_CLIENT })).headers.get('www-authenticate'));
      expect(challenge['Bearer']!['resource_metadata']).toBe(`${ORIGIN}/.well-known/oauth-protected-resource`);
    }
  });

  it('other URLs under the well-known path, and every one without API_AUDIENCE, are not the gateway’s: they go on like any request', async () => {
    for (const [gw, path] of [
      [apiGateway(ROUTES), '/.well-known/oauth-protected-resource'],
      [apiGateway(ROUTES), '/.well-known/oauth-protected-resource/other'],
      [gateway({ ROUTES, OIDC_ISSUER: apiIdp }), '/.well-known/oauth-protected-resource/mcp'],
    ] as const) {
      // No rule matches, so a session is required: a JSON client gets the gateway's 401, not metadata.
      const res = await gw.fetch(path, { headers: JSON_CLIENT });
      expect(res.status, path).toBe(401);
      expect(((await res.json()) as Record<string, unknown>)['error']).toBe('unauthenticated');
    }
    const publicRoutes = [{ path: '/.well-known/**', auth: 'public' }];
    const echo = await gateway({ ROUTES: publicRoutes, OIDC_ISSUER: apiIdp }).fetch('/.well-known/oauth-protected-resource/mcp');
    expect(((await echo.json()) as { path: string }).path).toBe('/.well-known/oauth-protected-resource/mcp');
  });
});

describe('with several identity providers (IDPS)', () => {
  const idps = [
    { name: 'corp', issuer: apiIdp, client_id: CLIENT_ID, api_audience: GATEWAY_RESOURCE },
    { name: 'partner', issuer: inject('idpIssuer'), client_id: CLIENT_ID, api_audience: GATEWAY_RESOURCE },
    { name: 'other', issuer: inject('idpIssuerFullClaims'), client_id: CLIENT_ID, api_audience: 'https://localhost/other-api' },
  ];

  it('one document per audience, naming every IdP whose tokens count for it', async () => {
    const gw = idpsGateway(idps, { ROUTES });
    expect(await (await gw.fetch(METADATA)).json()).toMatchObject({ resource: GATEWAY_RESOURCE, authorization_servers: [apiIdp, inject('idpIssuer')] });
    const other = await gw.fetch(`${ORIGIN}/.well-known/oauth-protected-resource/other-api`);
    expect(await other.json()).toMatchObject({ resource: 'https://localhost/other-api', authorization_servers: [inject('idpIssuerFullClaims')] });
  });

  it('a rule limited to some IdPs points at their audience', async () => {
    const gw = idpsGateway(idps, { ROUTES: [{ path: '/other-api/**', auth: 'api', idps: ['other'] }] });
    const res = await gw.fetch('/other-api/x', { headers: JSON_CLIENT });
    expect(challenges(res.headers.get('www-authenticate'))['Bearer']!['resource_metadata']).toBe(`${ORIGIN}/.well-known/oauth-protected-resource/other-api`);
  });
});

describe('challenges on api refusals', () => {
  it('401 without a token: resource_metadata and the rule’s scope, Bearer and DPoP offered', async () => {
    const res = await apiGateway(ROUTES).fetch('/mcp/tools/list', { headers: JSON_CLIENT });
    expect(res.status).toBe(401);
    const c = challenges(res.headers.get('www-authenticate'));
    expect(c['Bearer']).toMatchObject({ realm: 'edgegate', resource_metadata: METADATA, scope: 'mcp:tools' });
    expect(c['DPoP']).toMatchObject({ resource_metadata: METADATA });
    expect(c['DPoP']!['algs']!.split(' ')).toContain('ES256');
  });

  it('401 invalid_token keeps its error and gains resource_metadata', async () => {
    const res = await apiGateway(ROUTES).fetch('/mcp/tools/list', { headers: { ...JSON_CLIENT, authorization: 'Bearer not-a-token' } });
    expect(res.status).toBe(401);
    expect(challenges(res.headers.get('www-authenticate'))['Bearer']).toMatchObject({ error: 'invalid_token', resource_metadata: METADATA, scope: 'mcp:tools' });
  });

  it('403 insufficient_scope names the scope and the metadata', async () => {
    const { access_token } = await tokensFor({ scope: 'openid mcp:tools' });
    const res = await apiGateway(ROUTES).fetch('/mcp/admin/x', { headers: { ...JSON_CLIENT, authorization: `Bearer ${access_token}` } });
    expect(res.status).toBe(403);
    expect(challenges(res.headers.get('www-authenticate'))['Bearer']).toMatchObject({ error: 'insufficient_scope', scope: 'mcp:admin', resource_metadata: METADATA });
  });

  it('a rule without scopes has no scope parameter', async () => {
    const res = await apiGateway([{ path: '/mcp/**', auth: 'api' }]).fetch('/mcp/x', { headers: JSON_CLIENT });
    expect(challenges(res.headers.get('www-authenticate'))['Bearer']).not.toHaveProperty('scope');
  });

  it('without API_AUDIENCE nothing is advertised (no token is accepted)', async () => {
    const res = await gateway({ ROUTES, OIDC_ISSUER: apiIdp }).fetch('/mcp/x', { headers: JSON_CLIENT });
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="edgegate"');
  });
});

describe('a client that knows only the API’s URL', () => {
  it('reads the 401, fetches the metadata, gets a token for that resource and calls the API', async () => {
    const gw = apiGateway(ROUTES);
    const api = `${ORIGIN}/mcp/tools/list`;

    // 1. The unauthenticated call: where is the metadata, and which scope does this call need?
    const first = await gw.fetch(api, { headers: JSON_CLIENT });
    expect(first.status).toBe(401);
    const bearer = challenges(first.headers.get('www-authenticate'))['Bearer']!;
    const metadataUrl = bearer['resource_metadata']!;
    const scope = bearer['scope']!;

    // 2. The metadata; RFC 9728 3.3: `resource` must be the identifier the URL came from, on the
    //    origin the client called and a prefix of its path.
    const metadata = (await (await gw.fetch(metadataUrl)).json()) as { resource: string; authorization_servers: string[] };
    expect(new URL(metadata.resource).origin).toBe(new URL(api).origin);
    expect(new URL(api).pathname.startsWith(new URL(metadata.resource).pathname)).toBe(true);

    // 3. A token from the first authorization server, for that resource (RFC 8707) and scope.
    const tokens = await tokensFor({ issuer: metadata.authorization_servers[0]!, resource: metadata.resource, scope: `openid ${scope}` });

    // 4. The call again, with the token.
    const res = await gw.fetch(api, { headers: { ...JSON_CLIENT, authorization: `Bearer ${tokens.access_token}` } });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as { headers: Record<string, string> };
    expect(echo.headers['x-user']).toBe('alice');
  });
});
