// With the coordinator, an open WebSocket's watcher subscribes to its session's end at the session's
// object (src/coordinator/object.ts `fetch`): a standing session costs no Durable Object call while the
// socket is open, and an end reaches the socket at once — long before the next timed check.
import { beforeEach, describe, expect, it } from 'vitest';
import { coordinatorCalls } from '../../src/coordinator/client';
import { API, idp, lifecycleGateway, signInWithIdpJar } from '../support/lifecycle';
import { callsSince } from '../coordinator/helpers';
import { expectEcho, expectEndedWithin, openSocket } from './helpers';

beforeEach(() => idp.reset());

describe('WebSockets with the coordinator: the end is pushed', () => {
  it('no check while the session stands; closed within a second of the logout though checks are 60 s apart', async () => {
    const gw = lifecycleGateway({ WEBSOCKET_CHECK_INTERVAL: '60' });
    await signInWithIdpJar(gw);
    const before = coordinatorCalls();
    const socket = await openSocket(gw);
    await expectEcho(socket);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const calls = callsSince(before);
    expect(calls.subscribe, 'one subscription').toBe(1);
    expect(calls.check, 'no polling while it stands (the upgrade itself asked once)').toBeLessThanOrEqual(1);

    const started = Date.now();
    const res = await gw.fetch('/_auth/logout', { method: 'POST', headers: API });
    await res.arrayBuffer();
    await expectEndedWithin(socket, 1000);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
