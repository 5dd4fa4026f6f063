// An attacker holds an ID token — their own from another app of the same IdP, or one that leaked from a
// page — and presents it as `Authorization: Bearer` on an `api` rule. It is signed by the right issuer
// and, in the natural Entra ID / Keycloak / Google setup where API_AUDIENCE is a client id, names that
// audience. An ID token says who signed in to a client; it authorizes nothing (RFC 9068 2.1, RFC 8725
// 3.11), so it is refused whatever API_AUDIENCE is. Access tokens typed plain `JWT` keep working.
import { describe, expect, inject, it } from 'vitest';
import { API_CLIENT_ID, API_RESOURCE, CLIENT_ID } from '../setup/constants';
import type { Gateway } from '../support/gateway';
import { API, echoOf, identityHeaders, now, testIssuer } from './helpers';
import { bearer, challengeParams, jwtPayload, refusal, signedInAs, testIssuerJwt, userTokens, withRoutes } from '../routes/helpers';

const apiIdp = inject('idpIssuerApi');
const ROUTES = [
  { path: '/api/**', auth: 'api' },
  { path: '/whoami', auth: 'session', pass_id_token: true },
];

async function expectRefused(gw: Gateway, token: string) {
  const r = await refusal(await gw.fetch('/api/x', { headers: bearer(token) }));
  expect([r.status, r.error], r.message).toEqual([401, 'invalid_token']);
  expect(challengeParams(r.challenge)['error']).toBe('invalid_token');
}

describe('ID tokens from the real IdP', () => {
  it('one issued to another client, with API_AUDIENCE = that client id, is refused', async () => {
    const { id_token } = await userTokens({ user: 'alice', scope: 'openid' });
    expect(jwtPayload(id_token!)).toMatchObject({ aud: API_CLIENT_ID, sub: 'alice' });
    await expectRefused(withRoutes(ROUTES, { OIDC_ISSUER: apiIdp, API_AUDIENCE: API_CLIENT_ID }), id_token!);
  });

  it('one issued to this gateway, with API_AUDIENCE = OIDC_CLIENT_ID, is refused', async () => {
    const bob = await signedInAs('bob', ROUTES, { OIDC_ISSUER: apiIdp });
    const echo = await echoOf(await bob.fetch('/whoami', { headers: API }));
    const idToken = echo.headers['x-forwarded-id-token'] as string;
    expect(jwtPayload(idToken)).toMatchObject({ aud: CLIENT_ID, sub: 'bob' });
    await expectRefused(withRoutes(ROUTES, { OIDC_ISSUER: apiIdp, API_AUDIENCE: CLIENT_ID }), idToken);
  });

  it('the same IdP’s real access tokens (typ at+jwt) still work', async () => {
    const { access_token } = await userTokens({ user: 'alice', resource: API_RESOURCE, scope: 'openid api:read' });
    const echo = await echoOf(await withRoutes(ROUTES, { OIDC_ISSUER: apiIdp, API_AUDIENCE: API_RESOURCE }).fetch('/api/x', { headers: bearer(access_token) }));
    expect(identityHeaders(echo)['x-user']).toBe('alice');
  });
});

describe('ID tokens as other IdPs shape them (typ JWT, correctly signed, aud = API_AUDIENCE)', () => {
  const AUD = 'client-of-the-idp';
  const gw = () => withRoutes(ROUTES, { OIDC_ISSUER: testIssuer, API_AUDIENCE: AUD });
  const base = () => ({ iss: testIssuer, aud: AUD, sub: 'alice', iat: now(), exp: now() + 300 });

  it.each([
    ['with a nonce (any ID token from a flow that sent one)', { nonce: 'n-0S6_WzA2Mj', auth_time: now() }],
    ['with at_hash and azp, no nonce (Google)', { at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q', azp: AUD, email: 'alice@example.com' }],
    ['with c_hash (hybrid flow)', { c_hash: 'LDktKdoQak3Pk0cnXxCltA' }],
    ['with typ "ID" in the payload (Keycloak)', { typ: 'ID', azp: AUD, sid: 'a1b2' }],
    ['with token_use "id" (Amazon Cognito)', { token_use: 'id', 'cognito:username': 'alice' }],
    ['with no ID-token claim and no access-token claim (code flow, no nonce)', { auth_time: now() }],
  ])('%s is refused', async (_name, extra) => {
    await expectRefused(gw(), await testIssuerJwt({ claims: { ...base(), ...extra } }));
  });

  it.each([
    ['Keycloak (typ "Bearer", scope, azp)', { typ: 'Bearer', azp: 'spa', scope: 'openid email' }],
    ['Keycloak before 25 (typ "Bearer", with the nonce it copied from the ID token)', { typ: 'Bearer', azp: 'spa', nonce: 'n-0S6_WzA2Mj', scope: 'openid' }],
    ['Entra ID v2 (scp, azp; no typ header)', { scp: 'orders.read', azp: 'spa', ver: '2.0' }],
    ['Auth0 / Okta (scope or scp, client id)', { scope: 'read:orders', cid: 'spa' }],
    ['a client-credentials token (client_id, no sub)', { client_id: 'batch', scope: 'api', sub: null }],
  ])('a plain JWT access token from %s still works', async (_name, extra) => {
    const claims: Record<string, unknown> = { ...base(), ...extra };
    for (const [k, v] of Object.entries(claims)) if (v === null) delete claims[k];
    const header = 'ver' in extra ? { typ: null } : {};
    const echo = await echoOf(await gw().fetch('/api/x', { headers: bearer(await testIssuerJwt({ header, claims })) }));
    expect(identityHeaders(echo)['x-user']).toBeTruthy();
  });
});
