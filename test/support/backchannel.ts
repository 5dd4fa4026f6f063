// Back-Channel Logout 1.0 with real logout tokens (run inside workerd). The local IdPs capture the
// logout requests they make (the gateway is not reachable from Node: test/setup/lifecycle-idp.ts,
// test/setup/idps-idp.ts); the tests deliver them to the gateway as the IdP would.
//
//   theLogoutTokenSent(sent)           the one logout token the IdP sent, to the gateway's endpoint
//   deliverLogoutToken(gw, token)      POST /_auth/backchannel-logout as the IdP does
import { expect } from 'vitest';
import type { CapturedLogoutToken } from '../setup/protocol';
import type { Gateway } from './gateway';

const BACKCHANNEL_URI = 'https://localhost/_auth/backchannel-logout';

/** The IdP's captured back-channel requests hold exactly one, to the gateway's back-channel endpoint: its logout token. */
export function theLogoutTokenSent(sent: CapturedLogoutToken[]): string {
  expect(sent).toHaveLength(1);
  expect(sent[0]!.uri).toBe(BACKCHANNEL_URI);
  return sent[0]!.logoutToken;
}

/** The IdP's request (Back-Channel Logout 1.0 2.5): a form POST with `logout_token`, no cookies (server to server). */
export function deliverLogoutToken(gw: Gateway, logoutToken: string): Promise<Response> {
  return gw.fetch('/_auth/backchannel-logout', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: logoutToken }),
    cookies: false,
  });
}
