import { GatewayError } from './errors';

/**
 * A per-isolate bound on work that anyone on the internet can make the gateway do for free (a call to
 * the IdP, a walk through the session index in KV): at most `maxInFlight` at once and `perSecond`
 * started per second. Beyond that the request is refused with 503 + Retry-After (RFC 9110 15.6.4,
 * 10.2.3) rather than passed on. Per isolate only, so it bounds what one flood costs each isolate it
 * reaches, not the whole edge — enough to stop the gateway from being an amplifier.
 */
export interface ThrottleLimits {
  /** Names the work in log details, e.g. "introspection". */
  name: string;
  maxInFlight: number;
  perSecond: number;
  /** What the refused client is told. */
  message: string;
}

export interface Throttle {
  /** A slot for one piece of work, or a `busy` GatewayError; call the returned function when the work is done. */
  take(nowMs: number): () => void;
}

export function throttle(limits: ThrottleLimits): Throttle {
  let inFlight = 0;
  let windowStart = 0;
  let startedInWindow = 0;
  return {
    take(nowMs) {
      if (nowMs - windowStart >= 1000 || nowMs < windowStart) {
        windowStart = nowMs;
        startedInWindow = 0;
      }
      if (inFlight >= limits.maxInFlight || startedInWindow >= limits.perSecond) {
        throw new GatewayError('busy', limits.message, {
          headers: { 'retry-after': '1' },
          detail: `${limits.name} throttled: ${inFlight} in flight, ${startedInWindow} started this second`,
        });
      }
      inFlight++;
      startedInWindow++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        inFlight--;
      };
    },
  };
}
