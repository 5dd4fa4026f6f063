// A local OpenID Provider for tests and the demo, built on oidc-provider (OpenID-certified).
// Only configuration lives here; all protocol logic is the library's.
//
// Not for production: devInteractions accepts any user name with any password.

import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

/**
 * @typedef {object} DemoUser
 * @property {string} name
 * @property {string} email
 * @property {boolean | string} [email_verified]  absent or a string only in the odd accounts below
 * @property {string[]} groups
 * @property {string} [preferred_username]  default: the login name
 */

/**
 * Known demo accounts, keyed by login name (= `sub`). Any other name typed into the login form
 * works too, as `<name>@example.com` without groups (see {@link claimsFor}).
 * @type {Readonly<Record<string, Readonly<DemoUser>>>}
 */
export const DEMO_USERS = Object.freeze({
  alice: Object.freeze({ name: 'Alice Admin', email: 'alice@example.com', email_verified: true, groups: ['admins', 'staff'] }),
  bob: Object.freeze({ name: 'Bob Builder', email: 'bob@example.com', email_verified: true, groups: ['staff'] }),
  carol: Object.freeze({ name: 'Carol Contractor', email: 'carol@contractor.example', email_verified: false, groups: [] }),
  // Odd claims an attacker can get an IdP to assert (test/attacks): another user's address, unverified
  // (as the string "false", as some UserInfo endpoints send it, or without email_verified at all);
  // names and groups with control characters, edge whitespace, commas, non-ASCII, or the encoding marker.
  'mallory-string-false': Object.freeze({ name: 'Mallory', email: 'alice@example.com', email_verified: 'false', groups: [] }),
  'mallory-no-verified': Object.freeze({ name: 'Mallory', email: 'alice@example.com', groups: [] }),
  'mallory-tab': Object.freeze({ name: 'Mallory\r\nX-User: admin', preferred_username: 'admin\t', email: 'mallory@example.com', email_verified: true, groups: [' admins', 'staff', 'ops,admins', 'x\u0000'] }),
  'mallory-marker': Object.freeze({ name: "UTF-8''Admin", preferred_username: "UTF-8''admin", email: 'mallory@example.com', email_verified: true, groups: [] }),
  jose: Object.freeze({ name: 'José Müller', preferred_username: 'josé', email: 'jose@example.com', email_verified: true, groups: ['équipe', 'staff'] }),
});

// Lifetimes in seconds. Given explicitly (even where they equal the library's defaults) so that
// oidc-provider does not print "you SHOULD change ttl.*" notices; `ttl` overrides them.
const DEFAULT_TTL = {
  AccessToken: 60 * 60,
  AuthorizationCode: 60,
  BackchannelAuthenticationRequest: 10 * 60,
  ClientCredentials: 10 * 60,
  DeviceCode: 10 * 60,
  Grant: 14 * 24 * 60 * 60,
  IdToken: 60 * 60,
  Interaction: 60 * 60,
  PreAuthorizedCode: 10 * 60,
  RefreshToken: 14 * 24 * 60 * 60,
  Session: 14 * 24 * 60 * 60,
};

// Fixed on purpose: this IdP keeps nothing across restarts, so its cookie signatures need no
// secrecy. Demo/test value only.
const COOKIE_KEYS = ['edgegate-local-idp-cookie-key-not-a-secret'];

/**
 * @typedef {object} IdpOptions
 * @property {number} [port]  0 = any free port
 * @property {string} [host]
 * @property {object[]} [clients]  static client metadata, as oidc-provider takes it
 *   (`grant_types` defaults to authorization_code + refresh_token, `response_types` to code)
 * @property {Record<string, number | ((...args: any[]) => number)>} [ttl]  seconds, e.g.
 *   `{ AccessToken: 5, IdToken: 5 }`
 * @property {boolean} [conformIdTokenClaims]  true: ID token carries only `sub` & co., profile
 *   and email claims come from UserInfo; false: the ID token carries them too
 * @property {boolean | ((ctx: any) => boolean | Promise<boolean>)} [rotateRefreshToken]  new
 *   refresh token on every refresh (reuse of a rotated one revokes the grant)
 * @property {Record<string, object>} [resourceServers]  resource indicator → oidc-provider
 *   resource server info (`{ scope, audience, accessTokenFormat: 'jwt', ... }`), for JWT
 *   access tokens requested with `resource=`
 * @property {(ctx: any, form: string) => Promise<void> | void} [logoutSource]  renders the
 *   "sign out?" page around `form`
 * @property {(ctx: any) => Promise<void> | void} [postLogoutSuccessSource]
 * @property {typeof fetch} [fetch]  how the IdP calls out (back-channel logout); defaults to
 *   the global fetch, allowed to reach loopback addresses
 * @property {boolean} [requirePar]  every authorization request must be pushed first (RFC 9126;
 *   advertised as `require_pushed_authorization_requests`)
 * @property {{ nonceSecret?: Uint8Array, requireNonce?: (ctx: any) => boolean }} [dpop]  DPoP
 *   (RFC 9449, on by default in oidc-provider 9): server nonces (`DPoP-Nonce`, `use_dpop_nonce`)
 * @property {((ctx: any, next: () => Promise<void>) => Promise<void>)[]} [middleware]  Koa
 *   middleware run before oidc-provider's own (test instrumentation: counters, faults). Must be
 *   given here: the HTTP handler is built once, at start
 */

/**
 * A gateway's client registration at this IdP: its callback and signed-out URIs on each of its
 * origins, the code flow with refresh tokens, client_secret_basic. `extra` adds or overrides members
 * (e.g. `backchannel_logout_uri`).
 * @param {string} clientId @param {string} clientSecret @param {string[]} origins
 * @param {Record<string, unknown>} [extra]
 */
export function gatewayClient(clientId, clientSecret, origins, extra = {}) {
  return {
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: origins.map((origin) => `${origin}/_auth/callback`),
    post_logout_redirect_uris: origins.map((origin) => `${origin}/_auth/signed-out`),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...extra,
  };
}

/**
 * Starts the provider on `http://<host>:<port>`.
 * @param {IdpOptions} [options]
 * @returns {Promise<{ issuer: string, port: number, provider: Provider, close: () => Promise<void> }>}
 */
export async function startIdp({
  port = 0,
  host = '127.0.0.1',
  clients = [],
  ttl = {},
  conformIdTokenClaims = true,
  rotateRefreshToken = true,
  resourceServers = {},
  logoutSource = defaultLogoutSource,
  postLogoutSuccessSource = defaultPostLogoutSuccessSource,
  fetch = loopbackFetch,
  requirePar = false,
  dpop = {},
  middleware = [],
} = {}) {
  // The issuer must be known before the provider exists, and with port 0 only the listening
  // server knows it: listen first, attach the provider after.
  /** @type {import('node:http').RequestListener | undefined} */
  let handler;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(undefined));
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('IdP server has no TCP address');
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  const close = () => closeServer(server);

  try {
    const provider = createProvider(issuer, {
      clients, ttl, conformIdTokenClaims, rotateRefreshToken, resourceServers, logoutSource, postLogoutSuccessSource, fetch, requirePar, dpop,
    });
    // Static clients are validated lazily; look each one up now so a bad registration fails
    // at start with the library's message instead of as invalid_client mid-test.
    for (const { client_id: clientId } of /** @type {{ client_id: string }[]} */ (clients)) {
      try {
        await provider.Client.find(clientId);
      } catch (error) {
        const detail = /** @type {{ error_description?: string }} */ (error).error_description;
        throw new Error(`IdP client "${clientId}": ${detail ?? error}`, { cause: error });
      }
    }
    for (const fn of middleware) provider.use(fn);
    handler = provider.callback();
    return { issuer, port: address.port, provider, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * @param {string} issuer
 * @param {Required<Omit<IdpOptions, 'port' | 'host'>>} options
 */
function createProvider(issuer, options) {
  /** @type {import('oidc-provider').Configuration} */
  const configuration = {
    clients: /** @type {any} */ (options.clients),
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    jwks: { keys: signingKeys() },
    cookies: { keys: COOKIE_KEYS },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', 'groups'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    conformIdTokenClaims: options.conformIdTokenClaims,
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => claimsFor(sub) }),
    loadExistingGrant,
    // PKCE for every client, confidential ones included (OAuth 2.1 / RFC 9700 §2.1.1);
    // oidc-provider 9 only implements S256, so `plain` is refused as well.
    pkce: { required: () => true },
    // Stated explicitly although it is the library's default: refresh tokens exactly when the
    // client may use them and `offline_access` was granted.
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: options.rotateRefreshToken,
    ttl: { ...DEFAULT_TTL, ...options.ttl },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: options.logoutSource,
        postLogoutSuccessSource: options.postLogoutSuccessSource,
      },
      backchannelLogout: { enabled: true },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: options.requirePar },
      dPoP: { enabled: true, ...options.dpop },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        // Resource servers introspect other clients' tokens; public clients may not.
        allowedPolicy: async (_ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: async (_ctx, indicator) => {
          const info = options.resourceServers[indicator];
          if (!info) throw new errors.InvalidTarget();
          return /** @type {any} */ (info);
        },
      },
    },
    fetch: options.fetch,
    clientBasedCORS: (_ctx, origin, client) => (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    renderError,
  };

  // The constructor (synchronous) warns that devInteractions and the in-memory adapter are for
  // development only, once per provider; tests start dozens, and both are deliberate here.
  // Silence exactly those two, for that call.
  const warn = console.warn;
  console.warn = (...args) => {
    if (!/devInteractions|in-memory adapter/.test(String(args[0]))) warn(...args);
  };
  let provider;
  try {
    provider = new Provider(issuer, configuration);
  } finally {
    console.warn = warn;
  }

  // Without a listener, server errors (our configuration's bugs) would vanish into a 500 page.
  provider.on('server_error', (_ctx, error) => console.error('[idp] server_error:', error));
  return provider;
}

/**
 * oidc-provider hands outgoing requests an undici dispatcher that refuses special-use addresses
 * (SSRF protection), loopback included, but here the back-channel logout receiver is a local
 * gateway. Drop the dispatcher for loopback targets only.
 * @param {string | URL | Request} input
 * @param {RequestInit & { dispatcher?: unknown }} [init]
 */
function loopbackFetch(input, init = {}) {
  const { hostname } = new URL(input instanceof Request ? input.url : input);
  const loopback = hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
  if (!loopback) return fetch(input, init);
  const { dispatcher: _ssrfGuard, ...rest } = init;
  return fetch(input, rest);
}

/**
 * Claims of a demo account, or of whoever typed an unknown name into the dev login form.
 * oidc-provider filters them by the granted scopes and claims.
 * @param {string} sub
 */
function claimsFor(sub) {
  const user = Object.hasOwn(DEMO_USERS, sub) ? DEMO_USERS[sub] : undefined;
  if (user) return { sub, preferred_username: sub, ...user, groups: [...user.groups] };
  return { sub, preferred_username: sub, name: sub, email: `${sub}@example.com`, email_verified: true };
}

/**
 * All clients here are first-party, so skip the consent screen: grant whatever OpenID scopes,
 * claims and resource scopes the request asks for (the library's documented way to skip
 * consent). The grant is reused and widened when a later request asks for more, e.g. adds
 * `offline_access`.
 * @param {any} ctx
 */
async function loadExistingGrant(ctx) {
  const { oidc } = ctx;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  const grant = existing ?? new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.account.accountId });

  const scopes = [...oidc.requestParamOIDCScopes];
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  const claims = [...oidc.requestParamClaims];
  if (claims.length) grant.addOIDCClaims(claims);
  for (const [indicator, resourceServer] of Object.entries(oidc.resourceServers ?? {})) {
    const wanted = [...oidc.requestParamScopes].filter((s) => resourceServer.scopes.has(s));
    if (wanted.length) grant.addResourceScope(indicator, wanted.join(' '));
  }
  await grant.save();
  return grant;
}

/** One RSA and one P-256 signing key, fresh per start; ID tokens use RS256 unless a client asks for ES256. */
function signingKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, use: 'sig', alg: 'RS256' },
    { ...ec, use: 'sig', alg: 'ES256' },
  ];
}

/**
 * Pages without the library's default web-font import: this machine (and CI) has no internet.
 * @param {string} title
 * @param {string} body  trusted HTML
 */
function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}button{font:inherit;padding:.4rem 1rem;margin-right:.5rem}</style>
</head><body>${body}</body></html>`;
}

/**
 * @param {any} ctx
 * @param {string} form  the library's hidden form (id `op.logoutForm`, carries the xsrf token)
 */
async function defaultLogoutSource(ctx, form) {
  ctx.body = page('Sign out', `<h1>Sign out of ${escapeHtml(ctx.host)}?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
}

/** @param {any} ctx */
async function defaultPostLogoutSuccessSource(ctx) {
  ctx.body = page('Signed out', '<h1>Signed out</h1><p>You have been signed out of the local IdP.</p>');
}

/**
 * @param {any} ctx
 * @param {object} out  `error`, `error_description`, …
 */
async function renderError(ctx, out) {
  ctx.type = 'html';
  const rows = Object.entries(out).map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(String(value))}</p>`);
  ctx.body = page('IdP error', `<h1>Something went wrong</h1>${rows.join('')}`);
}

/** @param {string} text */
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Resolves once the port is free. Keep-alive connections would hold `close()` open for
 * seconds, so they are cut.
 * @param {import('node:http').Server} server
 */
function closeServer(server) {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve(undefined)));
    server.closeAllConnections();
  });
}
