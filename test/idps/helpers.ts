// Several identity providers in front of one site: a gateway with IDPS = corp and partner (two real
// oidc-providers, test/setup/global.ts) and, for negative cases, `evil` (the scriptable test issuer).
import { inject } from 'vitest';
import { CLIENT_ID, CLIENT_SECRET } from '../setup/constants';
// @ts-ignore -- plain ESM script without type declarations
import { createCookieJar, signInAtIdp, signOutAtIdp } from '../../scripts/idp-login.mjs';
import { gateway, type Gateway } from '../support/gateway';
import { idpControlsAt } from '../support/idp-controls';

export const corpIssuer = inject('idpIssuerCorp');
export const partnerIssuer = inject('idpIssuerPartner');
export const evilIssuer = inject('testIssuerUrl');

export const CORP = { name: 'corp', display_name: 'Corp SSO', issuer: corpIssuer, client_id: CLIENT_ID, email_domains: ['example.com'], scopes: 'openid profile email offline_access' };
export const PARTNER = { name: 'partner', display_name: 'Partner login', issuer: partnerIssuer, client_id: CLIENT_ID, email_domains: ['contractor.example'] };
export const EVIL = { name: 'evil', display_name: 'Evil IdP', issuer: evilIssuer, client_id: CLIENT_ID };

/** A gateway whose IdPs are `idps` (IDPS), with every client secret set; the single-IdP settings removed. */
export function idpsGateway(idps: Record<string, unknown>[], overrides: Record<string, unknown> = {}): Gateway {
  const secrets: Record<string, string> = {};
  for (const idp of idps) secrets[`OIDC_CLIENT_SECRET_${String(idp['name']).toUpperCase()}`] = CLIENT_SECRET;
  return gateway({ OIDC_ISSUER: undefined, OIDC_CLIENT_ID: undefined, OIDC_CLIENT_SECRET: undefined, IDPS: idps, ...secrets, ...overrides });
}

/** GET /_auth/login?idp=…&rd=… and the IdP's authorization URL it redirects to. */
export async function startAt(gw: Gateway, idp: string, rd = '/'): Promise<URL> {
  const res = await gw.fetch(`/_auth/login?idp=${idp}&rd=${encodeURIComponent(rd)}`, { headers: { accept: 'text/html' } });
  if (res.status !== 302) throw new Error(`startAt(${idp}): expected 302, got ${res.status} ${await res.text()}`);
  return new URL(res.headers.get('location')!);
}

/** The callback URL the IdP sends the browser to, after `user` signs in at the authorization URL. */
export async function callbackFrom(authorizeUrl: URL, user = 'alice'): Promise<URL> {
  return new URL(String(await signInAtIdp(authorizeUrl.href, user)));
}

/** A full sign-in at `idp`; returns the callback's answer (303 to rd). */
export async function signInAt(gw: Gateway, idp: string, user = 'alice', rd = '/'): Promise<Response> {
  const callback = await callbackFrom(await startAt(gw, idp, rd), user);
  const res = await gw.fetch(callback.href, { headers: { accept: 'text/html' } });
  if (res.status !== 303) throw new Error(`signInAt(${idp}): callback answered ${res.status} ${await res.text()}`);
  return res;
}

/** The upstream's view of a signed-in GET (echo upstream): its X-User* headers. */
export async function userHeadersOf(gw: Gateway, path = '/echo'): Promise<{ status: number; headers: Record<string, string> }> {
  const res = await gw.fetch(path, { headers: { accept: 'application/json' } });
  if (res.status !== 200) return { status: res.status, headers: {} };
  const echo = (await res.json()) as { headers: Record<string, string | string[]> };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(echo.headers)) if (name.startsWith('x-user')) headers[name] = String(value);
  return { status: 200, headers };
}

/** An IdP's own cookies (its session), kept so the user can sign out at the IdP later. */
export type IdpJar = ReturnType<typeof createCookieJar>;

/** A full sign-in at `idp` that keeps the IdP's cookies in `idpJar`. */
export async function signInKeepingIdpSession(gw: Gateway, idp: string, user = 'alice', idpJar: IdpJar = createCookieJar()): Promise<IdpJar> {
  const callback = new URL(String(await signInAtIdp((await startAt(gw, idp)).href, user, { jar: idpJar })));
  const res = await gw.fetch(callback.href, { headers: { accept: 'text/html' } });
  if (res.status !== 303) throw new Error(`signInKeepingIdpSession(${idp}): callback answered ${res.status} ${await res.text()}`);
  return idpJar;
}

/** The user signs out at the IdP itself (RP-initiated logout there), which sends its back-channel logout. */
export async function signOutAtTheIdp(issuer: string, idpJar: IdpJar): Promise<void> {
  await signOutAtIdp(`${issuer}/session/end`, { jar: idpJar });
}

/** The test controls of corp and partner (test/setup/idps-idp.ts, the layer of test/setup/idp-controls.ts). */
export const corp = idpControlsAt(corpIssuer);
export const partner = idpControlsAt(partnerIssuer);
