import type { Config } from '../config';
import { log } from '../http/log';
import { holdWhileRunning, joinWithin } from '../http/join';
import type { RequestContext } from '../context';
import { CHECK_TIMEOUT_MS, coordinatorFor, CoordinatorUnavailable, type Coordinator } from '../coordinator/client';

/**
 * Revocation through the coordinator, as the Worker sees it: whether a session was ended anywhere
 * (asked at most once per REVOCATION_CHECK_WINDOW_MS per session and isolate), marking it ended, and
 * falling back to KV-only when the coordinator cannot be reached.
 */

/**
 * A revocation check that passed is trusted this long in the isolate, counted from when it was asked:
 * a session revoked anywhere is refused everywhere within this bound (issue: within 1 s). 0 = ask on
 * every protected request. docs/sessions.md "Revocation: what a check costs" has the measured cost of each.
 */
const REVOCATION_CHECK_WINDOW_MS = 1000;
/** After the coordinator failed, this isolate runs KV-only for this long instead of waiting on it again. */
const COORDINATOR_RETRY_AFTER_MS = 5000;
/** Bounds the map of recent checks like the session cache (session/store.ts). */
const CHECKED_MAX_ENTRIES = 1000;

/** Per configuration, i.e. per isolate (see lifecycle/fresh.ts). */
interface IsolateState {
  /** Session id → epoch ms until which its last "not revoked" answer holds. */
  checked: Map<string, number>;
  coordinatorDownUntil: number;
  /** Session id → the check a request of this isolate is making now (entries live while it runs). */
  asking: Map<string, Promise<boolean | undefined>>;
}

const isolates = new WeakMap<Config, IsolateState>();

function isolateState(config: Config): IsolateState {
  let state = isolates.get(config);
  if (!state) {
    state = { checked: new Map(), coordinatorDownUntil: 0, asking: new Map() };
    isolates.set(config, state);
  }
  return state;
}

/** The coordinator, unless there is none (KV-only) or it failed moments ago in this isolate. */
export function activeCoordinator(ctx: RequestContext): Coordinator | undefined {
  const coordinator = coordinatorFor(ctx.config.coordinator);
  if (!coordinator || Date.now() < isolateState(ctx.config).coordinatorDownUntil) return undefined;
  return coordinator;
}

/** Logs the fallback and stops this isolate from waiting on the coordinator for a few seconds. */
export function coordinatorFailed(ctx: { config: Config }, error: unknown): void {
  isolateState(ctx.config).coordinatorDownUntil = Date.now() + COORDINATOR_RETRY_AFTER_MS;
  const op = error instanceof CoordinatorUnavailable ? error.op : 'unknown';
  log('warn', 'coordinator_unavailable', { op, detail: error instanceof Error ? error.message.slice(0, 200) : 'unknown', fallback: 'kv_only' });
}

/** Whether the coordinator knows this session was ended (anywhere). False without a coordinator. */
export async function revokedElsewhere(ctx: RequestContext, id: string): Promise<boolean> {
  const state = isolateState(ctx.config);
  const until = state.checked.get(id);
  if (until !== undefined && Date.now() < until) return false;
  // KV-only, or backing off after a failure: nobody to ask (and nothing to share on every request).
  if (!activeCoordinator(ctx)) return false;
  // A page and its assets arrive together when a check is due: the check one of them is making was
  // asked moments ago, within the same window, and answers the others too. One call to the object
  // instead of one each, which it would answer one after the other (test/coordinator/calls.test.ts).
  const running = state.asking.get(id);
  // Unreachable (undefined): the session is served on what KV says (valid, unexpired tokens), as without one.
  if (running) return (await joinWithin(running, CHECK_TIMEOUT_MS + JOIN_SLACK_MS, () => undefined)) === true;
  const asking = revokedNow(ctx, id);
  holdWhileRunning(state.asking, id, asking, asking);
  return (await asking) === true;
}

/** Another request's check is waited for no longer than the check may take, plus this; then the object counts as unreachable here, as it would for that request. */
const JOIN_SLACK_MS = 250;

/**
 * Asks the coordinator now, whatever this isolate's last answer: an open WebSocket (lifecycle/watch.ts)
 * has no next request to be refused on. Undefined without a coordinator or when it cannot answer.
 */
export async function revokedNow(ctx: RequestContext, id: string): Promise<boolean | undefined> {
  const coordinator = activeCoordinator(ctx);
  if (!coordinator) return undefined;
  const asked = Date.now();
  let revoked: boolean;
  try {
    revoked = (await coordinator.check(id)).revoked;
  } catch (error) {
    coordinatorFailed(ctx, error);
    return undefined;
  }
  if (revoked) {
    forgetSession(ctx, id);
    return true;
  }
  markChecked(ctx, id, asked);
  return false;
}

/** Records that the coordinator said "not revoked" to a question asked at `asked` (epoch ms). */
export function markChecked(ctx: RequestContext, id: string, asked: number): void {
  if (REVOCATION_CHECK_WINDOW_MS <= 0) return;
  const checked = isolateState(ctx.config).checked;
  checked.delete(id);
  if (checked.size >= CHECKED_MAX_ENTRIES) {
    const oldest = checked.keys().next().value;
    if (oldest !== undefined) checked.delete(oldest);
  }
  checked.set(id, asked + REVOCATION_CHECK_WINDOW_MS);
}

/** Drops this isolate's copies of a session that ended elsewhere. */
export function forgetSession(ctx: RequestContext, id: string): void {
  isolateState(ctx.config).checked.delete(id);
  ctx.store.forget(id);
}

/**
 * A socket the session's object closes (1008) when the session ends (coordinator/object.ts `fetch`), or
 * undefined without a coordinator or when it cannot be reached (the caller then asks on a timer).
 */
export async function subscribeToEnd(ctx: RequestContext, id: string): Promise<WebSocket | undefined> {
  const coordinator = activeCoordinator(ctx);
  if (!coordinator) return undefined;
  try {
    return await coordinator.subscribe(id);
  } catch (error) {
    coordinatorFailed(ctx, error);
    return undefined;
  }
}
