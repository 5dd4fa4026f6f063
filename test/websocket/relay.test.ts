// A WebSocket through the gateway is relayed (src/proxy/websocket.ts): authenticated at the upgrade like
// any request, identity headers forwarded with the upgrade, then messages both ways and close codes
// passed on in both directions.
import { describe, expect, it } from 'vitest';
import { signIn } from '../support/flows';
import { gateway } from '../support/gateway';
import { expectEcho, openSocket, upstreamClosedWithin } from './helpers';

async function signedIn(overrides: Record<string, unknown> = {}) {
  const gw = gateway(overrides);
  await signIn(gw);
  return gw;
}

describe('WebSocket relay', () => {
  it('forwards the upgrade with the identity headers and without the gateway cookie, keeps the subprotocol', async () => {
    const gw = await signedIn();
    const socket = await openSocket(gw, '/chat/room?x=1', { 'sec-websocket-protocol': 'chat.v2, chat.v1', 'x-user': 'mallory' });
    expect(socket.upgrade.path).toBe('/chat/room');
    expect(socket.upgrade.headers['x-user']).toBe('alice');
    expect(socket.upgrade.headers['cookie'] ?? '').not.toContain('edgegate');
    expect(socket.response.headers.get('sec-websocket-protocol')).toBe('chat.v2');
    socket.ws.close(1000, 'done');
  });

  it('relays text and binary messages both ways, in order', async () => {
    const gw = await signedIn();
    const socket = await openSocket(gw);
    socket.send('one');
    socket.send(new Uint8Array([0, 1, 2, 255]));
    socket.send('three ✓');
    expect(await socket.next()).toBe('one');
    const binary = await socket.next();
    expect(binary).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(binary as ArrayBuffer)]).toEqual([0, 1, 2, 255]);
    expect(await socket.next()).toBe('three ✓');
    const big = 'x'.repeat(256 * 1024);
    socket.send(big);
    expect(await socket.next()).toBe(big);
    socket.ws.close(1000, 'done');
  });

  it('refuses an upgrade without a session: 401, no socket', async () => {
    const res = await gateway().fetch('/ws', { headers: { upgrade: 'websocket' } });
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
    await res.arrayBuffer();
  });

  it('passes the upstream’s close code and reason to the client', async () => {
    const gw = await signedIn();
    const socket = await openSocket(gw);
    socket.send('close 4001 room closed');
    expect(await socket.closedWithin(2000)).toEqual({ code: 4001, reason: 'room closed' });
  });

  it('passes the client’s close code and reason to the upstream', async () => {
    const gw = await signedIn();
    const id = crypto.randomUUID();
    const socket = await openSocket(gw, `/ws?id=${id}`);
    await expectEcho(socket);
    socket.ws.close(4002, 'tab closed');
    expect(await upstreamClosedWithin(id, 2000)).toEqual({ code: 4002, reason: 'tab closed' });
  });

  it('an upstream that drops the connection closes the client’s socket with 1011 (1006 may not be sent)', async () => {
    const gw = await signedIn();
    const socket = await openSocket(gw);
    socket.send('drop');
    expect((await socket.closedWithin(2000)).code).toBe(1011);
  });

  it('keeps a socket whose session stands open across checks', async () => {
    const gw = await signedIn({ WEBSOCKET_CHECK_INTERVAL: '1' });
    const socket = await openSocket(gw);
    await socket.stillOpenAfter(2500);
    socket.ws.close(1000, 'done');
  });

  it('a socket opened anonymously on a public route is relayed, carries no identity and is not watched', async () => {
    const gw = gateway({ ROUTES: JSON.stringify([{ path: '/public/**', auth: 'public' }]), WEBSOCKET_CHECK_INTERVAL: '1' });
    const socket = await openSocket(gw, '/public/feed');
    expect(socket.upgrade.headers['x-user']).toBeUndefined();
    await socket.stillOpenAfter(1500);
    socket.ws.close(1000, 'done');
  });
});
