// The other tests call the worker's fetch handler inside the test's own request. Here the gateway is
// reached as a real request through the Worker's own service binding, so the socket's watcher runs on
// timers of a request whose 101 response was already returned: workerd keeps such a request alive while
// its accepted WebSockets are open, and with it the watcher.
import { exports } from 'cloudflare:workers';
import { describe, it } from 'vitest';
import { ORIGIN } from '../setup/constants';
import { signIn } from '../support/flows';
import { baseEnv, type Gateway } from '../support/gateway';
import { CookieJar } from '../support/cookies';
import { API } from '../support/lifecycle';
import { expectEcho, expectEndedWithin, openSocket } from './helpers';

/** Like support/gateway.ts, but every call is a request of its own (the shipped bindings: coordinator on). */
function servedGateway(): Gateway {
  const jar = new CookieJar();
  const worker = (exports as unknown as { default: Fetcher }).default;
  return {
    jar,
    env: baseEnv,
    async fetch(pathOrUrl, init = {}) {
      const { cookies = true, store = true, ...requestInit } = init;
      const url = String(pathOrUrl).startsWith('/') ? `${ORIGIN}${pathOrUrl}` : String(pathOrUrl);
      const headers = new Headers(requestInit.headers);
      if (cookies && !headers.has('cookie')) {
        const cookie = jar.header(url);
        if (cookie) headers.set('cookie', cookie);
      }
      const response = await worker.fetch(new Request(url, { ...requestInit, headers, redirect: 'manual' }));
      if (store) jar.store(response, url);
      return response;
    },
  };
}

describe('a WebSocket served by a request of its own', () => {
  it('is still watched after the upgrade’s response was returned: logout closes it with 1008', async () => {
    const gw = servedGateway();
    await signIn(gw);
    const socket = await openSocket(gw);
    await expectEcho(socket);
    await (await gw.fetch('/_auth/logout', { method: 'POST', headers: { ...API, 'sec-fetch-site': 'same-origin' } })).arrayBuffer();
    await expectEndedWithin(socket, 2500);
  });
});
