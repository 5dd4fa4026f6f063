// Helpers for the token-lifecycle tests (test/lifecycle), run inside workerd.
//
//   lifecycleGateway(overrides)    a gateway at the lifecycle IdP with offline_access (refresh tokens)
//   signInWithIdpJar(gw, user)     full sign-in keeping the IdP's cookies, so the IdP session can be ended later
//   idp.stats() / reset() / fault() / held() / release() / logoutTokens()   the lifecycle IdP's test controls (./idp-controls.ts)
//   storedSession(gw)              the session behind the jar's cookie, decrypted as the gateway would
//   clock                          the fake clock (Date only) the gateway reads its `now` from
import { env } from 'cloudflare:workers';
import { expect, inject, vi } from 'vitest';
// @ts-ignore -- plain ESM script without type declarations
import { createCookieJar, signInAtIdp, signOutAtIdp } from '../../scripts/idp-login.mjs';
import type { Session } from '../../src/session/model';
import { KvSessionStore, parseSessionCookie, type SessionHandle } from '../../src/session/store';
import { CLIENT_SECRET, LIFECYCLE_CLIENT_ID } from '../setup/constants';
import { startSignIn } from './flows';
import { gateway, type Gateway } from './gateway';
import { idpControlsAt } from './idp-controls';

export const kv = (env as unknown as { SESSIONS: KVNamespace }).SESSIONS;
export const lifecycleIssuer = inject('idpIssuerLifecycle');
export const SESSION_COOKIE = '__Host-edgegate';
export const API = { accept: 'application/json' } as const;
export const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate' } as const;

/** A gateway in front of the lifecycle IdP that asks for refresh tokens. */
export function lifecycleGateway(overrides: Record<string, unknown> = {}): Gateway {
  return gateway({
    OIDC_ISSUER: lifecycleIssuer,
    OIDC_CLIENT_ID: LIFECYCLE_CLIENT_ID,
    OIDC_SCOPES: 'openid profile email offline_access',
    ...overrides,
  });
}

export type IdpJar = ReturnType<typeof createCookieJar>;

/** Sign-in through the gateway, with the IdP's cookies kept in `idpJar` (one jar = one browser at the IdP). */
export async function signInWithIdpJar(gw: Gateway, user = 'alice', idpJar: IdpJar = createCookieJar()): Promise<IdpJar> {
  const { authorizeUrl } = await startSignIn(gw, '/');
  const callbackUrl = String(await signInAtIdp(authorizeUrl.href, user, { jar: idpJar }));
  const res = await gw.fetch(callbackUrl, { headers: { accept: 'text/html' } });
  expect(res.status, `callback: ${await res.clone().text()}`).toBe(303);
  return idpJar;
}

/** Ends the IdP session of `idpJar` at the IdP itself (as if the user signed out in another app). */
export async function signOutAtTheIdp(idpJar: IdpJar, issuer = lifecycleIssuer): Promise<void> {
  await signOutAtIdp(`${issuer}/session/end`, { jar: idpJar });
}

export function handleOf(gw: Gateway): SessionHandle {
  const handle = parseSessionCookie(gw.jar.get(SESSION_COOKIE));
  if (!handle) throw new Error('no session cookie in the jar');
  return handle;
}

/** The stored session, decrypted with the gateway's SESSION_SECRET and the cookie's per-session secret. */
export async function storedSession(gw: Gateway, handle = handleOf(gw)): Promise<Session | null> {
  const secrets = String(gw.env.SESSION_SECRET).split(',').map((s) => new TextEncoder().encode(s.trim()));
  return new KvSessionStore(kv, secrets).load(handle);
}

export async function rawSession(gw: Gateway, handle = handleOf(gw)): Promise<string | null> {
  return kv.get(`session:${handle.id}`);
}

export const idp = idpControlsAt(lifecycleIssuer);

/** RFC 7662 introspection at the lifecycle IdP, as the gateway's client. */
export async function introspect(token: string, clientId = LIFECYCLE_CLIENT_ID): Promise<{ active: boolean } & Record<string, unknown>> {
  const res = await fetch(`${lifecycleIssuer}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`${clientId}:${CLIENT_SECRET}`)}` },
    body: new URLSearchParams({ token }),
  });
  return (await res.json()) as { active: boolean };
}

/** RFC 7009 revocation at the lifecycle IdP, as the gateway's client (e.g. an admin revoking the grant). */
export async function revokeAtIdp(token: string, clientId = LIFECYCLE_CLIENT_ID): Promise<void> {
  const res = await fetch(`${lifecycleIssuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`${clientId}:${CLIENT_SECRET}`)}` },
    body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }),
  });
  expect(res.status).toBe(200);
}

/** The gateway's clock: only `Date` is faked, so network timeouts stay real. */
export const clock = {
  set(epochSeconds: number): void {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(epochSeconds * 1000);
  },
  real(): void {
    vi.useRealTimers();
  },
};

/** Waits until `check` holds (polling), for state another request changes concurrently. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  // Counted in rounds, not by Date: tests run this with a fake clock.
  for (let waited = 0; !(await check()); waited += 20) {
    if (waited > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Is this browser (jar) still signed in? Asks a protected page as an API client; stores nothing. */
export async function stillSignedIn(gw: Gateway): Promise<boolean> {
  const res = await gw.fetch('/page', { headers: API, store: false });
  await res.arrayBuffer();
  return res.status === 200;
}
