// Background requests (fetch, XHR, Sec-Fetch-Mode: cors) never receive a redirect to the IdP or a
// sign-in transaction cookie: they could not follow the redirect (a cross-origin redirect of fetch()
// fails on CORS), and each would plant a transaction cookie. They get a 401 JSON with login_url.
import { describe, expect, it } from 'vitest';
import { withRoutes } from '../routes/helpers';

const ROUTES = [{ path: '/app/**', auth: 'session' }];
const BACKGROUND: Record<string, Record<string, string>> = {
  'fetch() (Sec-Fetch-Mode: cors)': { accept: '*/*', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
  'fetch() same-origin mode': { accept: '*/*', 'sec-fetch-mode': 'same-origin', 'sec-fetch-dest': 'empty' },
  'XMLHttpRequest (X-Requested-With)': { accept: '*/*', 'x-requested-with': 'XMLHttpRequest' },
  'XMLHttpRequest in a browser (Sec-Fetch-Mode: cors, Accept: text/html)': { accept: 'text/html, */*', 'sec-fetch-mode': 'cors' },
  'a program asking for JSON': { accept: 'application/json' },
};

describe('background requests on a session rule', () => {
  for (const [what, headers] of Object.entries(BACKGROUND)) {
    for (const method of ['GET', 'POST']) {
      it(`${what}, ${method}: 401 JSON, no redirect, no transaction cookie`, async () => {
        const res = await withRoutes(ROUTES).fetch('/app/data', { method, headers, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect(res.status).toBe(401);
        expect(res.headers.get('location')).toBeNull();
        expect(res.headers.get('set-cookie') ?? '').not.toMatch(/edgegate-tx-/);
        const body = (await res.json()) as Record<string, string>;
        expect(body['login_url']).toBe('/_auth/login?rd=%2Fapp%2Fdata');
      });
    }
  }

  it('the same path as a page navigation is redirected to sign in (with a transaction cookie)', async () => {
    const res = await withRoutes(ROUTES).fetch('/app/data', { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
    expect(res.status).toBe(302);
    expect(res.headers.get('set-cookie')).toMatch(/edgegate-tx-/);
  });
});
