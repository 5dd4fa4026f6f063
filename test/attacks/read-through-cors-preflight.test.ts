// `cors_preflight = "pass"` lets a CORS preflight reach the upstream without a session. An attacker sends
// "preflights" (OPTIONS with Origin and Access-Control-Request-Method) to read what the upstream answers
// to OPTIONS — many frameworks answer it like GET, with the page, or set a session cookie. A browser
// reads only a preflight answer's status and CORS headers (Fetch, CORS-preflight fetch), so that is all
// the gateway passes back: the status, `Access-Control-*` and `Vary`; never the body or other headers.
import { describe, expect, it } from 'vitest';
import { withRoutes } from '../routes/helpers';

const ROUTES = [{ path: '/cors/**', auth: 'api', cors_preflight: 'pass' }];
const PREFLIGHT = { origin: 'https://app.example', 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'content-type' };

describe('a passed CORS preflight', () => {
  it.each([200, 204, 403])('answers the upstream’s status %i and CORS headers, without its body, cookies or other headers', async (status) => {
    const gw = withRoutes(ROUTES);
    const res = await gw.fetch(`/cors/${status}`, { method: 'OPTIONS', headers: { ...PREFLIGHT, cookie: 'app-session=victim' }, cookies: false });
    expect(res.status).toBe(status);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type, x-requested-with');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('vary')).toBe('Origin');
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(res.headers.get('x-upstream-private')).toBeNull();
    expect(res.headers.get('content-type')).toBeNull();
    expect(await res.text()).toBe('');
  });

  it('does not open the route: the same OPTIONS without Access-Control-Request-Method needs a session or token', async () => {
    const res = await withRoutes(ROUTES).fetch('/cors/200', { method: 'OPTIONS', headers: { origin: 'https://app.example' }, cookies: false });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-upstream-private')).toBeNull();
  });
});
