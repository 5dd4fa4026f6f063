// An attacker sends tokens built to make the gateway work hard: a 1 MB Authorization header, a JWT of
// 100 segments, a header nested thousands of levels deep, a JWE with PBES2 and an iteration count of
// two billion (minutes of PBKDF2 for whoever tries to decrypt it) — as bearer tokens, logout tokens and
// ID tokens. Each is refused quickly, with no key fetched and nothing decrypted.
import { describe, expect, it } from 'vitest';
import { deliverLogoutToken } from '../support/backchannel';
import { callback, scriptCode, startSignIn } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { API, b64u, deepJwt, newIssuer, pbes2Jwe, requestsTo, timed } from './helpers';

const API_AUDIENCE = 'https://api.example/oversize';
const ROUTES = [{ path: '/api/**', auth: 'api' }];
/** Generous for CI; the real cost of each case is a few milliseconds. */
const QUICK_MS = 1500;

const HOSTILE: [string, () => string][] = [
  ['a 1 MB token', () => 'a'.repeat(1024 * 1024)],
  ['a 1 MB JWT-shaped token', () => `${'eyJ'.repeat(170_000)}.${'e30'.repeat(170_000)}.${'x'.repeat(10_000)}`],
  ['a JWT of 100 segments', () => Array.from({ length: 100 }, () => 'eyJhbGciOiJSUzI1NiJ9').join('.')],
  ['a JWT whose header nests 2000 arrays', () => deepJwt(2000)],
  ['a JWT whose payload nests 2000 objects', () => `${b64u('{"alg":"RS256","kid":"rs-1"}')}.${b64u(`${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`)}.${b64u('sig')}`],
  ['a JWE with PBES2 and p2c = 2^31', () => pbes2Jwe()],
  ['a JWE with PBES2 dressed as a JWS (3 parts)', () => pbes2Jwe().split('.').slice(0, 3).join('.')],
  ['a JWS with 4000 crit entries', () => `${b64u(JSON.stringify({ alg: 'RS256', kid: 'rs-1', crit: Array.from({ length: 4000 }, (_, i) => `x${i}`) }))}.${b64u('{}')}.${b64u('sig')}`],
];

async function atIssuer(): Promise<{ gw: Gateway; issuer: string }> {
  const issuer = await newIssuer();
  return { gw: gateway({ OIDC_ISSUER: issuer, API_AUDIENCE, ROUTES }), issuer };
}

describe('oversized and expensive tokens', () => {
  it.each(HOSTILE)('%s as a bearer token: 401 quickly, at most the one first JWKS read', async (_label, make) => {
    const { gw, issuer } = await atIssuer();
    const token = make();
    const { ms, value: res } = await timed(() => gw.fetch('/api/x', { headers: { ...API, authorization: `Bearer ${token}` } }));
    expect(res.status).toBe(401);
    expect(ms).toBeLessThan(QUICK_MS);
    expect(await res.text()).not.toContain(token.slice(0, 40));
    // A well-formed JWS within the size limit is checked against the keys (read once, then cached).
    expect(await requestsTo(issuer, '/jwks')).toBeLessThanOrEqual(1);
  });

  it.each(HOSTILE)('%s as a back-channel logout token: 400 quickly', async (_label, make) => {
    const { gw } = await atIssuer();
    const token = make();
    const { ms, value: res } = await timed(() => deliverLogoutToken(gw, token));
    expect(res.status).toBe(400);
    expect(ms).toBeLessThan(QUICK_MS);
  });

  it.each(HOSTILE)('%s as the ID token of a token response: 502 quickly, nobody signed in', async (_label, make) => {
    const { gw } = await atIssuer();
    const issuer = String(gw.env['OIDC_ISSUER']);
    const { state, codeChallenge } = await startSignIn(gw);
    const code = await scriptCode(issuer, { codeChallenge: codeChallenge!, tokenResponse: { id_token: make() } });
    const { ms, value: res } = await timed(() => callback(gw, { code, state, iss: issuer }));
    expect(res.status).toBe(502);
    expect(ms).toBeLessThan(QUICK_MS);
    expect(gw.jar.get('__Host-edgegate')).toBeUndefined();
  });

  it('a PBES2 JWE logout token is named as encrypted and never decrypted', async () => {
    const { gw } = await atIssuer();
    const res = await deliverLogoutToken(gw, pbes2Jwe());
    expect(((await res.json()) as { error_description: string }).error_description).toContain('(encrypted)');
  });

  it('a 1 MB Authorization header on a session route is passed along or refused, never a 500', async () => {
    const { gw } = await atIssuer();
    const res = await gw.fetch('/page', { headers: { ...API, authorization: `Basic ${'a'.repeat(1024 * 1024)}` } });
    expect(res.status).toBe(401);
  });
});
