import { GatewayError } from './errors';
import { log } from './log';

/**
 * Per-client limits on the gateway endpoints anyone can call without a session (sign-in, callback,
 * logout channels, the SSF receiver), over Cloudflare's Workers Rate Limiting binding `RATE_LIMITER`.
 * The limit and the period are set on the binding in wrangler.toml (`simple = { limit, period }`), so
 * they change without a code change; without the binding nothing is limited (the per-isolate throttles
 * in http/throttle.ts still bound what a flood costs the IdP).
 *
 * The platform's counters are per Cloudflare location and eventually consistent: a limit, not a quota.
 */
export interface RateLimiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/**
 * The platform allows periods of 10 or 60 seconds; the binding does not say which, so clients are
 * told the longer one (RFC 9110 10.2.3 Retry-After; RFC 6585 4: 429 Too Many Requests).
 */
const RETRY_AFTER_SECONDS = 60;

/** The binding, when it is one; anything else (a var of that name, nothing) means no limit. */
export function rateLimiterOf(env: Record<string, unknown>): RateLimiter | undefined {
  const binding = env['RATE_LIMITER'];
  return typeof binding === 'object' && binding !== null && typeof (binding as RateLimiter).limit === 'function' ? (binding as RateLimiter) : undefined;
}

/**
 * One request's worth of `scope` for this client, or a `rate_limited` GatewayError (429). The client
 * is CF-Connecting-IP, the one address header Cloudflare sets; X-Forwarded-For & co. are the client's
 * own words and would let it pick a fresh key per request. A request without it shares one key.
 */
export async function takeRate(limiter: RateLimiter | undefined, scope: string, request: Request): Promise<void> {
  if (!limiter) return;
  const client = request.headers.get('cf-connecting-ip') ?? 'unknown';
  const { success } = await limiter.limit({ key: `${scope}:${client}` });
  if (success) return;
  // No address in the log line: the scope and the request id (request_refused) are enough to count floods.
  log('warn', 'rate_limited', { scope });
  throw new GatewayError('rate_limited', 'Too many requests from your network. Please wait a minute and try again.', {
    headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    detail: `${scope} rate limit`,
  });
}
