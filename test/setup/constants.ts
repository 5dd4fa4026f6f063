// Fixed test values shared by the Node side (global setup) and the workerd side (tests, support).
// No Node or Workers APIs here: this file is imported from both runtimes.

/** The gateway's client at the local IdP (client_secret_basic). */
export const CLIENT_ID = 'edgegate-test';
/** Same registration, but token_endpoint_auth_method: client_secret_post. */
export const POST_CLIENT_ID = 'edgegate-test-post';
/** Both clients share this secret. */
export const CLIENT_SECRET = 'edgegate-test-client-secret-0123456789';
/** 32 bytes, base64url (43 chars): "edgegate-test-session-secret-32b". */
export const SESSION_SECRET = 'ZWRnZWdhdGUtdGVzdC1zZXNzaW9uLXNlY3JldC0zMmI';
/** Requests in tests go to this origin; redirect URIs are registered for it. */
export const ORIGIN = 'https://localhost';
export const REDIRECT_URI = `${ORIGIN}/_auth/callback`;
export const POST_LOGOUT_REDIRECT_URI = `${ORIGIN}/_auth/signed-out`;
/** Users known to the local IdP (scripts/idp.mjs). */
export const USERS = ['alice', 'bob', 'carol'] as const;

/** The API IdP (`idpIssuerApi`): resource indicators for bearer-token tests (test/routes). */
export const API_RESOURCE = 'https://api.example';
export const API_SHORT_TTL = 5;
export const API_RESOURCE_SERVERS = {
  /** JWT access tokens (RFC 9068) with aud = API_RESOURCE. */
  [API_RESOURCE]: { scope: 'api:read api:write', audience: API_RESOURCE, accessTokenFormat: 'jwt' },
  /** Opaque access tokens with the same audience, checked by introspection. */
  [`${API_RESOURCE}/opaque`]: { scope: 'api:read api:write', audience: API_RESOURCE, accessTokenFormat: 'opaque' },
  /** Opaque and short-lived (introspection cache bound). */
  [`${API_RESOURCE}/short`]: { scope: 'api:read api:write', audience: API_RESOURCE, accessTokenFormat: 'opaque', accessTokenTTL: API_SHORT_TTL },
  /** An API on the gateway's own origin (test/api: RFC 9728 discovery, DPoP): JWT and opaque tokens with aud = GATEWAY_RESOURCE. */
  [`${ORIGIN}/mcp`]: { scope: 'mcp:tools mcp:admin', audience: `${ORIGIN}/mcp`, accessTokenFormat: 'jwt' },
  [`${ORIGIN}/mcp-opaque`]: { scope: 'mcp:tools mcp:admin', audience: `${ORIGIN}/mcp`, accessTokenFormat: 'opaque' },
} as const;
/** The resource identifier of the API on the gateway's own origin (API_RESOURCE_SERVERS). */
export const GATEWAY_RESOURCE = `${ORIGIN}/mcp`;
/** A client of the API IdP that obtains user tokens for the API (not the gateway's client). */
export const API_CLIENT_ID = 'edgegate-api-client';
export const API_CLIENT_SECRET = 'edgegate-api-client-secret-0123456789';

/** The token-lifecycle IdP (`idpIssuerLifecycle`, test/setup/lifecycle-idp.ts) and its clients (test/lifecycle). */
export const LIFECYCLE_CLIENT_ID = 'edgegate-lifecycle';
export const LIFECYCLE_SUB_CLIENT_ID = 'edgegate-lifecycle-sub';
export const LIFECYCLE_SHORT_CLIENT_ID = 'edgegate-lifecycle-short';
/** Seconds: access tokens of the lifecycle clients; the short client's; ID tokens (longer, so fake-clock jumps past access-token expiry still verify fresh ID tokens). */
export const LIFECYCLE_ACCESS_TTL = 600;
export const LIFECYCLE_SHORT_TTL = 4;
export const LIFECYCLE_ID_TOKEN_TTL = 3600;

/** The protocol IdPs (`idpIssuerProtocol`, `idpIssuerPar`; test/setup/protocol-idp.ts): one client per
 *  token-endpoint auth method, each allowed `code`, `code id_token` and `id_token`. Secrets: CLIENT_SECRET.
 *  Their gateway is at PROTOCOL_ORIGIN: oidc-provider refuses `localhost` redirect URIs for clients that
 *  may receive ID tokens from the authorization endpoint. */
export const PROTOCOL_ORIGIN = 'https://app.edgegate.test';
export const PROTOCOL_CLIENTS = {
  basic: 'edgegate-proto-basic',
  post: 'edgegate-proto-post',
  secretJwt: 'edgegate-proto-secret-jwt',
  keyJwt: 'edgegate-proto-key-jwt',
  public: 'edgegate-proto-public',
} as const;
