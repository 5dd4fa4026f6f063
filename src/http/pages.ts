/** Minimal self-contained HTML pages: no external assets, so they render even when the upstream is down. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

export interface PageOptions {
  title: string;
  /** Paragraphs of plain text; escaped here. */
  paragraphs: string[];
  link?: { href: string; label: string };
  /** A one-button POST form to a same-origin action (e.g. confirm sign-out). */
  form?: { action: string; label: string };
  footer?: string;
}

export function renderPage({ title, paragraphs, link, form, footer }: PageOptions): string {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  const action = link ? `<p><a class="button" href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` : '';
  const button = form
    ? `<form method="post" action="${escapeHtml(form.action)}"><button class="button" type="submit">${escapeHtml(form.label)}</button></form>`
    : '';
  const foot = footer ? `<footer>${escapeHtml(footer)}</footer>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:12vh auto;padding:0 1rem;color:#1f2937}
h1{font-size:1.5rem}.button{border:0;font:inherit;cursor:pointer;display:inline-block;padding:.5rem 1rem;border-radius:.375rem;background:#2563eb;color:#fff;text-decoration:none}
footer{margin-top:2rem;color:#6b7280;font-size:.8rem}</style></head>
<body><main><h1>${escapeHtml(title)}</h1>
${body}
${action}
${button}
${foot}</main></body></html>`;
}

/** Security headers every gateway-generated page carries. */
export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function htmlResponse(status: number, options: PageOptions, headers: Record<string, string> = {}): Response {
  return new Response(renderPage(options), { status, headers: { ...PAGE_HEADERS, ...headers } });
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    // no-referrer as on pages: a JSON answer to a URL carrying a code or state must not pass it on either.
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', ...headers },
  });
}
