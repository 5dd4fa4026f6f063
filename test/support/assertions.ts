// Shared assertions for refusals, as a browser sees them (runs inside workerd).
import { expect } from 'vitest';
import { setCookies } from './cookies';
import type { Gateway } from './gateway';

export const SESSION_COOKIE = '__Host-edgegate';

/** The refusal as a browser sees it: status + code on a page that leaks nothing, no session, still signed out. */
export async function expectRefused(gw: Gateway, res: Response, status: number, code: string, secrets: string[] = []) {
  const body = await res.text();
  expect(res.status, body.slice(0, 300)).toBe(status);
  expect(body).toContain(`Error ${code}`);
  for (const secret of secrets) expect(body).not.toContain(secret);
  expect(body).not.toMatch(/eyJ[\w-]{8,}\./); // no JWT
  expect(body).not.toMatch(/\n\s+at \S+/); // no stack trace
  for (const c of setCookies(res).filter((c) => c.name === SESSION_COOKIE)) expect(c.maxAge === 0 || c.value === '').toBe(true);
  expect(gw.jar.get(SESSION_COOKIE)).toBeUndefined();
  const next = await gw.fetch('/private', { headers: { accept: 'text/html' }, store: false });
  expect(next.status).toBe(302);
  expect(next.headers.get('location')).toMatch(new RegExp(`^${String(gw.env.OIDC_ISSUER)}/authorize\\?`));
}
