// The identity providers `npm run init` knows: per kind, the settings edgegate needs there and what to
// register at it (docs/idps/ says the same in prose, one page per IdP). Pure data and
// functions, no Node imports: tests import this inside workerd too.

/**
 * @typedef {object} IdpKind
 * @property {string} label
 * @property {string} issuerExample  shown in prompts and errors
 * @property {(issuer: string) => string | undefined} checkIssuer  a problem with the issuer, if any
 * @property {Record<string, unknown>} settings  per-IdP settings, in IDPS' lower-case keys
 *   (scopes, client_auth, auth_params, …); `OIDC_<KEY>` for a single IdP
 * @property {string | undefined} userClaim  USER_CLAIM this IdP wants (site-wide, so only for a single IdP)
 * @property {'yes' | 'no' | 'optional'} backchannel  whether to register the back-channel logout URI
 * @property {boolean} frontchannel  register the front-channel logout URI (IdPs without back-channel that offer it)
 * @property {boolean} endSession  RP-initiated logout: the post-logout redirect URI is used
 * @property {string} where  where the URIs are entered in the IdP's console
 * @property {string} groups  how group membership reaches the ID token
 * @property {string[]} notes  quirks worth knowing before the first sign-in
 */

const OFFLINE = 'openid profile email offline_access';

/** @type {Readonly<Record<string, IdpKind>>} */
export const IDP_KINDS = Object.freeze({
  okta: {
    label: 'Okta',
    issuerExample: 'https://<your org>.okta.com/oauth2/default',
    checkIssuer: (issuer) => (/^https:\/\/[^/]+\/oauth2\/[^/]+$|^https:\/\/[^/]+$/.test(issuer) ? undefined : 'expected https://<org>.okta.com/oauth2/<authorization server> (or the org server https://<org>.okta.com)'),
    settings: { scopes: OFFLINE },
    userClaim: undefined,
    backchannel: 'no',
    frontchannel: false,
    endSession: true,
    where: 'Applications → your OIDC Web App → General: "Sign-in redirect URIs", "Sign-out redirect URIs"; Grant type: Authorization Code and Refresh Token',
    groups: 'Security → API → Authorization Servers → (yours) → Claims: add "groups", include in the ID token always, value type Groups, filter Matches regex .* (the org authorization server cannot add it)',
    notes: ['Refresh tokens need the Refresh Token grant on the app as well as offline_access.', 'Okta advertises no OIDC back-channel logout: a logout at Okta ends gateway sessions only when their tokens can no longer be refreshed.'],
  },
  entra: {
    label: 'Microsoft Entra ID',
    issuerExample: 'https://login.microsoftonline.com/<tenant id>/v2.0',
    checkIssuer: (issuer) => {
      if (/\/(common|organizations|consumers)\/v2\.0$/.test(issuer)) return 'common, organizations and consumers name no issuer: use your tenant id (https://login.microsoftonline.com/<tenant id>/v2.0)';
      return /^https:\/\/login\.microsoftonline\.com\/[0-9a-f-]{36}\/v2\.0$/i.test(issuer) ? undefined : 'expected https://login.microsoftonline.com/<tenant id>/v2.0';
    },
    settings: { scopes: OFFLINE },
    userClaim: 'oid',
    backchannel: 'no',
    frontchannel: true,
    endSession: true,
    where: 'App registrations → your app → Authentication: Web platform "Redirect URIs" and "Front-channel logout URL"; Certificates & secrets: a client secret',
    groups: 'Token configuration → Add groups claim (Security groups; ID token): groups arrive as object ids (GUIDs), not names, and past ~200 groups as an overage claim instead — prefer app roles (the roles claim) for allow rules',
    notes: [
      'Entra ID has no OIDC back-channel logout; register the front-channel logout URL.',
      'sub is pairwise per application: USER_CLAIM = "oid" sends the user\'s object id instead.',
      'Entra ID sends no email_verified: email rules count its addresses as unverified (docs/routes.md "Verified email").',
      'For a certificate instead of a secret: OIDC_CLIENT_AUTH = "private_key_jwt" with OIDC_CLIENT_ASSERTION_AUD = "token_endpoint".',
    ],
  },
  auth0: {
    label: 'Auth0',
    issuerExample: 'https://<tenant>.<region>.auth0.com/',
    checkIssuer: (issuer) => (issuer.endsWith('/') ? undefined : 'Auth0 names its issuer with a trailing slash (https://<tenant>.<region>.auth0.com/); add it'),
    settings: { scopes: OFFLINE, client_auth: 'client_secret_post' },
    userClaim: undefined,
    backchannel: 'optional',
    frontchannel: false,
    endSession: true,
    where: 'Applications → your Regular Web Application → Settings: "Allowed Callback URLs", "Allowed Logout URLs"; Advanced → OIDC Back-Channel Logout',
    groups: 'Auth0 puts no groups in its tokens: add them in a post-login Action as a namespaced claim (https://<your domain>/groups), then use CLAIM_HEADERS or allow.claims',
    notes: [
      'Without an audience (--audience) Auth0 issues an opaque access token for its UserInfo only; refresh tokens need "Allow Offline Access" on that API.',
      'Sign-out at Auth0 needs the tenant setting "RP-Initiated Logout End Session Endpoint Discovery".',
    ],
  },
  google: {
    label: 'Google',
    issuerExample: 'https://accounts.google.com',
    checkIssuer: (issuer) => (issuer === 'https://accounts.google.com' ? undefined : 'Google\'s issuer is exactly https://accounts.google.com'),
    settings: { scopes: 'openid profile email', auth_params: { access_type: 'offline', prompt: 'consent' } },
    userClaim: undefined,
    backchannel: 'no',
    frontchannel: false,
    endSession: false,
    where: 'Google Cloud console → APIs & Services → Credentials → OAuth client ID (Web application): "Authorized redirect URIs"',
    groups: 'Google puts no groups in its tokens; for one Workspace domain require it with allow = { email_domains = ["<domain>"] } or claims = { hd = "<domain>" }',
    notes: ['Google has no PAR, no end_session_endpoint and no back- or front-channel logout: sign-out ends the gateway session only.', 'access_type=offline and prompt=consent are Google\'s way to a refresh token (it ignores offline_access).'],
  },
  keycloak: {
    label: 'Keycloak',
    issuerExample: 'https://sso.example.com/realms/<realm>',
    checkIssuer: (issuer) => (/\/realms\/[^/]+$/.test(issuer) ? undefined : 'expected https://<host>/realms/<realm> (before Keycloak 17: https://<host>/auth/realms/<realm>)'),
    settings: { scopes: OFFLINE },
    userClaim: undefined,
    backchannel: 'yes',
    frontchannel: false,
    endSession: true,
    where: 'Clients → your client (Client authentication on): "Valid redirect URIs", "Valid post logout redirect URIs", "Backchannel logout URL" with "Backchannel logout session required" on, front-channel logout off',
    groups: 'Client scopes → (the client\'s dedicated scope) → Add mapper "Group Membership": token claim name groups, "Full group path" off, "Add to ID token" on',
    notes: [],
  },
  'oidc-provider': {
    label: 'oidc-provider (node-oidc-provider, e.g. the local IdP of npm run dev)',
    issuerExample: 'http://127.0.0.1:9400',
    checkIssuer: () => undefined,
    settings: { scopes: 'openid profile email offline_access' },
    userClaim: undefined,
    backchannel: 'yes',
    frontchannel: false,
    endSession: true,
    where: 'the provider\'s `clients` configuration: redirect_uris, post_logout_redirect_uris, backchannel_logout_uri (features.backchannelLogout), grant_types authorization_code and refresh_token',
    groups: 'a `groups` claim returned by findAccount().claims() and listed under `claims` for a scope the gateway asks for',
    notes: ['An http:// loopback issuer turns on DEV_ALLOW_HTTP: local runs only (npm run check says so).'],
  },
  generic: {
    label: 'any OpenID Connect provider',
    issuerExample: 'https://idp.example.org',
    checkIssuer: () => undefined,
    settings: { scopes: 'openid profile email' },
    userClaim: undefined,
    backchannel: 'optional',
    frontchannel: false,
    endSession: true,
    where: 'the IdP\'s client (application) settings',
    groups: 'a `groups` claim in the ID token (or UserInfo), if the IdP can send one',
    notes: ['Add offline_access to OIDC_SCOPES if the IdP issues refresh tokens for it (npm run check -- --online shows what it offers).'],
  },
});

export const KIND_NAMES = Object.keys(IDP_KINDS);

/** `auth0`, `entra-id` → `entra`, `azure` → `entra`, `oidc` → `generic`: the names people type. */
export function kindOf(name) {
  const key = String(name).trim().toLowerCase();
  const alias = { 'entra-id': 'entra', entraid: 'entra', azure: 'entra', 'azure-ad': 'entra', oidc: 'generic', 'node-oidc-provider': 'oidc-provider' }[key] ?? key;
  return Object.hasOwn(IDP_KINDS, alias) ? alias : undefined;
}
