// Client authentication at the token endpoint, each method against oidc-provider (which enforces the
// method a client registered), the JWT assertions' shape at the test issuer, and what is refused.
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { CLIENT_ID } from '../setup/constants';
import { createTestIssuer, signInWithScript, tokenRequestFor } from '../support/flows';
import { gateway } from '../support/gateway';
import { API, CLIENT_SECRET, clientKeys, expectRefused, PROTOCOL_CLIENTS, protocolGateway, signInThrough, testIssuer, upstreamIdentity } from './helpers';
import { configProblems } from '../support/config-errors';

const methods: [string, Record<string, unknown>][] = [
  ['client_secret_basic (the default)', { OIDC_CLIENT_ID: PROTOCOL_CLIENTS.basic }],
  ['client_secret_post', { OIDC_CLIENT_ID: PROTOCOL_CLIENTS.post, OIDC_CLIENT_AUTH: 'client_secret_post' }],
  ['client_secret_jwt', { OIDC_CLIENT_ID: PROTOCOL_CLIENTS.secretJwt, OIDC_CLIENT_AUTH: 'client_secret_jwt' }],
  ['private_key_jwt with an RSA JWK', { OIDC_CLIENT_ID: PROTOCOL_CLIENTS.keyJwt, OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_KEY: clientKeys.rsaJwk }],
  ['private_key_jwt with an RSA PKCS#8 PEM', { OIDC_CLIENT_ID: PROTOCOL_CLIENTS.keyJwt, OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_KEY: clientKeys.rsaPem }],
  ['private_key_jwt with a PEM on one line (literal \\n, as in .dev.vars)', { OIDC_CLIENT_ID: PROTOCOL_CLIENTS.keyJwt, OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_KEY: clientKeys.rsaPem.trim().replace(/\n/g, '\\n') }],
  ['private_key_jwt with a P-256 JWK', { OIDC_CLIENT_ID: PROTOCOL_CLIENTS.keyJwt, OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_KEY: clientKeys.ecJwk }],
  ['private_key_jwt with a P-256 PKCS#8 PEM', { OIDC_CLIENT_ID: PROTOCOL_CLIENTS.keyJwt, OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_SECRET: undefined, OIDC_CLIENT_KEY: clientKeys.ecPem }],
  ['none (a public client: PKCE only, no secret)', { OIDC_CLIENT_ID: PROTOCOL_CLIENTS.public, OIDC_CLIENT_AUTH: 'none', OIDC_CLIENT_SECRET: undefined }],
];

describe('client authentication against oidc-provider', () => {
  for (const [label, config] of methods) {
    it(`signs in with ${label}`, async () => {
      const gw = protocolGateway(config);
      const res = await signInThrough(gw, { user: 'bob' });
      expect(res.status, await res.clone().text()).toBe(303);
      // The code was redeemed and the access token read UserInfo.
      expect(await upstreamIdentity(gw)).toMatchObject({ 'x-user': 'bob', 'x-user-email': 'bob@example.com' });
    });
  }

  it('is refused by the IdP with a key it does not know (502, nobody signed in)', async () => {
    const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const jwk = { ...(await crypto.subtle.exportKey('jwk', (other as CryptoKeyPair).privateKey)), kid: 'unknown' };
    const gw = protocolGateway({ OIDC_CLIENT_ID: PROTOCOL_CLIENTS.keyJwt, OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_KEY: JSON.stringify(jwk) });
    await expectRefused(gw, await signInThrough(gw), 502, 'idp_error');
  });
});

/** The assertion the gateway sent with its token request, at a test-issuer tenant that accepts every method. */
async function assertionOf(config: Record<string, unknown>) {
  const issuer = await createTestIssuer(testIssuer, { token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_jwt', 'private_key_jwt', 'none'] });
  const gw = gateway({ OIDC_ISSUER: issuer, ...config });
  const { callbackResponse, code } = await signInWithScript(gw);
  expect(callbackResponse.status, await callbackResponse.clone().text()).toBe(303);
  const record = await tokenRequestFor(issuer, code);
  const assertion = record.params['client_assertion'];
  return { issuer, record, header: assertion ? decodeProtectedHeader(assertion) : {}, payload: assertion ? decodeJwt(assertion) : {} };
}

describe('client assertions (RFC 7523)', () => {
  it('private_key_jwt: aud is the issuer identifier, iss = sub = client id, a fresh jti, a 60-second life, the JWK’s kid', async () => {
    const first = await assertionOf({ OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_KEY: clientKeys.rsaJwk });
    expect(first.record.params['client_assertion_type']).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(first.record.authorization).toBeNull();
    expect(first.record.body).not.toContain(CLIENT_SECRET);
    expect(first.header).toMatchObject({ alg: 'RS256', kid: 'gw-rsa' });
    expect(first.payload).toMatchObject({ aud: first.issuer, iss: CLIENT_ID, sub: CLIENT_ID });
    expect(first.payload.exp! - first.payload.iat!).toBeLessThanOrEqual(60);
    expect(first.payload.jti).toMatch(/^[\w-]{20,}$/);
    const second = await assertionOf({ OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_KEY: clientKeys.rsaJwk });
    expect(second.payload.jti).not.toBe(first.payload.jti);
  });

  it('private_key_jwt with a PEM: ES256 for a P-256 key, no kid', async () => {
    const { header } = await assertionOf({ OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_KEY: clientKeys.ecPem });
    expect(header.alg).toBe('ES256');
    expect(header.kid).toBeUndefined();
  });

  it('private_key_jwt passes x5t#S256 from the JWK on (Entra ID finds the certificate by it)', async () => {
    const jwk = JSON.stringify({ ...JSON.parse(clientKeys.rsaJwk), 'x5t#S256': 'dGh1bWJwcmludC1vZi10aGUtY2VydGlmaWNhdGUtMDE' });
    const { header } = await assertionOf({ OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_KEY: jwk });
    expect(header['x5t#S256']).toBe('dGh1bWJwcmludC1vZi10aGUtY2VydGlmaWNhdGUtMDE');
  });

  it('OIDC_CLIENT_ASSERTION_AUD = token_endpoint: aud is the token endpoint (Entra ID, ADFS), for both JWT methods', async () => {
    for (const config of [{ OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_KEY: clientKeys.rsaJwk }, { OIDC_CLIENT_AUTH: 'client_secret_jwt' }]) {
      const { issuer, payload } = await assertionOf({ ...config, OIDC_CLIENT_ASSERTION_AUD: 'token_endpoint' });
      expect(payload.aud).toBe(`${issuer}/token`);
    }
  });

  it('client_secret_jwt: HS256 over the client secret, aud is the issuer', async () => {
    const { issuer, header, payload, record } = await assertionOf({ OIDC_CLIENT_AUTH: 'client_secret_jwt' });
    expect(header.alg).toBe('HS256');
    expect(payload).toMatchObject({ aud: issuer, iss: CLIENT_ID, sub: CLIENT_ID });
    expect(record.body).not.toContain(CLIENT_SECRET);
  });

  it('none: only the client id, with the PKCE verifier', async () => {
    const { record } = await assertionOf({ OIDC_CLIENT_AUTH: 'none', OIDC_CLIENT_SECRET: undefined });
    expect(record.client).toMatchObject({ method: 'none', id: CLIENT_ID, secret: null });
    expect(record.params['code_verifier']).toMatch(/^[\w-]{43,}$/);
  });
});

describe('client authentication: configuration errors', () => {
  async function configMessage(overrides: Record<string, unknown>, issuerMetadata?: Record<string, unknown>): Promise<string> {
    const issuer = issuerMetadata ? await createTestIssuer(testIssuer, issuerMetadata) : testIssuer;
    const problems = await configProblems(() => gateway({ OIDC_ISSUER: issuer, ...overrides }).fetch('/_auth/login', { headers: API }));
    expect(problems).not.toContain(CLIENT_SECRET);
    return problems;
  }

  it('names OIDC_CLIENT_AUTH when the IdP does not advertise the method', async () => {
    const message = await configMessage({ OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_KEY: clientKeys.rsaJwk }, { token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'] });
    expect(message).toMatch(/OIDC_CLIENT_AUTH: is private_key_jwt, but the identity provider supports only client_secret_basic, client_secret_post/);
  });

  it('names the key when the IdP does not accept its algorithm for assertions', async () => {
    const message = await configMessage(
      { OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_KEY: clientKeys.ecJwk },
      { token_endpoint_auth_methods_supported: ['private_key_jwt'], token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256'] },
    );
    expect(message).toMatch(/OIDC_CLIENT_KEY: signs client assertions with ES256, but the identity provider accepts only RS256, PS256/);
  });

  it('names OIDC_CLIENT_AUTH when client_secret_jwt’s HS256 is not accepted', async () => {
    const message = await configMessage({ OIDC_CLIENT_AUTH: 'client_secret_jwt' }, { token_endpoint_auth_methods_supported: ['client_secret_jwt'], token_endpoint_auth_signing_alg_values_supported: ['RS256'] });
    expect(message).toMatch(/OIDC_CLIENT_AUTH: signs client assertions with HS256/);
  });

  const keys: [string, string, RegExp][] = [
    ['a public JWK', clientKeys.rsaPublicJwk, /OIDC_CLIENT_KEY: is a public key/],
    ['a PKCS#1 PEM', clientKeys.rsaPkcs1Pem, /OIDC_CLIENT_KEY: is a PKCS#1\/SEC1 PEM; convert it to PKCS#8/],
    ['a shared secret JWK', '{"kty":"oct","k":"c2VjcmV0"}', /OIDC_CLIENT_KEY: is a shared secret/],
    ['not a key at all', 'hunter2', /OIDC_CLIENT_KEY: expected a private JWK/],
    ['a broken PKCS#8 PEM', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----', /OIDC_CLIENT_KEY: is not a usable private key/],
  ];
  for (const [label, key, message] of keys) {
    it(`names OIDC_CLIENT_KEY when it is ${label}`, async () => {
      expect(await configMessage({ OIDC_CLIENT_AUTH: 'private_key_jwt', OIDC_CLIENT_KEY: key }, { token_endpoint_auth_methods_supported: ['private_key_jwt'] })).toMatch(message);
    });
  }
});
