/**
 * The Worker's bindings as the gateway sees them. Settings are validated by `config/`, so everything
 * but the bindings is `unknown` here: nothing reads a raw setting without going through the schema.
 */
export interface Env {
  SESSIONS: KVNamespace;
  /** Optional Workers Rate Limiting binding (http/rate-limit.ts reads it defensively). */
  RATE_LIMITER?: unknown;
  /** Optional Workers Analytics Engine dataset: one data point per request (http/metrics.ts). */
  METRICS?: unknown;
  [key: string]: unknown;
}
