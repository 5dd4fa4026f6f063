// Proves the harness itself inside workerd, without the worker: the local IdP (discovery, scripted
// login, code redemption), the test issuer (scripted codes, signing modes, request records), the echo
// upstream, and the cookie helpers. If this file fails, the gateway's tests cannot be trusted.
import { env } from 'cloudflare:workers';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { describe, expect, inject, it } from 'vitest';
// @ts-ignore -- plain ESM script without type declarations
import { signInAtIdp } from '../scripts/idp-login.mjs';
import { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SESSION_SECRET } from './setup/constants';
import type { EchoBody } from './setup/protocol';
import { CookieJar, parseSetCookie } from './support/cookies';
import { createTestIssuer, scriptCode, tokenRequestFor } from './support/flows';

const bindings = env as unknown as Record<string, string>;
const idpIssuer = inject('idpIssuer');
const testIssuerUrl = inject('testIssuerUrl');
const upstreamUrl = inject('upstreamUrl');

describe('bindings', () => {
  it('carry the servers started by the global setup', () => {
    expect(bindings.OIDC_ISSUER).toBe(idpIssuer);
    expect(bindings.UPSTREAM_URL).toBe(upstreamUrl);
    expect(bindings.TEST_ISSUER_URL).toBe(testIssuerUrl);
    expect(bindings.OIDC_CLIENT_ID).toBe(CLIENT_ID);
    expect(bindings.OIDC_CLIENT_SECRET).toBe(CLIENT_SECRET);
    expect(bindings.SESSION_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(bindings.SESSION_SECRET).toBe(SESSION_SECRET);
    expect(bindings.DEV_ALLOW_HTTP).toBe('true');
  });
});

describe('local IdP (oidc-provider), reached from workerd', () => {
  it('serves discovery', async () => {
    const res = await fetch(`${idpIssuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta.issuer).toBe(idpIssuer);
    expect(meta.authorization_endpoint).toEqual(expect.any(String));
    expect(meta.code_challenge_methods_supported).toContain('S256');
  });

  // Hand-built authorization request (PKCE S256) → signInAtIdp → code redeemed with client_secret_basic.
  async function signInAndRedeem(issuer: string, user: string) {
    const as = await oauth.processDiscoveryResponse(
      new URL(issuer),
      await oauth.discoveryRequest(new URL(issuer), { [oauth.allowInsecureRequests]: true }),
    );
    const client: oauth.Client = { client_id: CLIENT_ID };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const authorize = new URL(as.authorization_endpoint!);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile email',
      state,
      nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();

    const callbackUrl = new URL(String(await signInAtIdp(authorize.href, user)));
    expect(callbackUrl.origin + callbackUrl.pathname).toBe(REDIRECT_URI);
    expect(callbackUrl.searchParams.get('code')).toBeTruthy();
    expect(callbackUrl.searchParams.get('state')).toBe(state);
    expect(callbackUrl.searchParams.get('iss')).toBe(issuer);

    const params = oauth.validateAuthResponse(as, client, callbackUrl, state);
    const tokenRes = await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretBasic(CLIENT_SECRET), params, REDIRECT_URI, verifier, {
      [oauth.allowInsecureRequests]: true,
    });
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, tokenRes, { expectedNonce: nonce, requireIdToken: true });
    return oauth.getValidatedIdTokenClaims(tokens)!;
  }

  it('signs alice in via signInAtIdp; her ID token carries only sub & co. (profile via UserInfo)', async () => {
    const claims = await signInAndRedeem(idpIssuer, 'alice');
    expect(claims.sub).toBe('alice');
    expect(claims.email).toBeUndefined();
  });

  it('the full-claims IdP puts profile, email and groups in the ID token', async () => {
    const claims = await signInAndRedeem(inject('idpIssuerFullClaims'), 'bob');
    expect(claims).toMatchObject({ sub: 'bob', email: 'bob@example.com', groups: ['staff'] });
  });
});

describe('test issuer', () => {
  const jwks = jose.createRemoteJWKSet(new URL(`${testIssuerUrl}/jwks`));
  const redeem = (code: string, init: { basic?: boolean; verifier?: string | null } = {}) => {
    const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
    if (init.verifier !== null) body.set('code_verifier', init.verifier ?? 'v'.repeat(43));
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (init.basic === false) {
      body.set('client_id', CLIENT_ID);
      body.set('client_secret', CLIENT_SECRET);
    } else headers.authorization = `Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}`;
    return fetch(`${testIssuerUrl}/token`, { method: 'POST', headers, body });
  };

  it('serves discovery and a JWKS with RS256 and ES256 keys', async () => {
    const meta = (await (await fetch(`${testIssuerUrl}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      issuer: testIssuerUrl,
      token_endpoint: `${testIssuerUrl}/token`,
      jwks_uri: `${testIssuerUrl}/jwks`,
      id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      authorization_response_iss_parameter_supported: true,
      code_challenge_methods_supported: ['S256'],
    });
    const keys = ((await (await fetch(`${testIssuerUrl}/jwks`)).json()) as { keys: jose.JWK[] }).keys;
    expect(keys.map((k) => [k.kid, k.alg])).toEqual([['rs-1', 'RS256'], ['es-1', 'ES256']]);
    expect(keys.every((k) => k.d === undefined)).toBe(true);
  });

  it('redeems a scripted code once; the ID token verifies against its JWKS', async () => {
    const code = await scriptCode(testIssuerUrl, { idToken: { claims: { sub: 'scripted', nonce: 'n-1', email: 'x@example.com' } }, userinfo: { sub: 'scripted', name: 'S' } });
    const res = await redeem(code);
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as { id_token: string; access_token: string; token_type: string };
    expect(tokens.token_type).toBe('Bearer');
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, { issuer: testIssuerUrl, audience: CLIENT_ID, algorithms: ['RS256'] });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: 'rs-1' });
    expect(payload).toMatchObject({ sub: 'scripted', nonce: 'n-1', email: 'x@example.com' });
    expect(payload.exp! - payload.iat!).toBe(300);

    const record = await tokenRequestFor(testIssuerUrl, code);
    expect(record.client).toEqual({ method: 'client_secret_basic', id: CLIENT_ID, secret: CLIENT_SECRET });
    expect(record.params.code_verifier).toBe('v'.repeat(43));
    expect(record.params.grant_type).toBe('authorization_code');

    const ui = await fetch(`${testIssuerUrl}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(await ui.json()).toEqual({ sub: 'scripted', name: 'S' });
    expect((await fetch(`${testIssuerUrl}/userinfo`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);

    const again = await redeem(code);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('records client_secret_post, rejects a missing code_verifier and checks a scripted PKCE challenge', async () => {
    const code = await scriptCode(testIssuerUrl, {});
    expect((await redeem(code, { basic: false })).status).toBe(200);
    expect((await tokenRequestFor(testIssuerUrl)).client).toEqual({ method: 'client_secret_post', id: CLIENT_ID, secret: CLIENT_SECRET });

    expect((await redeem(await scriptCode(testIssuerUrl, {}), { verifier: null })).status).toBe(400);

    const verifier = oauth.generateRandomCodeVerifier();
    const codeChallenge = await oauth.calculatePKCECodeChallenge(verifier);
    expect((await redeem(await scriptCode(testIssuerUrl, { codeChallenge }), { verifier: 'x'.repeat(43) })).status).toBe(400);
    expect((await redeem(await scriptCode(testIssuerUrl, { codeChallenge }), { verifier })).status).toBe(200);
  });

  it('produces the negative ID tokens: claim overrides/deletion, none, wrong key, HS256 confusion, ES256', async () => {
    const idTokenFor = async (idToken: object) => {
      const res = await redeem(await scriptCode(testIssuerUrl, { idToken }));
      return ((await res.json()) as { id_token: string }).id_token;
    };
    const deleted = jose.decodeJwt(await idTokenFor({ claims: { exp: null, aud: 'other', iss: 'https://evil.example' } }));
    expect(deleted.exp).toBeUndefined();
    expect(deleted).toMatchObject({ aud: 'other', iss: 'https://evil.example' });

    const none = await idTokenFor({ sign: 'none' });
    expect(none.endsWith('.')).toBe(true);
    expect(jose.decodeProtectedHeader(none).alg).toBe('none');

    const wrong = await idTokenFor({ sign: 'wrong-key' });
    expect(jose.decodeProtectedHeader(wrong)).toMatchObject({ alg: 'RS256', kid: 'rs-1' });
    await expect(jose.jwtVerify(wrong, jwks)).rejects.toThrow();

    const hsSecret = await idTokenFor({ sign: 'HS256-with-secret' });
    expect(jose.decodeProtectedHeader(hsSecret).alg).toBe('HS256');
    await jose.jwtVerify(hsSecret, new TextEncoder().encode(CLIENT_SECRET)); // signed with the presented client secret

    const hsPub = await idTokenFor({ sign: 'HS256-with-public-key' });
    expect(jose.decodeProtectedHeader(hsPub)).toMatchObject({ alg: 'HS256', kid: 'rs-1' });

    const es = await idTokenFor({ sign: 'ES256', header: { typ: null, extra: 'x' } });
    const { protectedHeader } = await jose.jwtVerify(es, jwks, { algorithms: ['ES256'] });
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: 'es-1', extra: 'x' });
  });

  it('answers scripted token errors and serves separate issuers with their own metadata', async () => {
    const res = await redeem(await scriptCode(testIssuerUrl, { tokenStatus: 502, tokenBody: '<html>bad gateway</html>' }));
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('bad gateway');

    const issuer = await createTestIssuer(testIssuerUrl, { authorization_response_iss_parameter_supported: null, end_session_endpoint: 'x' });
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta.issuer).toBe(issuer);
    expect(meta.token_endpoint).toBe(`${issuer}/token`);
    expect(meta.authorization_response_iss_parameter_supported).toBeUndefined();
    const tokenRes = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`${CLIENT_ID}:${CLIENT_SECRET}`)}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: await scriptCode(testIssuerUrl), code_verifier: 'v'.repeat(43) }),
    });
    const { id_token } = (await tokenRes.json()) as { id_token: string };
    expect(jose.decodeJwt(id_token).iss).toBe(issuer);
  });
});

describe('echo upstream', () => {
  it('echoes method, path, query, headers and body', async () => {
    const res = await fetch(`${upstreamUrl}/some/path?a=1&a=2&b=x`, { method: 'POST', headers: { 'X-Test': 'hello', 'content-type': 'text/plain' }, body: 'payload' });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as EchoBody;
    expect(echo).toMatchObject({ method: 'POST', path: '/some/path', url: '/some/path?a=1&a=2&b=x', query: { a: ['1', '2'], b: 'x' }, body: 'payload' });
    expect(echo.headers['x-test']).toBe('hello');
  });

  it('answers /redirect and /status/<n>', async () => {
    const r = await fetch(`${upstreamUrl}/redirect`, { redirect: 'manual' });
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('/elsewhere');
    expect(r.headers.getSetCookie()).toEqual(['upstream=1']);
    expect((await fetch(`${upstreamUrl}/status/418`)).status).toBe(418);
    expect((await fetch(`${upstreamUrl}/status/204`)).status).toBe(204);
  });
});

describe('cookie helpers', () => {
  it('parseSetCookie exposes attributes', () => {
    const c = parseSetCookie('__Host-edgegate=abc.def; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=3600');
    expect(c).toMatchObject({ name: '__Host-edgegate', value: 'abc.def', path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: 3600, domain: undefined });
    expect(c.attributes).toEqual({ path: '/', secure: true, httponly: true, samesite: 'Lax', 'max-age': '3600' });
  });

  it('the jar stores, sends by path and deletes on Max-Age=0 / past Expires', () => {
    const jar = new CookieJar();
    const res = new Response(null, { headers: [['set-cookie', 'a=1; Path=/'], ['set-cookie', 'b=2; Path=/_auth'], ['set-cookie', 'c=3; Path=/; Max-Age=60']] });
    jar.store(res);
    expect(jar.header('https://localhost/x')).toBe('a=1; c=3');
    expect(jar.header('https://localhost/_auth/callback')).toBe('b=2; a=1; c=3');
    jar.store(new Response(null, { headers: [['set-cookie', 'a=; Path=/; Max-Age=0'], ['set-cookie', 'c=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT']] }));
    expect(jar.header('https://localhost/x')).toBe('');
    expect(jar.names()).toEqual(['b']);
  });
});
