// Refresh on expiry (issue 4.1): driven by the tokens' own expiry and REFRESH_MARGIN, validated, saved
// to KV before the response, rotated refresh tokens followed — against the real oidc-provider.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIFECYCLE_ACCESS_TTL, LIFECYCLE_SHORT_CLIENT_ID, LIFECYCLE_SHORT_TTL } from '../setup/constants';
import type { EchoBody } from '../setup/protocol';
import { API, clock, idp, introspect, lifecycleGateway, rawSession, signInWithIdpJar, storedSession } from '../support/lifecycle';
import type { Gateway } from '../support/gateway';

beforeEach(() => idp.reset());
afterEach(() => clock.real());

async function signedIn(overrides: Record<string, unknown> = {}, user = 'alice') {
  const gw = lifecycleGateway(overrides);
  await signInWithIdpJar(gw, user);
  const session = (await storedSession(gw))!;
  expect(session.refreshToken, 'offline_access gives a refresh token').toEqual(expect.any(String));
  return { gw, session, expiry: session.accessTokenExpiresAt! };
}

async function upstreamUser(gw: Gateway): Promise<string | undefined> {
  const res = await gw.fetch('/page', { headers: API });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as EchoBody).headers['x-user'] as string | undefined;
}

describe('refresh before expiry', () => {
  it('renews the tokens within REFRESH_MARGIN of expiry, saves them, and forwards the request', async () => {
    const { gw, session, expiry } = await signedIn();
    expect(expiry - session.createdAt).toBe(LIFECYCLE_ACCESS_TTL);

    clock.set(expiry - 30); // REFRESH_MARGIN defaults to 60
    expect(await upstreamUser(gw)).toBe('alice');
    expect(await idp.refreshes()).toBe(1);

    const after = (await storedSession(gw))!;
    expect(after.accessToken).not.toBe(session.accessToken);
    expect(after.accessTokenExpiresAt).toBe(expiry - 30 + LIFECYCLE_ACCESS_TTL);
    expect(after.tokensAt).toBe(expiry - 30);
    expect(after.sub).toBe('alice');
    expect(after.claims['email']).toBe('alice@example.com');
    expect(after.createdAt).toBe(session.createdAt);
    expect(after.expiresAt, 'a refresh never extends SESSION_MAX_TTL').toBe(session.expiresAt);
  });

  it('does not touch the IdP or KV while the tokens are further from expiry than the margin', async () => {
    const { gw, expiry } = await signedIn();
    const before = await rawSession(gw);
    clock.set(expiry - 61);
    for (let i = 0; i < 3; i++) expect(await upstreamUser(gw)).toBe('alice');
    expect(await idp.refreshes()).toBe(0);
    expect(await rawSession(gw), 'no KV write per request').toBe(before);
  });

  it('honours a larger REFRESH_MARGIN', async () => {
    const { gw, expiry } = await signedIn({ REFRESH_MARGIN: '300' });
    clock.set(expiry - 299);
    expect(await upstreamUser(gw)).toBe('alice');
    expect(await idp.refreshes()).toBe(1);
  });

  it('refreshes after expiry too (the next request after a quiet spell), without signing the user out', async () => {
    const { gw, expiry } = await signedIn();
    clock.set(expiry + 120);
    expect(await upstreamUser(gw)).toBe('alice');
    expect(await idp.refreshes()).toBe(1);
    expect((await storedSession(gw))!.accessTokenExpiresAt).toBe(expiry + 120 + LIFECYCLE_ACCESS_TTL);
  });

  it('refreshes for /_auth/userinfo as for any request', async () => {
    const { gw, expiry } = await signedIn();
    clock.set(expiry - 10);
    const res = await gw.fetch('/_auth/userinfo', { headers: API });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub: 'alice', email: 'alice@example.com' });
    expect(await idp.refreshes()).toBe(1);
  });
});

describe('rotated refresh tokens', () => {
  it('stores each new refresh token and uses it for the next refresh; the used ones are dead at the IdP', async () => {
    const { gw, session, expiry } = await signedIn();
    const first = session.refreshToken!;

    clock.set(expiry - 30);
    expect(await upstreamUser(gw)).toBe('alice');
    const second = (await storedSession(gw))!;
    expect(second.refreshToken).not.toBe(first);

    clock.set(second.accessTokenExpiresAt! - 30);
    expect(await upstreamUser(gw)).toBe('alice');
    const third = (await storedSession(gw))!;
    expect(third.refreshToken).not.toBe(second.refreshToken);
    expect(await idp.refreshes()).toBe(2);

    clock.real();
    expect((await introspect(first)).active).toBe(false);
    expect((await introspect(second.refreshToken!)).active).toBe(false);
    expect((await introspect(third.refreshToken!)).active).toBe(true);
  });
});

describe('short-lived tokens, real clock', () => {
  it(`renews a ${LIFECYCLE_SHORT_TTL}-second access token before it expires (margin capped at half its lifetime)`, async () => {
    const { gw, expiry } = await signedIn({ OIDC_CLIENT_ID: LIFECYCLE_SHORT_CLIENT_ID });
    expect(await upstreamUser(gw)).toBe('alice');
    expect(await idp.refreshes(), 'REFRESH_MARGIN (60) > lifetime: no refresh on every request').toBe(0);

    await new Promise((resolve) => setTimeout(resolve, (LIFECYCLE_SHORT_TTL / 2) * 1000 + 300));
    expect(Date.now() / 1000).toBeLessThan(expiry);
    expect(await upstreamUser(gw)).toBe('alice');
    expect(await idp.refreshes()).toBe(1);
    const renewed = (await storedSession(gw))!;
    expect(renewed.accessTokenExpiresAt!).toBeGreaterThan(expiry);
    expect(await upstreamUser(gw)).toBe('alice');
    expect(await idp.refreshes()).toBe(1);
  });
});

describe('parallel requests at expiry', () => {
  it('share one refresh (single flight) and none of them is signed out', async () => {
    const { gw, expiry } = await signedIn();
    clock.set(expiry + 5);
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => gw.fetch(`/parallel/${i}`, { headers: API })));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    for (const res of responses) expect(((await res.json()) as EchoBody).headers['x-user']).toBe('alice');
    expect(await idp.refreshes()).toBe(1);
    expect((await idp.stats()).token['refresh_token']).toBe(1);
    expect((await storedSession(gw))!.accessTokenExpiresAt).toBe(expiry + 5 + LIFECYCLE_ACCESS_TTL);
  });
});
