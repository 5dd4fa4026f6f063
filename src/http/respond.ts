import { GatewayError, isGatewayError } from './errors';
import { htmlResponse, jsonResponse } from './pages';
import { wantsJson, requestId } from './client';
import { log } from './log';
import type { RequestFacts } from './metrics';

/**
 * Turns anything thrown while handling a request into the response a client should see and one
 * log line for the operator. Unknown exceptions become a generic 500: their messages may contain
 * internals, so they go to the log only.
 */
export function errorResponse(request: Request, thrown: unknown, facts: RequestFacts = {}): Response {
  const error = isGatewayError(thrown)
    ? thrown
    : new GatewayError('internal', 'Something went wrong in the gateway. Please try again.', { cause: thrown });
  const asJson = error.json ?? wantsJson(request);
  const id = requestId(request);
  const url = new URL(request.url);
  log(error.status >= 500 ? 'error' : 'warn', 'request_refused', {
    code: error.code,
    status: error.status,
    request_id: id,
    method: request.method,
    host: url.host,
    path: url.pathname.slice(0, 512),
    message: error.message,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(error.subject ? { sub: error.subject } : {}),
    ...(facts.rule !== undefined ? { rule: facts.rule } : {}),
    ...(facts.idp !== undefined ? { idp: facts.idp } : {}),
    ...(facts.via !== undefined ? { via: facts.via } : {}),
    ...(facts.refresh !== undefined ? { refresh: facts.refresh } : {}),
    ...(isGatewayError(thrown) ? {} : { exception: describe(thrown) }),
  });
  if (asJson) {
    return jsonResponse(
      error.status,
      { error: error.code, message: error.message, request_id: id, ...error.extra },
      error.headers,
    );
  }
  return htmlResponse(
    error.status,
    {
      title: error.title,
      paragraphs: [error.message],
      ...(error.retryHref ? { link: { href: error.retryHref, label: 'Try again' } } : {}),
      footer: `Error ${error.code} · request ${id}`,
    },
    error.headers,
  );
}

function describe(thrown: unknown): string {
  if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`.slice(0, 500);
  return String(thrown).slice(0, 200);
}
