// WebSockets through the gateway, against the echo upstream (test/setup/upstream.ts): it first sends the
// upgrade request it received as JSON `{ path, headers }`, then echoes every message; `close <code>
// <reason>` makes it close, `drop` makes it cut the connection; GET /ws-closed?id= tells how a socket
// opened with `?id=` was closed on its side.
//
//   const socket = await openSocket(gw, '/ws');        // 101 expected; the upgrade echo is read already
//   socket.send('hi'); await socket.next()             // → 'hi'
//   await socket.closedWithin(3000)                    // → { code, reason }, or throws
import { expect, inject } from 'vitest';
import type { Gateway } from '../support/gateway';

export interface Closed {
  code: number;
  reason: string;
}

export interface OpenSocket {
  ws: WebSocket;
  /** The upgrade request as the upstream received it. */
  upgrade: { path: string; headers: Record<string, string> };
  /** The 101 response the gateway answered. */
  response: Response;
  send(data: string | ArrayBuffer | Uint8Array): void;
  /** The next message from the upstream (text as string, binary as ArrayBuffer). */
  next(timeoutMs?: number): Promise<string | ArrayBuffer>;
  /** Resolves when the gateway closed the socket (or the test did). */
  closed: Promise<Closed>;
  closedWithin(ms: number): Promise<Closed>;
  /** Still open after `ms`, and still echoing. */
  stillOpenAfter(ms: number): Promise<void>;
}

export async function openSocket(gw: Gateway, path = '/ws', headers: Record<string, string> = {}): Promise<OpenSocket> {
  const response = await gw.fetch(path, { headers: { upgrade: 'websocket', ...headers } });
  expect(response.status, `upgrade of ${path}: ${response.status}`).toBe(101);
  const ws = response.webSocket!;
  ws.accept();
  ws.binaryType = 'arraybuffer';
  const queue: (string | ArrayBuffer)[] = [];
  const waiting: ((m: string | ArrayBuffer) => void)[] = [];
  ws.addEventListener('message', (event) => {
    const data = event.data as string | ArrayBuffer;
    const waiter = waiting.shift();
    if (waiter) waiter(data);
    else queue.push(data);
  });
  let isClosed = false;
  const closed = new Promise<Closed>((resolve) => {
    ws.addEventListener('close', (event) => {
      isClosed = true;
      resolve({ code: event.code, reason: event.reason });
    });
  });
  const next = (timeoutMs = 3000) =>
    new Promise<string | ArrayBuffer>((resolve, reject) => {
      const queued = queue.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
      waiting.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  const closedWithin = (ms: number) =>
    Promise.race([closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms))]);
  const socket: OpenSocket = {
    ws,
    response,
    upgrade: JSON.parse((await next()) as string) as OpenSocket['upgrade'],
    send: (data) => ws.send(data),
    next,
    closed,
    closedWithin,
    async stillOpenAfter(ms) {
      await sleep(ms);
      expect(isClosed, 'socket closed').toBe(false);
      const probe = `probe ${crypto.randomUUID()}`;
      ws.send(probe);
      expect(await next()).toBe(probe);
    },
  };
  return socket;
}

/** How the upstream saw the socket opened with `?id=<id>` close (null while it is open). */
export async function upstreamClosed(id: string): Promise<Closed | null> {
  const res = await fetch(`${inject('upstreamUrl')}/ws-closed?id=${encodeURIComponent(id)}`);
  return ((await res.json()) as { closed: Closed | null }).closed;
}

export async function upstreamClosedWithin(id: string, ms: number): Promise<Closed> {
  for (let waited = 0; waited <= ms; waited += 50) {
    const closed = await upstreamClosed(id);
    if (closed) return closed;
    await sleep(50);
  }
  throw new Error(`the upstream's socket ${id} is still open after ${ms} ms`);
}

/** The socket closed by the gateway because its session ended (contract: close code 1008). */
export async function expectEndedWithin(socket: OpenSocket, ms: number, reason: RegExp = /session ended/): Promise<void> {
  const closed = await socket.closedWithin(ms);
  expect(closed.code).toBe(1008);
  expect(closed.reason).toMatch(reason);
}

/** Sends a text message and expects it back: the relay works before whatever the test does next. */
export async function expectEcho(socket: OpenSocket, text = `hello ${crypto.randomUUID()}`): Promise<void> {
  socket.send(text);
  expect(await socket.next()).toBe(text);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
