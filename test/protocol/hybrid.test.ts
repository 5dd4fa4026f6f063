// The hybrid flow, OIDC_RESPONSE_TYPE = "code id_token" (Core 3.3) with form_post: the front-channel ID
// token is verified — signature, iss, aud, nonce, exp and c_hash over the code with the hash its alg
// names — before the code is redeemed; the token endpoint's ID token must name the same iss and sub.
import { describe, expect, it } from 'vitest';
import { CLIENT_ID } from '../setup/constants';
import { scriptCode, startSignIn } from '../support/flows';
import { gateway } from '../support/gateway';
import { atIdp, deliver, expectRefused, hybridTestIssuer, leftHalfHash, nowS, protocolGateway, redirectToIdp, signAtTestIssuer, testIssuer, upstreamIdentity } from './helpers';
import { configProblems } from '../support/config-errors';

describe('hybrid flow against oidc-provider', () => {
  it('asks for "code id_token" with form_post and PKCE, verifies both ID tokens and signs in', async () => {
    const gw = protocolGateway({ OIDC_RESPONSE_TYPE: 'code id_token' });
    const { location } = await redirectToIdp(gw);
    const p = location.searchParams;
    expect([p.get('response_type'), p.get('response_mode'), p.get('code_challenge_method')]).toEqual(['code id_token', 'form_post', 'S256']);
    const answer = await atIdp(location.href, { user: 'bob' });
    if (answer.method !== 'POST') throw new Error('expected a form_post answer');
    expect(answer.body.get('id_token')).toMatch(/^eyJ/);
    expect(answer.body.get('code')).toBeTruthy();
    const res = await deliver(gw, answer);
    expect(res.status, await res.clone().text()).toBe(303);
    // The code was redeemed: an access token read UserInfo (the ID token carries only sub).
    expect(await upstreamIdentity(gw)).toMatchObject({ 'x-user': 'bob', 'x-user-email': 'bob@example.com' });
  });
});

interface FrontChannel {
  /** Claims of the front-channel ID token, over the defaults; `undefined` deletes. */
  claims?: Record<string, unknown>;
  /** How c_hash is made: over the code with this hash (default SHA-256), or a literal value, or left out. */
  cHash?: 'SHA-256' | 'SHA-384' | 'SHA-512' | { literal: string } | null;
  sign?: 'RS256' | 'ES256' | 'wrong-key';
  /** s_hash (FAPI 1) over the state, made with SHA-256. */
  sHash?: boolean;
  /** Claims of the token endpoint's ID token. */
  tokenEndpointClaims?: Record<string, unknown>;
  dropIdToken?: boolean;
}

/** A hybrid sign-in at the test issuer with a hand-made front-channel ID token. */
async function hybridAtTestIssuer(front: FrontChannel = {}) {
  const issuer = await hybridTestIssuer();
  const gw = gateway({ OIDC_ISSUER: issuer, OIDC_RESPONSE_TYPE: 'code id_token' });
  const started = await startSignIn(gw, '/hybrid');
  expect(started.authorizeUrl.searchParams.get('response_mode')).toBe('form_post');
  const code = await scriptCode(issuer, {
    idToken: { claims: { nonce: started.nonce, ...front.tokenEndpointClaims } },
    codeChallenge: started.codeChallenge!,
  });
  const cHash = front.cHash === undefined ? 'SHA-256' : front.cHash;
  const claims: Record<string, unknown> = {
    iss: issuer,
    aud: CLIENT_ID,
    sub: 'test-user',
    nonce: started.nonce,
    iat: nowS(),
    exp: nowS() + 300,
    ...(cHash === null ? {} : { c_hash: typeof cHash === 'string' ? await leftHalfHash(code, cHash) : cHash.literal }),
    ...(front.sHash ? { s_hash: await leftHalfHash(started.state) } : {}),
  };
  for (const [k, v] of Object.entries(front.claims ?? {})) {
    if (v === undefined) delete claims[k];
    else claims[k] = v;
  }
  const body = new URLSearchParams({ code, state: started.state, iss: issuer });
  if (!front.dropIdToken) body.set('id_token', await signAtTestIssuer(claims, front.sign ?? 'RS256'));
  const res = await deliver(gw, { method: 'POST', url: 'https://localhost/_auth/callback', body });
  const redeemed = (await fetch(`${new URL(testIssuer).origin}/control/token-requests/${encodeURIComponent(code)}`)).status === 200;
  return { gw, res, redeemed };
}

describe('hybrid flow: the front-channel ID token', () => {
  it('accepts a correct one (positive control) and redeems the code', async () => {
    const { res, redeemed } = await hybridAtTestIssuer();
    expect(res.status, await res.clone().text()).toBe(303);
    expect(res.headers.get('location')).toBe('/hybrid');
    expect(redeemed).toBe(true);
  });

  it('accepts an ES256 one, its c_hash the left half of SHA-256', async () => {
    const { res } = await hybridAtTestIssuer({ sign: 'ES256' });
    expect(res.status, await res.clone().text()).toBe(303);
  });

  it('accepts one with the s_hash of the state', async () => {
    const { res } = await hybridAtTestIssuer({ sHash: true });
    expect(res.status, await res.clone().text()).toBe(303);
  });

  const refused: [string, FrontChannel][] = [
    ['without c_hash', { cHash: null }],
    ['with the c_hash of another code', { cHash: { literal: 'AAAAAAAAAAAAAAAAAAAAAA' } }],
    ['with a c_hash made with SHA-512 although the token is RS256', { cHash: 'SHA-512' }],
    ['with a c_hash made with SHA-384 although the token is ES256', { cHash: 'SHA-384', sign: 'ES256' }],
    ['with another nonce', { claims: { nonce: 'not-this-sign-in' } }],
    ['without a nonce', { claims: { nonce: undefined } }],
    ['expired', { claims: { exp: nowS() - 3600, iat: nowS() - 7200 } }],
    ['issued more than an hour ago, though not expired', { claims: { iat: nowS() - 3700 } }],
    ['with the s_hash of another state', { claims: { s_hash: 'AAAAAAAAAAAAAAAAAAAAAA' } }],
    ['with an auth_time that is not a number', { claims: { auth_time: 'yesterday' } }],
    ['for another client', { claims: { aud: 'someone-else' } }],
    ['from another issuer', { claims: { iss: 'https://evil.example' } }],
    ['signed by a key the issuer does not publish', { sign: 'wrong-key' }],
  ];
  for (const [label, front] of refused) {
    it(`refuses one ${label}, before the code is redeemed`, async () => {
      const { gw, res, redeemed } = await hybridAtTestIssuer(front);
      await expectRefused(gw, res, 502, 'id_token_invalid');
      expect(redeemed).toBe(false);
    });
  }

  it('refuses a hybrid response without an ID token', async () => {
    const { gw, res, redeemed } = await hybridAtTestIssuer({ dropIdToken: true });
    await expectRefused(gw, res, 502, 'id_token_invalid');
    expect(redeemed).toBe(false);
  });

  it('refuses when the token endpoint ID token names another sub', async () => {
    const { gw, res, redeemed } = await hybridAtTestIssuer({ tokenEndpointClaims: { sub: 'mallory' } });
    expect(redeemed).toBe(true);
    await expectRefused(gw, res, 502, 'id_token_invalid');
  });
});

describe('hybrid flow: configuration', () => {
  it('refuses OIDC_RESPONSE_MODE = query with "code id_token" (an ID token never travels in a URL)', async () => {
    const problems = await configProblems(() => protocolGateway({ OIDC_RESPONSE_TYPE: 'code id_token', OIDC_RESPONSE_MODE: 'query' }).fetch('/', { headers: { accept: 'application/json' } }));
    expect(problems).toMatch(/OIDC_RESPONSE_MODE: must be form_post/);
  });

  it('names OIDC_RESPONSE_TYPE when the IdP does not offer the hybrid flow', async () => {
    const codeOnly = await hybridTestIssuer({ response_types_supported: ['code'] });
    const problems = await configProblems(() => gateway({ OIDC_ISSUER: codeOnly, OIDC_RESPONSE_TYPE: 'code id_token' }).fetch('/_auth/login', { headers: { accept: 'application/json' } }));
    expect(problems).toMatch(/OIDC_RESPONSE_TYPE: is "code id_token", but the identity provider supports only "code"/);
  });

  it('names OIDC_RESPONSE_MODE when the IdP does not offer form_post', async () => {
    const noFormPost = await hybridTestIssuer({ response_modes_supported: ['query', 'fragment'] });
    const problems = await configProblems(() => gateway({ OIDC_ISSUER: noFormPost, OIDC_RESPONSE_MODE: 'form_post' }).fetch('/_auth/login', { headers: { accept: 'application/json' } }));
    expect(problems).toMatch(/OIDC_RESPONSE_MODE: is form_post/);
  });
});
