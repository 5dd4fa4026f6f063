// The token-lifecycle IdP (runs in Node, started by test/setup/global.ts): a real oidc-provider
// (scripts/idp.mjs) with refresh-token rotation, back-channel logout and revocation, plus a thin
// test-only layer the workerd tests drive over HTTP (./idp-controls.ts: /__test/stats, reset, fault,
// held, release, logout-tokens, dpop), with oidc-provider's DPoP nonce switched by /__test/dpop.
//
// Clients (all share CLIENT_SECRET, client_secret_basic, redirect https://localhost/_auth/callback):
//   LIFECYCLE_CLIENT_ID      back-channel logout with `sid` (backchannel_logout_session_required)
//   LIFECYCLE_SUB_CLIENT_ID  back-channel logout by `sub` only
//   LIFECYCLE_SHORT_CLIENT_ID  access tokens live LIFECYCLE_SHORT_TTL seconds (real-time refresh test)
// Other clients' access tokens live LIFECYCLE_ACCESS_TTL seconds, ID tokens LIFECYCLE_ID_TOKEN_TTL.
import { randomBytes } from 'node:crypto';
// @ts-ignore -- plain ESM script without type declarations
import { startIdp } from '../../scripts/idp.mjs';
import {
  CLIENT_SECRET,
  LIFECYCLE_ACCESS_TTL,
  LIFECYCLE_CLIENT_ID,
  LIFECYCLE_ID_TOKEN_TTL,
  LIFECYCLE_SHORT_CLIENT_ID,
  LIFECYCLE_SHORT_TTL,
  LIFECYCLE_SUB_CLIENT_ID,
  ORIGIN,
  POST_LOGOUT_REDIRECT_URI,
  REDIRECT_URI,
} from './constants';
import { idpControls } from './idp-controls';

const BACKCHANNEL_URI = `${ORIGIN}/_auth/backchannel-logout`;

const client = (clientId: string, extra: Record<string, unknown> = {}) => ({
  client_id: clientId,
  client_secret: CLIENT_SECRET,
  redirect_uris: [REDIRECT_URI],
  post_logout_redirect_uris: [POST_LOGOUT_REDIRECT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...extra,
});

export const LIFECYCLE_CLIENTS = [
  client(LIFECYCLE_CLIENT_ID, { backchannel_logout_uri: BACKCHANNEL_URI, backchannel_logout_session_required: true }),
  client(LIFECYCLE_SUB_CLIENT_ID, { backchannel_logout_uri: BACKCHANNEL_URI, backchannel_logout_session_required: false }),
  client(LIFECYCLE_SHORT_CLIENT_ID),
];

export async function startLifecycleIdp(): Promise<{ issuer: string; close(): Promise<void> }> {
  const controls = idpControls();
  const idp = await startIdp({
    port: 0,
    clients: LIFECYCLE_CLIENTS,
    fetch: controls.fetch,
    middleware: [controls.middleware],
    dpop: { nonceSecret: randomBytes(32), requireNonce: controls.requireDpopNonce },
    ttl: {
      AccessToken: (_ctx: unknown, _token: unknown, c?: { clientId?: string }) => (c?.clientId === LIFECYCLE_SHORT_CLIENT_ID ? LIFECYCLE_SHORT_TTL : LIFECYCLE_ACCESS_TTL),
      IdToken: LIFECYCLE_ID_TOKEN_TTL,
    },
  });
  return { issuer: String(idp.issuer), close: () => idp.close() };
}
