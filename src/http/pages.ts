/**
 * Minimal self-contained HTML pages: no external assets (but an operator's logo), so they render even
 * when the upstream is down; no script, so they work without JavaScript. Every value is escaped here.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

/**
 * BRAND_* settings, validated by src/config/brand.ts: `color` is a strict `#rgb`/`#rrggbb` hex (it goes
 * into CSS), the URLs are https (loopback http in a local demo), `name` is bounded and escaped here.
 */
export interface Brand {
  name?: string;
  logoUrl?: string;
  color?: string;
  supportUrl?: string;
}

/** A way onward: a link, or a one-button POST form to a same-origin action (e.g. sign out). */
export type PageAction = { href: string; label: string } | { post: string; label: string };

export interface PageOptions {
  title: string;
  /** Paragraphs of plain text; escaped here. */
  paragraphs: string[];
  /** Markup after the paragraphs, built by the caller with escapeHtml (the chooser's list and form). */
  content?: string;
  /** Ways onward, in order; the first is the main one. */
  actions?: PageAction[];
  link?: { href: string; label: string };
  /** A one-button POST form to a same-origin action (e.g. confirm sign-out). */
  form?: { action: string; label: string };
  /** Preformatted text for the operator (local development only), shown under a heading. */
  details?: { heading: string; text: string };
  footer?: string;
  brand?: Brand;
  /**
   * Origins a form's redirects may lead to: sign-out goes on to the IdP's end-session endpoint, and
   * browsers check CSP form-action on every redirect of a form submission (CSP3 6.3.3).
   */
  formTargets?: readonly string[];
}

const DEFAULT_COLOR = '#2563eb';

export function renderPage({ title, paragraphs, content = '', actions = [], link, form, details, footer, brand = {} }: PageOptions): string {
  const all: PageAction[] = [...(link ? [link] : []), ...(form ? [{ post: form.action, label: form.label }] : []), ...actions];
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  const onward = all.length ? `<div class="on">${all.map(renderAction).join('')}</div>` : '';
  const more = details ? `<h2>${escapeHtml(details.heading)}</h2><pre>${escapeHtml(details.text)}</pre>` : '';
  const support = brand.supportUrl ? `<a href="${escapeHtml(brand.supportUrl)}">Contact support</a> · ` : '';
  const foot = footer || support ? `<footer>${support}${escapeHtml(footer ?? '')}</footer>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(brand.name ? `${title} · ${brand.name}` : title)}</title>
<style>${pageStyle(brand.color ?? DEFAULT_COLOR)}</style></head>
<body>${brandHeader(brand)}<main><h1>${escapeHtml(title)}</h1>
${body}
${content}${more}${onward}</main>
${foot}</body></html>`;
}

function renderAction(action: PageAction): string {
  if ('post' in action) {
    return `<form method="post" action="${escapeHtml(action.post)}"><button class="button" type="submit">${escapeHtml(action.label)}</button></form>`;
  }
  return `<a class="button" href="${escapeHtml(action.href)}">${escapeHtml(action.label)}</a>`;
}

function brandHeader(brand: Brand): string {
  if (!brand.name && !brand.logoUrl) return '';
  // The name says it in text; the logo beside it is decoration (WCAG H2: no repeated alt text).
  const logo = brand.logoUrl ? `<img src="${escapeHtml(brand.logoUrl)}" alt="${brand.name ? '' : 'Logo'}" height="32">` : '';
  return `<header>${logo}${brand.name ? `<span>${escapeHtml(brand.name)}</span>` : ''}</header>`;
}

/**
 * Text on the brand color is black or white, whichever contrasts more: one of them always reaches
 * 4.5:1 (WCAG 2.2 1.4.3, AA), whatever the color. Focus is a visible outline (2.4.7).
 */
function pageStyle(color: string): string {
  const ink = textOn(color);
  return `body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:0 1rem;color:#1f2937;background:#fff}
header{display:flex;align-items:center;gap:.75rem;margin:0 -1rem;padding:.75rem 1rem;background:${color};color:${ink};font-weight:600}
main{margin:10vh 0 0}h1{font-size:1.5rem}h2{font-size:1rem}a{color:#1d4ed8}pre{white-space:pre-wrap;background:#f3f4f6;padding:.5rem}
.on{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center}.on form{margin:0}
.button{border:0;font:inherit;cursor:pointer;display:inline-block;padding:.5rem 1rem;border-radius:.375rem;background:${color};color:${ink};text-decoration:none}
:focus-visible{outline:3px solid #1f2937;outline-offset:2px}ul{list-style:none;padding:0}li{margin:.5rem 0}
label{display:block;margin-top:1.5rem}input{font:inherit;padding:.4rem;margin:.25rem .5rem .25rem 0}footer{margin:2rem 0;color:#4b5563;font-size:.8rem}`;
}

/** WCAG 2.2 relative luminance of an sRGB hex color (`#rgb` or `#rrggbb`). */
export function luminance(hex: string): number {
  const digits = hex.length === 4 ? [...hex.slice(1)].map((d) => d + d).join('') : hex.slice(1);
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(digits.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Black or white: the text color with the greater contrast on `background`. */
export function textOn(background: string): '#000000' | '#ffffff' {
  return contrast(background, '#ffffff') >= contrast(background, '#000000') ? '#ffffff' : '#000000';
}

/**
 * The pages' Content-Security-Policy: nothing loads but inline style, and the logo from exactly its
 * origin. `frameAncestors` is `'none'` except on the front-channel logout page, which the IdP frames.
 */
export function pagePolicy(brand: Brand = {}, frameAncestors = "'none'", formTargets: readonly string[] = []): string {
  const img = brand.logoUrl ? `; img-src ${new URL(brand.logoUrl).origin}` : '';
  // Origins only (scheme://host[:port]): nothing that could end the directive.
  const targets = [...new Set(formTargets.filter((origin) => /^https?:\/\/[^\s;,']+$/.test(origin)))].map((origin) => ` ${origin}`).join('');
  return `default-src 'none'; style-src 'unsafe-inline'${img}; form-action 'self'${targets}; frame-ancestors ${frameAncestors}; base-uri 'none'`;
}

/** Security headers every gateway-generated page carries. */
export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': pagePolicy(),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function pageHeaders(brand: Brand = {}, formTargets: readonly string[] = []): Record<string, string> {
  return { ...PAGE_HEADERS, 'content-security-policy': pagePolicy(brand, "'none'", formTargets) };
}

export function htmlResponse(status: number, options: PageOptions, headers: Record<string, string> = {}): Response {
  return new Response(renderPage(options), { status, headers: { ...pageHeaders(options.brand, options.formTargets), ...headers } });
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    // no-referrer as on pages: a JSON answer to a URL carrying a code or state must not pass it on either.
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', ...headers },
  });
}
