// An attacker sends tokens naming key ids the IdP never published — bearer tokens on an api rule and
// back-channel logout tokens, which anyone can post — hoping that each one makes the gateway re-read
// the IdP's JWKS (a request storm at the IdP, and slow answers for everyone). The gateway re-reads the
// JWKS for an unknown `kid` at most once per cooldown (30 s), sequential or concurrent.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLIENT_ID } from '../setup/constants';
import { deliverLogoutToken } from '../support/backchannel';
import { gateway, type Gateway } from '../support/gateway';
import { newIssuer, now, requestsTo, signJwt } from './helpers';

const API_AUDIENCE = 'https://api.example/flood';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

afterEach(() => {
  vi.useRealTimers();
});

async function apiGateway(): Promise<{ gw: Gateway; issuer: string }> {
  const issuer = await newIssuer();
  const gw = gateway({ OIDC_ISSUER: issuer, API_AUDIENCE, ROUTES: [{ path: '/api/**', auth: 'api' }] });
  return { gw, issuer };
}

const bearerToken = (issuer: string, kid: string, sign: 'RS256' | 'wrong-key' = 'wrong-key') =>
  signJwt({ header: { kid, typ: 'at+jwt' }, claims: { iss: issuer, aud: API_AUDIENCE, sub: 'mallory', iat: now(), exp: now() + 300 }, sign });

const logoutToken = (issuer: string, kid: string) =>
  signJwt({
    header: { kid, typ: 'logout+jwt' },
    claims: { iss: issuer, aud: CLIENT_ID, iat: now(), exp: now() + 120, jti: crypto.randomUUID(), events: { [EVENT]: {} }, sub: 'victim' },
    sign: 'wrong-key',
  });

const callApi = (gw: Gateway, token: string) => gw.fetch('/api/x', { headers: { accept: 'application/json', authorization: `Bearer ${token}` }, cookies: false });

describe('a flood of unknown kids', () => {
  it('in bearer tokens, one after another: the JWKS is read once, every token is refused with 401', async () => {
    const { gw, issuer } = await apiGateway();
    // A genuine token first, so the keys are cached and the cooldown starts.
    const good = await callApi(gw, await bearerToken(issuer, 'rs-1', 'RS256'));
    expect(good.status).toBe(200);
    expect(await requestsTo(issuer, '/jwks')).toBe(1);

    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => bearerToken(issuer, `attacker-${i}`)));
    for (const token of tokens) expect((await callApi(gw, token)).status).toBe(401);
    expect(await requestsTo(issuer, '/jwks'), 'no refetch within the 30 s cooldown').toBe(1);
  });

  it('in bearer tokens, all at once after the cooldown: at most one JWKS refetch', async () => {
    const { gw, issuer } = await apiGateway();
    expect((await callApi(gw, await bearerToken(issuer, 'rs-1', 'RS256'))).status).toBe(200);
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => bearerToken(issuer, `attacker-${i}`)));

    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 });
    const answers = await Promise.all(tokens.map((token) => callApi(gw, token)));
    expect(answers.map((r) => r.status)).toEqual(tokens.map(() => 401));
    expect(await requestsTo(issuer, '/jwks'), 'one refetch for the whole burst').toBe(2);
  });

  it('in back-channel logout tokens, all at once: at most one JWKS read, every token refused', async () => {
    const { gw, issuer } = await apiGateway();
    const tokens = await Promise.all(Array.from({ length: 30 }, (_, i) => logoutToken(issuer, `attacker-${i}`)));
    const answers = await Promise.all(tokens.map((token) => deliverLogoutToken(gw, token)));
    expect(answers.map((r) => r.status)).toEqual(tokens.map(() => 400));
    expect(await requestsTo(issuer, '/jwks')).toBeLessThanOrEqual(1);
  });
});
