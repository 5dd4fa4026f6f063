import { GatewayError } from './errors';
import { log } from './log';

/**
 * One Workers Analytics Engine data point per request, over the optional `METRICS` binding
 * (docs/operations.md "Metrics"): what was decided, by which rule, for which IdP, how the session's refresh went
 * and how long it all took. Without the binding nothing here runs.
 *
 * Never a user identifier: no sub, email, IP address, session id, token, and no path — a path can
 * name a person (`/users/alice/…`, a document id), so the decision is located by its rule index,
 * which the operator wrote. Every blob is from a closed set or the operator's own configuration.
 */

/** The subset of the platform's AnalyticsEngineDataset the gateway uses. */
export interface MetricsDataset {
  writeDataPoint(point: { blobs?: string[]; doubles?: number[]; indexes?: string[] }): void;
}

export type RefreshOutcome = 'refreshed' | 'shared' | 'unavailable' | 'ended';

/**
 * The facts of one request, filled in where they are known (routes/gate.ts, lifecycle/fresh.ts) and
 * written once after the response (app.ts). Plain fields: assigning them costs nothing measurable.
 */
export interface RequestFacts {
  /** The gate's decision when it answered without an error; refusals are read off the error. */
  outcome?: 'forward' | 'sign-in';
  /** ROUTES index of the rule that decided; -1: no rule matched (a session is required). */
  rule?: number;
  /** The IdP of the session or access token that was looked at (`default` for a single IdP). */
  idp?: string;
  via?: 'session' | 'bearer';
  /** Set only when a refresh was due; absent reads as `none`. */
  refresh?: RefreshOutcome;
  /** Milliseconds the request waited on steps that may call the IdP: a due refresh, bearer-token verification. */
  idpMs?: number;
}

/** Gateway endpoints by name; any other /_auth path is `other`, so a client cannot invent blob values. */
const ENDPOINTS: ReadonlySet<string> = new Set([
  'login',
  'callback',
  'logout',
  'signed-out',
  'userinfo',
  'session',
  'backchannel-logout',
  'frontchannel-logout',
  'jwks',
  'ssf',
]);

export interface Answered {
  pathname: string;
  status: number;
  /** What the request threw, when it was turned into the response by the error handler. */
  error: unknown;
  latencyMs: number;
}

/**
 * The data point, pure. Order is the schema (docs/operations.md "Metrics"); append, never reorder:
 * blobs  outcome, code, rule, idp, refresh, endpoint, via
 * doubles latency_ms, status, idp_ms
 * index  outcome — Analytics Engine samples per index, so rare outcomes (5xx, 403) keep their
 *        weight next to millions of forwards.
 */
export function dataPoint(facts: RequestFacts, answered: Answered): { blobs: string[]; doubles: number[]; indexes: string[] } {
  const { status, error } = answered;
  const code = error === undefined ? '' : error instanceof GatewayError ? error.code : 'internal';
  const outcome = outcomeOf(facts, status, error !== undefined);
  const endpoint = endpointOf(answered.pathname);
  return {
    blobs: [outcome, code, facts.rule === undefined ? '' : String(facts.rule), facts.idp ?? '', facts.refresh ?? 'none', endpoint, facts.via ?? ''],
    doubles: [answered.latencyMs, status, facts.idpMs ?? 0],
    indexes: [outcome],
  };
}

function outcomeOf(facts: RequestFacts, status: number, failed: boolean): string {
  if (!failed && facts.outcome) return facts.outcome;
  if (status === 401 || status === 403) return String(status);
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  return 'ok';
}

function endpointOf(pathname: string): string {
  if (pathname !== '/_auth' && !pathname.startsWith('/_auth/')) return 'gate';
  const name = pathname.split('/')[2] ?? '';
  return ENDPOINTS.has(name) ? name : 'other';
}

/** The binding, when it is one; anything else (a var of that name, nothing) means no metrics. */
export function metricsOf(env: Record<string, unknown>): MetricsDataset | undefined {
  const binding = env['METRICS'];
  return typeof binding === 'object' && binding !== null && typeof (binding as MetricsDataset).writeDataPoint === 'function' ? (binding as MetricsDataset) : undefined;
}

let complained = false;

/**
 * Fire and forget: the platform buffers the point and sends it after the response. A failing binding
 * must never fail the request it describes; it is logged once per isolate, not once per request.
 */
export function writeMetrics(dataset: MetricsDataset, facts: RequestFacts, answered: Answered): void {
  try {
    dataset.writeDataPoint(dataPoint(facts, answered));
  } catch (error) {
    if (complained) return;
    complained = true;
    log('warn', 'metrics_unwritable', { detail: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
  }
}
