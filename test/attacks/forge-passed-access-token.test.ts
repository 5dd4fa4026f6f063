// A rule with `pass_access_token = "bearer"` tells the upstream: "Authorization is the user's access
// token, put there by the gateway". An attacker sends their own `Authorization: Bearer …` where the
// gateway has no token to put — a session from ID-token sign-in has none, an anonymous visitor of a
// public rule neither — hoping the upstream takes the forged token as the gateway's. The client's own
// Authorization never reaches the upstream on such a rule.
import { describe, expect, it } from 'vitest';
import { atIdp, deliver, NAVIGATE, protocolGateway, redirectToIdp } from '../protocol/helpers';
import { withRoutes } from '../routes/helpers';
import { echoOf } from './helpers';

const FORGED = 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.';
const ROUTES = [
  { path: '/bearer/**', auth: 'session', pass_access_token: 'bearer' },
  { path: '/header/**', auth: 'session', pass_access_token: 'header' },
  { path: '/open/**', auth: 'public', pass_access_token: 'bearer' },
];

describe('a forged Authorization header on a pass_access_token rule', () => {
  it('is removed when the session has no access token (ID-token sign-in)', async () => {
    const gw = protocolGateway({ OIDC_RESPONSE_TYPE: 'id_token', ROUTES });
    const { location } = await redirectToIdp(gw);
    expect((await deliver(gw, await atIdp(location.href, { user: 'carol' }))).status).toBe(303);

    const echo = await echoOf(await gw.fetch('/bearer/x', { headers: { ...NAVIGATE, authorization: FORGED } }));
    expect(echo.headers['x-user']).toBe('carol');
    expect(echo.headers['authorization']).toBeUndefined();

    // "header" mode never used Authorization: the client's own passes as any header would, and the
    // gateway's header cannot be forged either.
    const other = await echoOf(await gw.fetch('/header/x', { headers: { ...NAVIGATE, 'x-forwarded-access-token': 'forged' } }));
    expect(other.headers['x-forwarded-access-token']).toBeUndefined();
  });

  it('is removed for an anonymous visitor of a public rule', async () => {
    const echo = await echoOf(await withRoutes(ROUTES).fetch('/open/x', { headers: { ...NAVIGATE, authorization: FORGED } }));
    expect(echo.headers['authorization']).toBeUndefined();
  });
});
