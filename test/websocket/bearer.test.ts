// A WebSocket opened with a bearer access token on an `api` rule lives as long as the token: closed with
// 1008 at its `exp` (there is no session to renew it).
import { describe, expect, inject, it } from 'vitest';
import { API_RESOURCE } from '../setup/constants';
import { gateway } from '../support/gateway';
import { testIssuerJwt } from '../routes/helpers';
import { expectEcho, expectEndedWithin, openSocket } from './helpers';

const testIssuer = inject('testIssuerUrl');

describe('bearer-token WebSockets', () => {
  it('are closed with 1008 when the access token expires', async () => {
    const gw = gateway({ OIDC_ISSUER: testIssuer, API_AUDIENCE: API_RESOURCE, ROUTES: JSON.stringify([{ path: '/api/**', auth: 'api' }]) });
    const now = Math.floor(Date.now() / 1000);
    const token = await testIssuerJwt({
      header: { typ: 'at+jwt' },
      claims: { iss: testIssuer, aud: API_RESOURCE, sub: 'alice', scope: 'api:read', iat: now, exp: now + 3 },
    });
    const socket = await openSocket(gw, '/api/stream', { authorization: `Bearer ${token}` });
    expect(socket.upgrade.headers['x-user']).toBe('alice');
    expect(socket.upgrade.headers['authorization']).toBeUndefined();
    await expectEcho(socket);
    await socket.stillOpenAfter(1000);
    await expectEndedWithin(socket, 3500, /access token expired/);
  });
});
