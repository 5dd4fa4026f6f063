// The stub upstream for the end-to-end runs: a tiny node:http server in its own process (so the load
// generator and the IdP in the bench's main process do not share its event loop). Every path answers
// the page of fixtures/upstream-response.json, plus `x-bench-user` echoing the X-User it received, so
// the load test can check each response belongs to the session that asked.
//
//   GET /__bench/stats   → { requests, withUser, byUser? }   POST /__bench/reset → zeroes them
//
// Started with child_process.fork(); sends { port } once listening; exits when the parent goes.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/upstream-response.json', import.meta.url), 'utf8'));
const body = Buffer.from(`<!DOCTYPE html><html><head><title>bench</title></head><body>${'x'.repeat(fixture.bodyBytes - 80)}</body></html>`);

let stats = { requests: 0, withUser: 0 };

const server = createServer((req, res) => {
  if (req.url?.startsWith('/__bench/')) {
    if (req.url === '/__bench/reset') stats = { requests: 0, withUser: 0 };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  stats.requests++;
  const user = req.headers['x-user'];
  if (user) stats.withUser++;
  res.writeHead(fixture.status, [
    ...fixture.headers.flat(),
    'content-length', String(body.length),
    'x-bench-user', typeof user === 'string' ? user : '',
  ]);
  res.end(req.method === 'HEAD' ? undefined : body);
});
server.keepAliveTimeout = 60_000;

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('disconnect', () => process.exit(0));
