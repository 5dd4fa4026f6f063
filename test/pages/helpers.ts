// Shared by the page tests (test/pages): a site with a rule some users fail, and what a page offers.
import { gateway, type Gateway } from '../support/gateway';
import { signIn, signInWithScript } from '../support/flows';
import { testIssuer } from '../attacks/helpers';
import { expect } from 'vitest';

export { API, NAVIGATE } from '../gateway/helpers';
export { testIssuer };

/** Only admins may open /admin/**: alice is one, bob (and a scripted user without groups) is not. */
export const ROUTES = [{ path: '/admin/**', auth: 'session', allow: { groups: ['admins'] } }];

export const BRAND = {
  BRAND_NAME: 'Acme Intranet',
  BRAND_LOGO_URL: 'https://cdn.acme.example/logo.svg',
  BRAND_COLOR: '#ffd400',
  BRAND_SUPPORT_URL: 'https://help.acme.example/it',
};

/** Signed in at the local IdP as `user`, on a site with ROUTES (and `overrides`). */
export async function signedInAs(user: string, overrides: Record<string, unknown> = {}): Promise<Gateway> {
  const gw = gateway({ ROUTES, ...overrides });
  await signIn(gw, { user });
  return gw;
}

/** Signed in at the scriptable test IdP with exactly these ID-token claims. */
export async function signedInWithClaims(claims: Record<string, unknown>, overrides: Record<string, unknown> = {}): Promise<Gateway> {
  const gw = gateway({ OIDC_ISSUER: testIssuer, ROUTES, ...overrides });
  const { callbackResponse } = await signInWithScript(gw, { idToken: { claims } });
  expect(callbackResponse.status).toBe(303);
  return gw;
}

/** A page's ways onward: its links (href, label) and its POST forms (action, label), as written (unescaped). */
export function waysOnward(html: string): { links: [string, string][]; forms: [string, string][] } {
  const unescape = (s: string) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  const links = [...html.matchAll(/<a [^>]*href="([^"]*)"[^>]*>([^<]*)<\/a>/g)].map((m) => [unescape(m[1]!), unescape(m[2]!)] as [string, string]);
  const forms = [...html.matchAll(/<form method="post" action="([^"]*)"><button[^>]*>([^<]*)<\/button><\/form>/g)].map((m) => [unescape(m[1]!), unescape(m[2]!)] as [string, string]);
  return { links, forms };
}

/** WCAG 2.2 contrast ratio of two `#rgb`/`#rrggbb` colors, computed here independently of the gateway's own. */
export function contrastRatio(a: string, b: string): number {
  const lum = (hex: string) => {
    const h = hex.length === 4 ? hex.replace(/^#(.)(.)(.)$/, '#$1$1$2$2$3$3') : hex;
    const channel = (i: number) => {
      const c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  };
  const [x, y] = [lum(a), lum(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}
