// A stand-in "legacy site" for the demo and tests: no auth code at all, it only shows what the
// gateway told it. Everything it echoes came from a request, so everything is escaped.

import { createServer } from 'node:http';

// The headers a site behind edgegate may read (docs/upstream.md "What the upstream receives"),
// plus the proxy headers, to show where the request came from.
const SHOWN_HEADERS = [
  'X-User',
  'X-User-Email',
  'X-User-Name',
  'X-User-Groups',
  'X-User-Jwt',
  'X-Forwarded-Host',
  'X-Forwarded-Proto',
  'X-Forwarded-For',
];
const IDENTITY_HEADERS = SHOWN_HEADERS.filter((name) => name.startsWith('X-User'));

const STYLESHEET = `body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border:1px solid #ccc;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f3f3;white-space:nowrap}
td{font-family:ui-monospace,monospace;word-break:break-all}
.note{background:#fff6d6;border:1px solid #e8d48a;padding:.6rem .8rem}
form{display:inline}
button{font:inherit;padding:.3rem .9rem}
`;

/**
 * @param {{ port?: number, host?: string }} [options]  port 0 = any free port
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startDemoSite({ port = 0, host = '127.0.0.1' } = {}) {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://demo.invalid').pathname;
    const headers = collect(req.headers);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n', { allow: 'GET, HEAD' });
    } else if (path === '/') {
      // Escaping is the defence; the CSP is a second line should an echo ever slip through.
      send(res, 200, 'text/html; charset=utf-8', homePage(headers), { 'content-security-policy': "default-src 'self'" });
    } else if (path === '/assets/style.css') {
      send(res, 200, 'text/css; charset=utf-8', STYLESHEET);
    } else if (path === '/api/whoami') {
      send(res, 200, 'application/json', `${JSON.stringify(headers, null, 2)}\n`);
    } else {
      send(res, 404, 'text/plain; charset=utf-8', 'Not Found\n');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(undefined));
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('demo site has no TCP address');
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve(undefined)));
        // Keep-alive connections from the gateway would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

/**
 * The shown headers that are present, by their canonical name.
 * @param {import('node:http').IncomingHttpHeaders} incoming
 * @returns {Record<string, string>}
 */
function collect(incoming) {
  /** @type {Record<string, string>} */
  const found = {};
  for (const name of SHOWN_HEADERS) {
    const value = incoming[name.toLowerCase()];
    if (value !== undefined) found[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return found;
}

/** @param {Record<string, string>} headers */
function homePage(headers) {
  const signedIn = IDENTITY_HEADERS.some((name) => name in headers);
  const rows = SHOWN_HEADERS.filter((name) => name in headers)
    .map((name) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(headers[name] ?? '')}</td></tr>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Demo legacy site</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<h1>Demo legacy site</h1>
<p>This site has no login code. Whatever it knows about you, it read from the headers below.</p>
${signedIn ? '' : '<p class="note">No identity headers received: this request did not come through a signed-in gateway session.</p>'}
${rows ? `<table>\n${rows}\n</table>` : ''}
<p>
<a href="/_auth/userinfo">Your claims (/_auth/userinfo)</a> ·
<a href="/api/whoami">/api/whoami</a> ·
<form method="post" action="/_auth/logout"><button type="submit">Sign out</button></form>
</p>
</body>
</html>
`;
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {string} type
 * @param {string} body
 * @param {Record<string, string>} [extra]
 */
function send(res, status, type, body, extra = {}) {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    // Identity pages must not be cached for the next user of a shared cache or browser.
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** @param {string} text */
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
