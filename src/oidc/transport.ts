import { GatewayError } from '../http/errors';
import { joinWithin } from '../http/join';

/**
 * The one way the gateway talks to the IdP: every call has a deadline, and network failures become
 * typed errors (unreachable → 503, too slow → 504) instead of unhandled exceptions.
 */
export type Fetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

export function timedFetch(timeoutMs: number, base: Fetch = fetch): Fetch {
  return async (input, init) => {
    const signal = init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    try {
      return await base(input, { ...init, signal });
    } catch (error) {
      throw classifyNetworkError(error, endpointName(input));
    }
  };
}

function endpointName(input: RequestInfo | URL): string {
  try {
    const url = new URL(input instanceof Request ? input.url : String(input));
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'the identity provider';
  }
}

export function classifyNetworkError(error: unknown, where: string): GatewayError {
  if (error instanceof GatewayError) return error;
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError' || name === 'AbortError' || name === 'JWKSTimeout' || (error as { code?: string })?.code === 'ERR_JWKS_TIMEOUT') {
    return new GatewayError('idp_timeout', 'The identity provider did not answer in time. Please try again shortly.', {
      detail: `timeout calling ${where}`,
      cause: error,
    });
  }
  return new GatewayError('idp_unreachable', 'The identity provider cannot be reached right now. Please try again shortly.', {
    detail: `network error calling ${where}: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`,
    cause: error,
  });
}

/** Waiting for an IdP call another request started (http/join.ts): past this request's deadline, an `idp_timeout`. */
export function joinIdpCall<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return joinWithin(promise, ms, () => {
    throw new GatewayError('idp_timeout', 'The identity provider did not answer in time. Please try again shortly.', { detail: `${what} timed out` });
  });
}
