// The IdPs of test/idps, "corp" and "partner" (runs in Node, started by test/setup/global.ts): each a
// real oidc-provider (scripts/idp.mjs) with the gateway's client registered at that IdP's own redirect
// URI (/_auth/callback/<name>) and back-channel logout at the gateway, plus the test-only layer the
// workerd tests drive over HTTP, the same as the lifecycle IdP's (./idp-controls.ts): counters, token
// endpoint faults, captured logout tokens.
//
// `sid`: with it, logout tokens carry the IdP session's `sid` (and ID tokens carry `sid`, which
// oidc-provider includes only then); without it, logout tokens name the user by `sub` alone.
// @ts-ignore -- plain ESM script without type declarations
import { startIdp } from '../../scripts/idp.mjs';
import { CLIENT_ID, CLIENT_SECRET, ORIGIN, POST_LOGOUT_REDIRECT_URI } from './constants';
import { idpControls } from './idp-controls';

export async function startIdpsIdp(name: string, { sid }: { sid: boolean }): Promise<{ issuer: string; close(): Promise<void> }> {
  const controls = idpControls();
  const idp = await startIdp({
    port: 0,
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${ORIGIN}/_auth/callback/${name}`],
        post_logout_redirect_uris: [POST_LOGOUT_REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        backchannel_logout_uri: `${ORIGIN}/_auth/backchannel-logout`,
        backchannel_logout_session_required: sid,
      },
    ],
    fetch: controls.fetch,
    middleware: [controls.middleware],
  });
  return { issuer: String(idp.issuer), close: () => idp.close() };
}
