// Echo upstream for gateway tests (runs in Node, started by test/setup/global.ts).
//
// Every request is answered with JSON describing what arrived, so a test can assert exactly what the
// gateway forwarded:
//   { method, url, path, query, headers, rawHeaders, body }
// - `headers` is Node's `req.headers`: lower-cased names; duplicates joined by Node except where Node
//   keeps them as arrays (e.g. `set-cookie`). `rawHeaders` is the untouched [name, value, ...] list
//   for tests that need to see every duplicate or the original spelling.
// - `query` maps each name to its value, or to an array when the name repeats.
// - `body` is the request body as text ("" when none).
//
// Special paths:
//   /redirect          302, `Location: /elsewhere`, `Set-Cookie: upstream=1`
//   /status/<n>        answers status <n> (JSON echo body unless the status forbids a body)
//   /set-cookie        200 with two Set-Cookie headers (`a=1; Path=/`, `b=2; Path=/; HttpOnly`)
//   /set-cookies?c=…   200 with one Set-Cookie header per `c` value, as given (any name, prefix, case)
//   /cors/<n>          status <n> with CORS headers for the request's Origin (Access-Control-Allow-*,
//                      Max-Age, Vary), a Set-Cookie, an X-Upstream-Private header and the JSON echo body
//   any path ?remember=<id>   also keeps the echo; `GET /remembered?id=<id>` answers it (404 before), for
//                      requests whose answer the gateway does not pass back whole (CORS preflights)
//   /sse?n=3&ms=20     text/event-stream: n events, `ms` apart, then closes (streaming pass-through)
//   /slow?ms=500       waits, then echoes (timeouts)
//   /reset             drops the connection without an answer
//   /huge?mb=8         200 with `mb` MiB of `x` streamed in 64 KiB chunks (bodies are streamed, not buffered)
//
// WebSocket upgrades (any path) are accepted: the first message is JSON `{ path, headers }` of the
// upgrade request (what the gateway forwarded), then every message is echoed (text as text, binary as
// binary). The text message `close <code> <reason>` makes the upstream close with that code, `drop`
// makes it cut the connection without a close frame. `GET /ws-closed?id=<id>` answers how the socket
// opened with `?id=<id>` was closed: `{ "closed": null | { "code", "reason" } }`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { EchoBody } from './protocol';

export type { EchoBody } from './protocol';

export interface RunningUpstream {
  url: string;
  port: number;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function describe(req: IncomingMessage, body: string): EchoBody {
  const u = new URL(req.url ?? '/', 'http://upstream.invalid');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of u.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = v;
  return { method: req.method ?? 'GET', url: req.url ?? '/', path: u.pathname, query, headers, rawHeaders: req.rawHeaders, body };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Echoes of requests sent with `?remember=<id>`, by id (oldest dropped past 200). */
const remembered = new Map<string, EchoBody>();

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const echo = describe(req, body);
  const sendJson = (status: number, extra: Record<string, string | string[]> = {}) => {
    const noBody = status === 204 || status === 304 || (status >= 100 && status < 200) || req.method === 'HEAD';
    const text = JSON.stringify(echo);
    res.writeHead(status, { 'content-type': 'application/json', ...(noBody ? {} : { 'content-length': Buffer.byteLength(text) }), ...extra });
    res.end(noBody ? undefined : text);
  };
  const p = echo.path;
  if (p === '/remembered') {
    const kept = remembered.get(String(echo.query.id));
    res.writeHead(kept ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(kept ?? { error: 'nothing remembered under that id' }));
    return;
  }
  if (typeof echo.query.remember === 'string') {
    remembered.set(echo.query.remember, echo);
    if (remembered.size > 200) remembered.delete(remembered.keys().next().value!);
  }
  if (p === '/ws-closed') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ closed: wsClosed.get(String(echo.query.id)) ?? null }));
    return;
  }
  if (p === '/redirect') return sendJson(302, { location: '/elsewhere', 'set-cookie': ['upstream=1'] });
  const status = /^\/status\/(\d{3})$/.exec(p);
  if (status) return sendJson(Number(status[1]));
  if (p === '/set-cookie') return sendJson(200, { 'set-cookie': ['a=1; Path=/', 'b=2; Path=/; HttpOnly'] });
  const cors = /^\/cors\/(\d{3})$/.exec(p);
  if (cors) {
    return sendJson(Number(cors[1]), {
      'access-control-allow-origin': String(req.headers.origin ?? '*'),
      'access-control-allow-methods': 'GET, POST, DELETE',
      'access-control-allow-headers': 'content-type, x-requested-with',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
      vary: 'Origin',
      'set-cookie': ['upstream-session=1; Path=/'],
      'x-upstream-private': 'internal',
    });
  }
  if (p.endsWith('/set-cookies')) return sendJson(200, { 'set-cookie': ([] as string[]).concat(echo.query.c ?? []) });
  if (p === '/slow') {
    await sleep(Number(echo.query.ms ?? 500));
    return sendJson(200);
  }
  if (p === '/reset') {
    req.socket.destroy();
    return;
  }
  if (p === '/huge') {
    const total = Number(echo.query.mb ?? 8) * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
    for (let sent = 0; sent < total; sent += chunk.length) {
      // Respect back-pressure: a gateway that streams reads as fast as the client does.
      if (!res.write(chunk.subarray(0, Math.min(chunk.length, total - sent)))) await new Promise((r) => res.once('drain', r));
    }
    res.end();
    return;
  }
  if (p === '/sse') {
    const n = Number(echo.query.n ?? 3);
    const ms = Number(echo.query.ms ?? 20);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (let i = 0; i < n; i++) {
      res.write(`id: ${i}\ndata: event ${i}\n\n`);
      await sleep(ms);
    }
    res.end();
    return;
  }
  return sendJson(200);
}

/**
 * ws (installed as a dependency of miniflare; no type declarations) through require: Vite's module
 * resolution picks its browser stub otherwise.
 */
const { WebSocketServer } = createRequire(import.meta.url)('ws') as {
  WebSocketServer: new (options: { server: Server }) => { clients: Set<unknown>; on(event: 'connection', listener: (socket: EchoSocket, req: IncomingMessage) => void): void };
};

/** How each WebSocket opened with `?id=` was closed, for /ws-closed. */
const wsClosed = new Map<string, { code: number; reason: string }>();

interface EchoSocket {
  send(data: unknown, options?: { binary: boolean }): void;
  close(code: number, reason: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): void;
}

function echoWebSocket(socket: EchoSocket, req: IncomingMessage): void {
  const u = new URL(req.url ?? '/', 'http://upstream.invalid');
  const id = u.searchParams.get('id');
  socket.send(JSON.stringify({ path: u.pathname, headers: req.headers }));
  socket.on('message', (data, isBinary) => {
    const text = isBinary ? '' : data.toString('utf8');
    const close = /^close (\d{4})(?: (.*))?$/s.exec(text);
    if (close) return socket.close(Number(close[1]), close[2] ?? '');
    if (text === 'drop') return socket.terminate();
    socket.send(isBinary ? data : text, { binary: isBinary });
  });
  socket.on('close', (code, reason) => {
    if (id) wsClosed.set(id, { code, reason: reason.toString('utf8') });
  });
}

export async function startUpstream(port = 0): Promise<RunningUpstream> {
  // Node's default 16 KiB header limit would answer 431 to the large-cookie tests (test/attacks).
  const server: Server = createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  const sockets = new WebSocketServer({ server });
  sockets.on('connection', echoWebSocket);
  // Longer than any pause in a test: a server closing an idle connection just as workerd reuses it
  // makes that request fail with "Network connection lost" (tests that wait for tokens to expire
  // pause for seconds). close() ends kept-alive connections itself (closeAllConnections).
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets.clients as Set<EchoSocket>) socket.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
