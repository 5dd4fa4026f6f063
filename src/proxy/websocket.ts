import { log } from '../http/log';

/**
 * A WebSocket through the gateway, relayed instead of passed through: the upstream's socket and the
 * client's meet in this Worker, so the gateway can still close both when the session behind the
 * upgrade ends (lifecycle/watch.ts). Each message is handed on as it arrives, text as text and binary
 * as binary, with nothing parsed, buffered or checked: the relay costs one hand-over per message.
 */

/** Starts watching; calls `end` (once) when the socket must close; returns a function that stops watching. */
export type SocketWatch = (end: (reason: string) => void) => () => void;

/** RFC 6455 7.4.1: the endpoint received a message that violates its policy — here: the session ended. */
export const SESSION_ENDED_CODE = 1008;
/** RFC 6455 5.5: a control frame's payload is at most 125 bytes, 2 of them the code. */
const MAX_REASON_BYTES = 123;

/**
 * Answers the client's upgrade with its own end of a new socket pair, relaying to and from the
 * upstream's socket (the 101 response `forward` got). The upstream's chosen subprotocol and its other
 * headers are kept; the handshake headers are the runtime's to set, and `Sec-WebSocket-Extensions`
 * described the gateway↔upstream connection, not the client's (workerd negotiates that one itself).
 */
export function relayWebSocket(upstreamResponse: Response, watch?: SocketWatch): Response {
  const upstream = upstreamResponse.webSocket!;
  const pair = new WebSocketPair();
  const client = pair[0];
  const edge = pair[1];
  for (const socket of [upstream, edge]) {
    socket.accept();
    // Binary messages as ArrayBuffer: `send` takes them as they came (a Blob it would not).
    socket.binaryType = 'arraybuffer';
  }

  let stop: (() => void) | undefined;
  let closed = false;
  const finish = () => {
    closed = true;
    stop?.();
    stop = undefined;
  };

  pipe(edge, upstream, finish);
  pipe(upstream, edge, finish);

  if (watch) {
    stop = watch((reason) => {
      if (closed) return;
      finish();
      log('info', 'websocket_closed', { reason });
      closeQuietly(edge, SESSION_ENDED_CODE, reason);
      closeQuietly(upstream, SESSION_ENDED_CODE, reason);
    });
    // The socket closed while the watcher was starting (or the watcher ended it at once).
    if (closed) finish();
  }

  return new Response(null, { status: 101, webSocket: client, headers: responseHeaders(upstreamResponse.headers) });
}

/** Hands every message from `from` to `to`, and `from`'s close (or error) on to `to`. */
function pipe(from: WebSocket, to: WebSocket, finish: () => void): void {
  from.addEventListener('message', (event) => {
    try {
      to.send(event.data);
    } catch {
      // `to` is closing: its own close event ends the relay.
    }
  });
  from.addEventListener('close', (event) => {
    finish();
    closeQuietly(to, relayedCode(event.code), event.reason);
  });
  from.addEventListener('error', () => {
    finish();
    closeQuietly(to, 1011, 'the other side of the connection failed');
  });
}

/**
 * Close codes that may not be sent (RFC 6455 7.4.1: 1005 "no status" and 1006 "closed abnormally" only
 * report what happened; 1004 and 1015 are reserved) become ones that say the same to the other side.
 */
export function relayedCode(code: number): number {
  if (code === 1005) return 1000;
  if (code === 1006 || code === 1015) return 1011;
  if (code === 1000 || (code >= 1001 && code <= 1014 && code !== 1004) || (code >= 3000 && code <= 4999)) return code;
  return 1011;
}

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, truncateReason(reason));
  } catch {
    // Already closed or closing.
  }
}

function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= MAX_REASON_BYTES) return reason;
  // Cut on a character boundary: a split UTF-8 sequence would make the close frame invalid.
  let cut = reason.slice(0, MAX_REASON_BYTES);
  while (new TextEncoder().encode(cut).length > MAX_REASON_BYTES) cut = cut.slice(0, -1);
  return cut;
}

/** Handshake and framing headers belong to each connection; the runtime sets the client's. */
const HANDSHAKE = new Set(['connection', 'upgrade', 'sec-websocket-accept', 'sec-websocket-extensions', 'content-length', 'transfer-encoding']);

function responseHeaders(upstream: Headers): Headers {
  const headers = new Headers(upstream);
  for (const name of [...headers.keys()]) if (HANDSHAKE.has(name)) headers.delete(name);
  return headers;
}
