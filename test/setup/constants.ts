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
