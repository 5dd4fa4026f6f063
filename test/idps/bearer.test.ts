// APIs from many issuers: an api rule accepts bearer tokens from each of its IdPs, each checked against
// its own issuer, keys and api_audience; a token from an IdP the rule does not name is refused.
import { describe, expect, inject, it } from 'vitest';
import { API_RESOURCE, CLIENT_ID } from '../setup/constants';
import { testIssuerJwt, userTokens } from '../routes/helpers';
import { EVIL, evilIssuer, idpsGateway } from './helpers';

const API = { name: 'api', issuer: inject('idpIssuerApi'), client_id: CLIENT_ID, api_audience: API_RESOURCE };
const ROUTES = [
  { path: '/shared/**', auth: 'api', idps: ['api', 'evil'] },
  { path: '/evil-only/**', auth: 'api', idps: ['evil'] },
];

describe('bearer tokens from several IdPs', () => {
  it('tokens from A and B pass a shared rule; A’s token is refused on a B-only rule', async () => {
    const gw = idpsGateway([API, { ...EVIL, api_audience: API_RESOURCE }], { ROUTES });
    const fromA = (await userTokens({ resource: API_RESOURCE, scope: 'openid api:read' })).access_token;
    const now = Math.floor(Date.now() / 1000);
    const fromB = await testIssuerJwt({ header: { typ: 'at+jwt' }, claims: { iss: evilIssuer, aud: API_RESOURCE, sub: 'bob', client_id: 'x', scope: 'api:read', iat: now, exp: now + 300 } });

    for (const [token, idp] of [[fromA, 'api'], [fromB, 'evil']] as const) {
      const res = await gw.fetch('/shared/orders', { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, cookies: false });
      expect(res.status).toBe(200);
      const echo = (await res.json()) as { headers: Record<string, string> };
      expect(echo.headers['x-user-idp']).toBe(idp);
    }
    const refused = await gw.fetch('/evil-only/orders', { headers: { authorization: `Bearer ${fromA}`, accept: 'application/json' }, cookies: false });
    expect(refused.status).toBe(401);
    expect((await gw.fetch('/evil-only/orders', { headers: { authorization: `Bearer ${fromB}` }, cookies: false })).status).toBe(200);
  });
});
