import { DurableObject } from 'cloudflare:workers';
import { log } from '../http/log';
import type { CheckAnswer, CompleteAnswer, CompleteAsk, FailAsk, IdpFailure, RefreshAnswer, RefreshAsk, RevokeAsk } from './protocol';

/**
 * One object per session (named after a hash of its id): the strongly consistent place that KV is not.
 * It serializes refreshes (first caller gets a lease and redeems the refresh token; concurrent callers
 * wait for its result; late callers holding the old token get the result instead of redeeming it
 * again) and remembers revocation. It never calls the IdP or KV and holds no key: callers do the work
 * and report back, so it needs no bindings or secrets and its state is a few hashes and one sealed blob.
 *
 * Stored (one record, SQLite-backed storage): hashes of the current and recently redeemed refresh
 * tokens, the sealed latest session for ROTATION_GRACE seconds, a lease while a refresh runs, a revoked
 * mark. An alarm drops the sealed session after the grace window and everything at the session's end.
 */

/**
 * Seconds the refreshed session stays available to callers that still present the old refresh token.
 * They hold a copy older than the rotation: from KV at another location (writes take ~60 s to reach
 * every location) or from an isolate cache (SESSION_CACHE_TTL ≤ 60 s). Later, KV has the new session.
 */
export const ROTATION_GRACE = 90;
/** Redeemed token hashes kept: far more rotations than can happen within KV's ~60 s propagation. */
const CONSUMED_KEPT = 32;
const KEY = 's';

interface State {
  v: 1;
  /** Caller epoch seconds; at this time the session is over everywhere and the object forgets it. */
  expiresAt: number;
  revoked?: { at: number; reason: string };
  /** Hash of the refresh token the session holds, as far as this object knows. */
  current?: string;
  /** Hashes of refresh tokens already redeemed, oldest first: never granted a lease again. */
  consumed: string[];
  /** The session after the last refresh (sealed; unreadable here), for late callers, until `until`. */
  latest?: { from: string; sealed: string; until: number };
  /** A refresh in progress; persisted so a restarted object still waits for its holder. */
  lease?: { id: string; rt: string; ms: number };
}

interface Waiting {
  id: string;
  settled: Promise<void>;
  settle(): void;
  timer: ReturnType<typeof setTimeout>;
}

/** It uses no bindings: callers bring everything it needs. */
type NoBindings = Record<string, unknown>;

export class SessionCoordinator extends DurableObject<NoBindings> {
  private state: State | undefined;
  private waiting: Waiting | undefined;
  /** In memory only: a transient IdP failure, reported to callers for `retryAfter` seconds. */
  private failure: { rt: string; until: number; error: IdpFailure } | undefined;

  constructor(ctx: DurableObjectState, env: NoBindings) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      this.state = await ctx.storage.get<State>(KEY);
      // A lease from before a restart: its holder may still complete it, so wait for it again.
      if (this.state?.lease) this.watch(this.state.lease);
    });
  }

  /** The steady-state call: in memory, no storage read. */
  check(): CheckAnswer {
    return { revoked: this.state?.revoked !== undefined };
  }

  async refresh(ask: RefreshAsk): Promise<RefreshAnswer> {
    for (;;) {
      const s = this.state;
      if (s?.revoked) return { kind: 'revoked' };
      const redeemed = s?.consumed.includes(ask.rt) ?? false;
      if (s?.latest && ask.now < s.latest.until && (redeemed || s.latest.from === ask.rt)) {
        return { kind: 'rotated', sealed: s.latest.sealed };
      }
      if (redeemed) return { kind: 'stale' };
      if (this.waiting) {
        // Someone is at the IdP with this session: wait for the outcome, then look again.
        await this.waiting.settled;
        continue;
      }
      if (this.failure && this.failure.rt === ask.rt && ask.now < this.failure.until) {
        return { kind: 'unavailable', error: this.failure.error };
      }
      const lease = { id: crypto.randomUUID(), rt: ask.rt, ms: ask.leaseMs };
      // Before any await: callers resuming from the same wait must already see this lease.
      this.watch(lease);
      await this.save({ ...(s ?? { v: 1, consumed: [] }), expiresAt: Math.max(s?.expiresAt ?? 0, ask.expiresAt), lease });
      return { kind: 'lease', lease: lease.id };
    }
  }

  async complete(ask: CompleteAsk): Promise<CompleteAnswer> {
    const s = this.state;
    if (s?.revoked) return { kind: 'revoked' };
    if (s?.lease && s.lease.id !== ask.lease) return { kind: 'superseded' };
    const consumed = (s?.consumed ?? []).filter((hash) => hash !== ask.rt && hash !== ask.next);
    if (ask.next !== ask.rt) consumed.push(ask.rt);
    this.failure = undefined;
    await this.save({
      v: 1,
      expiresAt: Math.max(s?.expiresAt ?? 0, ask.expiresAt),
      current: ask.next,
      consumed: consumed.slice(-CONSUMED_KEPT),
      latest: { from: ask.rt, sealed: ask.sealed, until: ask.now + ROTATION_GRACE },
    });
    this.release(ask.lease);
    return { kind: 'ok' };
  }

  async fail(ask: FailAsk): Promise<void> {
    const s = this.state;
    if (!s?.lease || s.lease.id !== ask.lease) return;
    this.failure = { rt: s.lease.rt, until: ask.now + ask.retryAfter, error: ask.error };
    const { lease: _done, ...rest } = s;
    await this.save(rest);
    this.release(ask.lease);
  }

  async revoke(ask: RevokeAsk): Promise<void> {
    const s = this.state;
    if (s?.revoked) return;
    // Everything else goes: a revoked session needs no tokens, and its lease holder's result is refused.
    await this.save({ v: 1, expiresAt: Math.max(s?.expiresAt ?? 0, ask.expiresAt), revoked: { at: ask.now, reason: ask.reason }, consumed: [] });
    if (this.waiting) this.release(this.waiting.id);
  }

  override async alarm(): Promise<void> {
    const s = this.state;
    if (!s) return;
    const now = Date.now() / 1000;
    if (now >= s.expiresAt) {
      this.state = undefined;
      await this.ctx.storage.deleteAll();
      return;
    }
    if (s.latest && now >= s.latest.until) {
      const { latest: _gone, ...rest } = s;
      await this.save(rest);
    } else {
      await this.schedule(s);
    }
  }

  private async save(state: State): Promise<void> {
    this.state = state;
    await this.ctx.storage.put(KEY, state);
    await this.schedule(state);
  }

  /** The next time something must go: the sealed session after the grace window, all at the end. */
  private async schedule(state: State): Promise<void> {
    const at = Math.min(state.expiresAt, state.latest?.until ?? Infinity) * 1000;
    if ((await this.ctx.storage.getAlarm()) !== at) await this.ctx.storage.setAlarm(at);
  }

  /**
   * Waiters are released when the holder reports, or when its lease runs out (real time, not the
   * callers' clocks): the holder may have died, and the session must not wait forever.
   */
  private watch(lease: { id: string; ms: number }): void {
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const timer = setTimeout(() => void this.expire(lease.id), lease.ms);
    this.waiting = { id: lease.id, settled, settle, timer };
  }

  private async expire(id: string): Promise<void> {
    const s = this.state;
    if (s?.lease?.id === id) {
      // Whether the holder redeemed the token is unknown; the next caller will try. A reuse-detecting
      // IdP may then revoke the grant: the price of a holder that vanished mid-refresh.
      log('warn', 'coordinator_lease_expired', { after_ms: s.lease.ms });
      const { lease: _expired, ...rest } = s;
      await this.save(rest);
    }
    this.release(id);
  }

  private release(id: string): void {
    const waiting = this.waiting;
    if (!waiting || waiting.id !== id) return;
    this.waiting = undefined;
    clearTimeout(waiting.timer);
    waiting.settle();
  }
}
