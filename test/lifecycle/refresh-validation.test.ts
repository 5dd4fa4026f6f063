// What a refresh response must be (Core 12.2) and what it changes (issue 4.1, 4.3), scripted at the test
// issuer: the refreshed ID token keeps iss, sub and aud and is signature-checked; UserInfo is re-read so
// claim changes reach the upstream; a changed subject ends the session. And sessions without a refresh
// token end with their tokens, unless SESSION_OUTLIVES_TOKENS.
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { CLIENT_ID } from '../setup/constants';
import type { CodeScript, EchoBody } from '../setup/protocol';
import { signIn, signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { API, clock, handleOf, rawSession, storedSession } from '../support/lifecycle';

const issuer = inject('testIssuerUrl');

afterEach(() => {
  clock.real();
  vi.restoreAllMocks();
});

/** Signs in at the test issuer with a refresh token whose refresh answers `refresh`; returns at the refresh point. */
async function signedInWith(refresh: CodeScript, signInScript: CodeScript = {}, overrides: Record<string, unknown> = {}) {
  const gw = gateway({ OIDC_ISSUER: issuer, OIDC_SCOPES: 'openid profile email offline_access', ...overrides });
  const { callbackResponse } = await signInWithScript(gw, {
    userinfo: { sub: 'test-user', name: 'Tess', email: 'tess@example.com', groups: ['before'] },
    ...signInScript,
    tokenResponse: { refresh_token: `rt-${crypto.randomUUID()}`, ...signInScript.tokenResponse },
    refresh: { tokenResponse: { refresh_token: `rt-${crypto.randomUUID()}` }, ...refresh },
  });
  expect(callbackResponse.status, await callbackResponse.clone().text()).toBe(303);
  const session = (await storedSession(gw))!;
  const handle = handleOf(gw);
  clock.set(session.accessTokenExpiresAt! - 30);
  return { gw, session, handle };
}

async function upstream(gw: Gateway): Promise<{ status: number; echo: EchoBody | undefined }> {
  const res = await gw.fetch('/page', { headers: API });
  return { status: res.status, echo: res.status === 200 ? ((await res.json()) as EchoBody) : undefined };
}

async function expectEnded(gw: Gateway, handle: ReturnType<typeof handleOf>, reason: string) {
  const warn = vi.spyOn(console, 'warn');
  expect((await upstream(gw)).status).toBe(401);
  expect(await rawSession(gw, handle)).toBeNull();
  const ended = warn.mock.calls.map((a) => String(a[0])).find((l) => l.includes('"event":"session_ended"'));
  expect(ended, 'logged').toContain(`"reason":"${reason}"`);
}

describe('claims stay current', () => {
  it('re-reads UserInfo on refresh: a group change reaches the upstream', async () => {
    const { gw } = await signedInWith({ userinfo: { sub: 'test-user', name: 'Tess', email: 'tess@example.com', groups: ['after', 'admins'] } });
    const { status, echo } = await upstream(gw);
    expect(status).toBe(200);
    expect(echo!.headers['x-user-groups']).toBe('after,admins');
    expect((await storedSession(gw))!.claims['groups']).toEqual(['after', 'admins']);
  });

  it('keeps the last known claims (and the new tokens) when UserInfo fails after a successful refresh', async () => {
    const { gw, session } = await signedInWith({ userinfo: null });
    const warn = vi.spyOn(console, 'warn');
    const { status, echo } = await upstream(gw);
    expect(status).toBe(200);
    expect(echo!.headers['x-user-groups']).toBe('before');
    const after = (await storedSession(gw))!;
    expect(after.refreshToken).not.toBe(session.refreshToken);
    expect(warn.mock.calls.some((a) => String(a[0]).includes('session_claims_not_updated'))).toBe(true);
  });

  it('never lets a refresh change how or when the user signed in (acr, amr, auth_time)', async () => {
    const authTime = Math.floor(Date.now() / 1000) - 100;
    const { gw } = await signedInWith(
      { idToken: { claims: { acr: 'urn:weak', amr: ['pwd'], auth_time: authTime + 90 } } },
      { idToken: { claims: { acr: 'urn:mfa', amr: ['pwd', 'otp'], auth_time: authTime } } },
    );
    expect((await upstream(gw)).status).toBe(200);
    const res = await gw.fetch('/_auth/userinfo', { headers: API });
    expect(await res.json()).toMatchObject({ acr: 'urn:mfa', amr: ['pwd', 'otp'], auth_time: authTime });
  });

  it('keeps the previous ID token (for id_token_hint) when the refresh response has none', async () => {
    const { gw, session } = await signedInWith({ idToken: null, userinfo: { sub: 'test-user', groups: ['x'] } });
    expect((await upstream(gw)).status).toBe(200);
    const after = (await storedSession(gw))!;
    expect(after.idToken).toBe(session.idToken);
    expect(after.accessToken).not.toBe(session.accessToken);
  });

  it('without expires_in or a new ID token, assumes the previous lifetime again (never "already expired")', async () => {
    const { gw, session } = await signedInWith({ idToken: null, tokenResponse: { refresh_token: 'rt-next', expires_in: null } });
    const lifetime = session.accessTokenExpiresAt! - session.createdAt;
    const now = session.accessTokenExpiresAt! - 30;
    expect((await upstream(gw)).status).toBe(200);
    expect((await storedSession(gw))!.accessTokenExpiresAt).toBe(now + lifetime);
  });
});

describe('the refreshed ID token (Core 12.2)', () => {
  it('naming another subject ends the session', async () => {
    const { gw, handle } = await signedInWith({ idToken: { claims: { sub: 'mallory' } }, userinfo: { sub: 'mallory' } });
    await expectEnded(gw, handle, 'subject_changed');
  });

  it('with UserInfo naming another subject ends the session', async () => {
    const { gw, handle } = await signedInWith({ userinfo: { sub: 'mallory', email: 'mallory@example.com' } });
    await expectEnded(gw, handle, 'subject_changed');
  });

  it('from another issuer ends the session', async () => {
    const { gw, handle } = await signedInWith({ idToken: { claims: { iss: 'https://evil.example' } } });
    await expectEnded(gw, handle, 'id_token_invalid');
  });

  it('for another audience (an extra aud) ends the session', async () => {
    const { gw, handle } = await signedInWith({ idToken: { claims: { aud: [CLIENT_ID, 'another-rp'], azp: CLIENT_ID } } });
    await expectEnded(gw, handle, 'id_token_invalid');
  });

  it('not meant for us (aud is another client) ends the session', async () => {
    const { gw, handle } = await signedInWith({ idToken: { claims: { aud: 'another-rp' } } });
    await expectEnded(gw, handle, 'id_token_invalid');
  });

  it('signed by a key the issuer does not publish ends the session', async () => {
    const { gw, handle } = await signedInWith({ idToken: { sign: 'wrong-key' } });
    await expectEnded(gw, handle, 'id_token_invalid');
  });

  it('unsigned (alg none) ends the session', async () => {
    const { gw, handle } = await signedInWith({ idToken: { sign: 'none' } });
    await expectEnded(gw, handle, 'id_token_invalid');
  });

  it('already expired ends the session', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { gw, handle } = await signedInWith({ idToken: { claims: { iat: now - 7200, exp: now - 3600 } } });
    await expectEnded(gw, handle, 'id_token_invalid');
  });

  it('with a nonce other than the sign-in’s ends the session', async () => {
    const { gw, handle } = await signedInWith({ idToken: { claims: { nonce: 'some-other-nonce' } } });
    await expectEnded(gw, handle, 'id_token_invalid');
  });
});

describe('sessions without a refresh token', () => {
  it('end when the access token expires (no refresh is possible)', async () => {
    const gw = gateway(); // default scopes: no offline_access
    await signIn(gw, { user: 'bob' });
    const handle = handleOf(gw);
    const session = (await storedSession(gw))!;
    expect(session.refreshToken).toBeUndefined();
    clock.set(session.accessTokenExpiresAt! - 1);
    expect((await gw.fetch('/page', { headers: API })).status).toBe(200);
    clock.set(session.accessTokenExpiresAt!);
    expect((await gw.fetch('/page', { headers: API })).status).toBe(401);
    expect(await rawSession(gw, handle)).toBeNull();
  });

  it('live to SESSION_IDLE_TTL / SESSION_MAX_TTL instead with SESSION_OUTLIVES_TOKENS = "true"', async () => {
    const gw = gateway({ SESSION_OUTLIVES_TOKENS: 'true', SESSION_MAX_TTL: '86400' });
    await signIn(gw, { user: 'bob' });
    const session = (await storedSession(gw))!;
    clock.set(session.accessTokenExpiresAt! + 3600);
    expect((await gw.fetch('/page', { headers: API })).status).toBe(200);
    clock.set(session.expiresAt);
    expect((await gw.fetch('/page', { headers: API })).status).toBe(401);
  });

  it('without expires_in, end when the ID token expires', async () => {
    const gw = gateway({ OIDC_ISSUER: issuer });
    await signInWithScript(gw, { tokenResponse: { expires_in: null } });
    const session = (await storedSession(gw))!;
    expect(session.accessTokenExpiresAt).toBeUndefined();
    const idTokenExp = (JSON.parse(atob(session.idToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { exp: number }).exp;
    clock.set(idTokenExp - 1);
    expect((await gw.fetch('/page', { headers: API })).status).toBe(200);
    clock.set(idTokenExp);
    expect((await gw.fetch('/page', { headers: API })).status).toBe(401);
  });
});
