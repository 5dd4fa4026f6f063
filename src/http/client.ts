/**
 * Is this request from a program (fetch/XHR/API client) rather than a page navigation?
 * Programs get 401 JSON instead of a redirect to the IdP, which they could not follow anyway
 * (cross-origin redirects of fetch() fail on CORS and would loop).
 */
export function wantsJson(request: Request): boolean {
  const headers = request.headers;
  const mode = headers.get('sec-fetch-mode');
  if (mode === 'navigate') return false;
  if (mode === 'cors' || mode === 'no-cors' || mode === 'same-origin' || mode === 'websocket') return true;
  if (headers.get('x-requested-with')?.toLowerCase() === 'xmlhttprequest') return true;
  if (headers.get('upgrade')?.toLowerCase() === 'websocket') return true;
  const accept = headers.get('accept') ?? '';
  if (accept.includes('text/html')) return false;
  return accept.includes('application/json') || accept.includes('+json');
}

/** A request id for correlating the error page a user reports with the operator's log line. */
export function requestId(request: Request): string {
  const ray = request.headers.get('cf-ray');
  if (ray && /^[0-9a-zA-Z-]{1,64}$/.test(ray)) return ray;
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
