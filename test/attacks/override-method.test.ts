// An attacker sends a POST, which a rule lets through, with a header that makes the origin treat it as
// another method: Rails (Rack::MethodOverride), Laravel, Symfony, Express's method-override and
// ASP.NET Web API honour `X-HTTP-Method-Override`, `X-HTTP-Method` (OData) or `X-Method-Override`, and
// Rails and Laravel a `_method` parameter. Where rules differ by method, the POST the gateway judged
// would be the DELETE the origin performs. A reading with the overridden method must fall under the
// same rule, or the request is refused (400); when it does, the request is forwarded unchanged.
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { echoOf, header } from './helpers';

const gw = gateway({
  ROUTES: [
    { path: '/orders/**', auth: 'public', methods: ['GET', 'POST'] },
    { path: '/orders/**', auth: 'api', methods: ['DELETE', 'PUT', 'PATCH'] },
    { path: '/notes/**', auth: 'public' },
  ],
});
const API = { accept: 'application/json' };

async function post(path: string, headers: Record<string, string>) {
  return gw.fetch(path, { method: 'POST', headers: { ...API, 'content-type': 'application/json', ...headers }, body: '{"id":1}', cookies: false });
}

describe('method overrides', () => {
  it.each([
    ['X-HTTP-Method-Override', 'DELETE'],
    ['X-HTTP-Method', 'delete'],
    ['X-Method-Override', 'PUT'],
    ['X-HTTP-Method-Override', ' DELETE '],
    ['X-HTTP-Method-Override', 'GET, DELETE'],
  ])('a POST with %s: %s, which the origin performs under another rule, is refused', async (name, value) => {
    const res = await post('/orders/1', { [name]: value });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('path_invalid');
  });

  it('spelt with "_" (CGI reads it as the same header), it never reaches the origin', async () => {
    const echo = await echoOf(await post('/orders/1', { x_http_method_override: 'DELETE', 'X_HTTP-Method': 'DELETE', X_Method_Override: 'PUT' }));
    expect(echo.method).toBe('POST');
    const names = echo.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase().replace(/_/g, '-'));
    for (const name of ['x-http-method-override', 'x-http-method', 'x-method-override']) expect(names).not.toContain(name);
  });

  it('a _method parameter likewise', async () => {
    const res = await post('/orders/1?_method=DELETE', {});
    expect(res.status).toBe(400);
    await res.body?.cancel();
  });

  it('the overridden method alone would be the api rule (the refusal is not a coincidence)', async () => {
    const res = await gw.fetch('/orders/1', { method: 'DELETE', headers: API, cookies: false });
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });

  it('an override to a method of the same rule is forwarded unchanged', async () => {
    const echo = await echoOf(await post('/orders/1', { 'X-HTTP-Method-Override': 'GET' }));
    expect(echo.method).toBe('POST');
    expect(header(echo, 'x-http-method-override')).toBe('GET');
    expect(echo.body).toBe('{"id":1}');
  });

  it('on a rule for every method, any override is forwarded unchanged', async () => {
    const echo = await echoOf(await post('/notes/1?_method=DELETE', { 'X-HTTP-Method': 'DELETE', 'X-Method-Override': 'PUT' }));
    expect(echo.method).toBe('POST');
    expect(echo.query._method).toBe('DELETE');
    expect(header(echo, 'x-http-method')).toBe('DELETE');
    expect(header(echo, 'x-method-override')).toBe('PUT');
  });

  it('a plain POST is not affected', async () => {
    const echo = await echoOf(await post('/orders/1', {}));
    expect(echo.method).toBe('POST');
  });
});
