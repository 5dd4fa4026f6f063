// cors_origins: the gateway's own 401/403 answers on such a rule carry CORS headers for the listed
// origins only (exact origin, credentials, Vary: Origin, never `*`), so a cross-origin fetch() can
// read login_url; other origins get nothing to read.
import { describe, expect, it } from 'vitest';
import { withRoutes, signedInAs } from '../routes/helpers';

const APP = 'https://app.example.com';
const ROUTES = [
  { path: '/spa-api/**', auth: 'session', cors_origins: [APP, 'http://localhost:5173'] },
  { path: '/admin/**', auth: 'session', cors_origins: [APP], allow: { groups: ['admins'] } },
  { path: '/plain/**', auth: 'session' },
];
const crossOrigin = (origin: string) => ({ accept: '*/*', origin, 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'cross-site' });

describe('cors_origins on gateway refusals', () => {
  it('a listed origin can read the 401 and its login_url', async () => {
    const res = await withRoutes(ROUTES).fetch('/spa-api/me', { headers: crossOrigin(APP) });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/WWW-Authenticate/i);
    expect(res.headers.get('vary')).toMatch(/Origin/);
    const body = (await res.json()) as Record<string, string>;
    expect(body['login_url']).toBe('/_auth/login?rd=%2Fspa-api%2Fme');
  });

  it('another origin, or none, gets no CORS header (only Vary: Origin)', async () => {
    for (const headers of [crossOrigin('https://evil.example'), crossOrigin('https://app.example.com.evil.example'), crossOrigin('null'), { accept: 'application/json' }]) {
      const res = await withRoutes(ROUTES).fetch('/spa-api/me', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      expect(res.headers.get('vary')).toMatch(/Origin/);
    }
  });

  it('a rule without cors_origins answers no CORS header even to a listed origin of another rule', async () => {
    const res = await withRoutes(ROUTES).fetch('/plain/me', { headers: crossOrigin(APP) });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('the 403 of a failed allow carries them too', async () => {
    const gw = await signedInAs('bob', ROUTES);
    const res = await gw.fetch('/admin/x', { headers: crossOrigin(APP) });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('a forwarded request is the upstream’s business: the gateway adds no CORS header', async () => {
    const gw = await signedInAs('alice', ROUTES);
    const res = await gw.fetch('/spa-api/me', { headers: crossOrigin(APP) });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('origins that could never match, or `*`, are configuration errors', async () => {
    for (const origin of ['*', 'null', 'https://app.example.com/', 'HTTPS://APP.example.com', 'https://app.example.com:443', 'app.example.com', 'ftp://x.example']) {
      const res = await withRoutes([{ path: '/x/**', auth: 'session', cors_origins: [origin] }]).fetch('/x/y', { headers: { accept: 'application/json' } });
      expect(res.status, origin).toBe(500);
      expect(await res.text(), origin).toContain('ROUTES[0].cors_origins');
    }
    const pub = await withRoutes([{ path: '/x/**', auth: 'public', cors_origins: [APP] }]).fetch('/x/y', { headers: { accept: 'application/json' } });
    expect(await pub.text()).toContain('ROUTES[0].cors_origins');
  });
});
