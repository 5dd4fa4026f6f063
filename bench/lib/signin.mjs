// A real sign-in through the gateway, driven from Node: /_auth/login → the local IdP's login form
// (scripts/idp-login.mjs) → /_auth/callback. Node's fetch sends `sec-fetch-mode: cors`, which the
// gateway treats as an API client, so sign-in starts at /_auth/login?rd=/, which always redirects.

import { createCookieJar, signInAtIdp } from '../../scripts/idp-login.mjs';

const STEP_TIMEOUT_MS = 15_000;

/** @param {Response} response */
function cookiePairs(response) {
  return response.headers.getSetCookie().map((line) => line.split(';')[0].trim());
}

/**
 * @param {string} origin  the gateway, e.g. http://127.0.0.1:8787
 * @param {string} user  login name at the local IdP (becomes `sub`)
 * @param {{ beforeLogin?: () => Promise<void>, beforeCallback?: () => Promise<void>, afterLogin?: () => Promise<void> }} [hooks]
 *   around the gateway's two requests, so a caller can count what each one costs
 * @returns {Promise<{ cookie: string, user: string }>}  `cookie` is `edgegate=<id>.<secret>`
 */
export async function signIn(origin, user, hooks = {}) {
  await hooks.beforeLogin?.();
  const login = await fetch(`${origin}/_auth/login?rd=/`, {
    redirect: 'manual',
    headers: { accept: 'text/html' },
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  });
  await login.body?.cancel();
  const authorizeUrl = login.headers.get('location');
  if (login.status !== 302 || !authorizeUrl) throw new Error(`sign-in as ${user}: /_auth/login answered ${login.status}, not a redirect to the IdP`);
  await hooks.afterLogin?.();
  const tx = cookiePairs(login).join('; ');

  const callbackUrl = await signInAtIdp(authorizeUrl, user, { jar: createCookieJar() });
  if (!callbackUrl.startsWith(`${origin}/_auth/callback?`)) throw new Error(`sign-in as ${user}: the IdP sent the browser to ${callbackUrl}`);

  await hooks.beforeCallback?.();
  const callback = await fetch(callbackUrl, {
    redirect: 'manual',
    headers: { accept: 'text/html', cookie: tx },
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  });
  const text = await callback.text();
  if (callback.status !== 303) throw new Error(`sign-in as ${user}: the callback answered ${callback.status}: ${text.slice(0, 200)}`);
  const cookie = cookiePairs(callback).find((pair) => pair.startsWith('edgegate=') || pair.startsWith('__Host-edgegate='));
  if (!cookie) throw new Error(`sign-in as ${user}: the callback set no session cookie`);
  return { cookie, user };
}

/**
 * A real sign-in through the peer (bench/workers/peer.ts, @hono/oidc-auth): its middleware answers an
 * unauthenticated GET / with a redirect to the IdP and sets its `state`, `nonce`, `code_verifier` and
 * `continue` cookies; the IdP sends the browser to its OIDC_REDIRECT_URI, where it exchanges the code
 * and sets its session cookie.
 * @param {string} origin  the peer, e.g. http://127.0.0.1:8790
 * @param {string} user
 * @returns {Promise<{ cookie: string, user: string }>}  `cookie` is `oidc-auth=<JWT>`
 */
export async function signInPeer(origin, user) {
  const start = await fetch(`${origin}/`, { redirect: 'manual', headers: { accept: 'text/html' }, signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
  await start.body?.cancel();
  const authorizeUrl = start.headers.get('location');
  if (start.status !== 302 || !authorizeUrl) throw new Error(`peer sign-in as ${user}: GET / answered ${start.status}, not a redirect to the IdP`);
  const tx = cookiePairs(start).join('; ');

  const callbackUrl = await signInAtIdp(authorizeUrl, user, { jar: createCookieJar() });
  if (!callbackUrl.startsWith(`${origin}/`)) throw new Error(`peer sign-in as ${user}: the IdP sent the browser to ${callbackUrl}`);

  const callback = await fetch(callbackUrl, { redirect: 'manual', headers: { accept: 'text/html', cookie: tx }, signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
  const text = await callback.text();
  if (callback.status !== 302) throw new Error(`peer sign-in as ${user}: the callback answered ${callback.status}: ${text.slice(0, 200)}`);
  const cookie = cookiePairs(callback).find((pair) => pair.startsWith('oidc-auth='));
  if (!cookie) throw new Error(`peer sign-in as ${user}: the callback set no oidc-auth cookie`);
  return { cookie, user };
}
