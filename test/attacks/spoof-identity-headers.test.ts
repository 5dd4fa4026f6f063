// An attacker sends the identity headers the upstream trusts, hoping one spelling slips through: other
// letter case, `_` for `-` (CGI, PHP, Python WSGI and Node's `headers` map both to one name), several
// copies, or listed in `Connection:` with odd spacing (which makes some proxies drop the gateway's own
// header and keep the client's), and the headers other auth front ends set (Azure App Service, Google
// IAP, AWS ALB, mod_auth_openidc, Grafana's auth proxy). None reaches the upstream; only the
// gateway's own values do, and on public routes without a session no identity at all.
import { describe, expect, it } from 'vitest';
import { signInWithScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { NAVIGATE, echoOf, identityHeaders, testIssuer } from './helpers';

const ROUTES = [{ path: '/pub/**', auth: 'public' }];
const SPOOFED = 'mallory';

/** Every spelling an attacker might try, each carrying the value "mallory". */
const SPELLINGS = [
  'X-User', 'x-user', 'X-USER', 'X_User', 'x_user', 'X-User_Email', 'x_user_groups', 'X-USER-NAME', 'X-User-Jwt', 'X-Userid',
  'X-Forwarded-User', 'X_Forwarded_User', 'x-forwarded_email', 'X-Forwarded-Groups', 'X-FORWARDED-PREFERRED-USERNAME', 'X-Forwarded-Access-Token', 'X-Forwarded-Id-Token',
  'X-Auth-Request-User', 'x_auth_request_email', 'X-Auth-Request-Groups', 'X-Auth-Request-Preferred-Username', 'X-Auth-Request-Access-Token',
  'Remote-User', 'REMOTE_USER', 'remote_email', 'Remote-Groups', 'Remote-Name', 'X-Remote-User', 'X_REMOTE_USER',
  'X-WEBAUTH-USER', 'X-Webauth-Email', 'X-Authenticated-User',
  'X-MS-CLIENT-PRINCIPAL', 'X-MS-CLIENT-PRINCIPAL-NAME', 'X-MS-CLIENT-PRINCIPAL-ID', 'X-MS-TOKEN-AAD-ID-TOKEN',
  'X-Goog-Authenticated-User-Email', 'X-Goog-Authenticated-User-Id', 'X-Goog-IAP-JWT-Assertion',
  'X-Amzn-Oidc-Identity', 'X-Amzn-Oidc-Data', 'X-Amzn-Oidc-Accesstoken',
  'OIDC_CLAIM_sub', 'OIDC_CLAIM_email', 'Oidc-Claim-Groups', 'OIDC_access_token', 'OIDC_id_token',
];

function spoofedHeaders(extra: Record<string, string> = {}): Headers {
  const headers = new Headers({ ...NAVIGATE, ...extra });
  for (const name of SPELLINGS) headers.append(name, SPOOFED);
  // And a second copy of the main one, as some servers take the last value.
  headers.append('X-User', `${SPOOFED}2`);
  return headers;
}

function expectNoSpoof(rawHeaders: string[], gatewayUser: string | undefined) {
  const received = rawHeaders.join('\n').toLowerCase();
  expect(received).not.toContain(SPOOFED);
  const users = rawHeaders.filter((_, i) => i % 2 === 0).filter((n) => n.toLowerCase() === 'x-user');
  expect(users.length, 'exactly one X-User, or none').toBe(gatewayUser === undefined ? 0 : 1);
}

async function signedIn(): Promise<Gateway> {
  const gw = gateway({ OIDC_ISSUER: testIssuer, ROUTES });
  await signInWithScript(gw, { idToken: { claims: { sub: 'bob' } } });
  return gw;
}

describe('spoofed identity headers', () => {
  it('in every spelling, for a signed-in user: only the gateway’s X-User arrives', async () => {
    const gw = await signedIn();
    const echo = await echoOf(await gw.fetch('/page', { headers: spoofedHeaders() }));
    expectNoSpoof(echo.rawHeaders, 'bob');
    expect(identityHeaders(echo)['x-user']).toBe('bob');
  });

  it('in every spelling, on a public route without a session: no identity at all', async () => {
    const echo = await echoOf(await gateway({ OIDC_ISSUER: testIssuer, ROUTES }).fetch('/pub/page', { headers: spoofedHeaders() }));
    expectNoSpoof(echo.rawHeaders, undefined);
    expect(identityHeaders(echo)).toEqual({});
  });

  it.each([
    'keep-alive, X-User',
    ' Keep-Alive ,\tx-user , ,x_user_email,,X-FORWARDED-USER ',
    'close,X_User',
    'X-User-Email, Upgrade',
    'x-user\t,\tx-user-groups',
  ])('listed in Connection: %j — the gateway’s X-User is still set, the client’s still dropped', async (connection) => {
    const gw = await signedIn();
    const echo = await echoOf(await gw.fetch('/page', { headers: spoofedHeaders({ connection }) }));
    expectNoSpoof(echo.rawHeaders, 'bob');
    expect(identityHeaders(echo)['x-user']).toBe('bob');
    // The client's Connection header itself is hop-by-hop: it never reaches the upstream, so no hop
    // behind the gateway can be told to drop the gateway's headers.
    expect(String(echo.headers['connection'] ?? '').toLowerCase()).not.toContain('user');
  });

  it('Connection naming the gateway’s own forwarding headers cannot remove them', async () => {
    const gw = await signedIn();
    const echo = await echoOf(await gw.fetch('/page', { headers: { ...NAVIGATE, connection: 'X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto', 'cf-connecting-ip': '203.0.113.7' } }));
    expect(echo.headers['x-forwarded-for']).toBe('203.0.113.7');
    expect(echo.headers['x-forwarded-host']).toBe('localhost');
    expect(echo.headers['x-forwarded-proto']).toBe('https');
  });

  it('a bearer token on a session route is just a header: it names nobody', async () => {
    const echo = await echoOf(await gateway({ OIDC_ISSUER: testIssuer, ROUTES }).fetch('/pub/page', { headers: spoofedHeaders({ authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0.' }) }));
    expect(identityHeaders(echo)).toEqual({});
  });
});
