import { DurableObject } from 'cloudflare:workers';
import { loadConfig, type Config } from '../config';
import { withIdp } from '../config/idps';
import { GatewayError } from '../http/errors';
import { auditSignedOut } from '../http/audit';
import { log } from '../http/log';
import { refreshSession, type RefreshOutcome, type RefreshSteps } from '../oidc/refresh';
import { getProvider } from '../oidc/provider';
import type { Session } from '../session/model';
import { KvSessionStore } from '../session/store';
import { onTheWire, type CheckAnswer, type EndAsk, type IdpFailure, type IndexEntryAsk, type ProofAnswer, type ProofAsk, type RefreshAnswer, type RefreshAsk, type SaveAnswer, type SaveAsk } from './protocol';

/**
 * The COORDINATOR's object (protocol.ts says who talks to it and why). Session role: the one writer of
 * a session's record in coordinated mode. Index role: a small list of sessions for logout from the IdP.
 * Proof role: the DPoP proofs one client key had accepted, each once (RFC 9449 11.1).
 *
 * Every write of a session runs through `serial`, one at a time, and checks the end mark first: an
 * `end` marks the session at once (synchronously), so a touch or refresh queued after it writes
 * nothing, and one queued before it lands before the end's deletion and tombstone.
 *
 * The refresh itself is the lifecycle's one algorithm (lifecycle/refresh.ts), handed in by the wiring
 * (src/index.ts) so this folder stays below the lifecycle: the object supplies the steps over its own
 * storage, its KV binding and the caller's configuration.
 */

/** The lifecycle's one refresh algorithm, handed in by the wiring: it decides what to do with the object's steps. */
export type RefreshAlgorithm = (steps: RefreshSteps, held: Session) => Promise<RefreshOutcome>;

/** What a subscriber (an open WebSocket's watcher) hears when the session ends: RFC 6455 7.4.1 policy violation. */
export const ENDED_CLOSE_CODE = 1008;
const ENDED_REASON = 'session ended';
/** After a transient IdP failure, callers get it again for this long instead of another attempt. */
const FAILURE_RETRY_AFTER_S = 10;
const STATE = 's';
const INDEX_PREFIX = 'i:';
/** The proof role's SQLite table (the class is SQLite-backed: wrangler.toml `new_sqlite_classes`). */
const PROOFS = 'dpop_proofs';

interface State {
  v: 2;
  /** Epoch seconds: the session is over everywhere then, and the object forgets it. */
  expiresAt: number;
  revoked?: { at: number; reason: string };
  /** The record as this object last wrote it (sealed, opaque here), and when its tokens were obtained. */
  latest?: { sealed: string; tokensAt: number };
  /** A redemption in progress (real time, ms), persisted: after a restart the object waits for it to run out. */
  redeeming?: { since: number; ms: number };
}

interface IndexEntry {
  sealed: string;
  expiresAt: number;
}

export interface CoordinatorEnv {
  SESSIONS: KVNamespace;
  [key: string]: unknown;
}

export class CoordinatorObject extends DurableObject<CoordinatorEnv> {
  private state: State | undefined;
  private flight: Promise<RefreshAnswer> | undefined;
  private failure: { until: number; error: IdpFailure } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** The proof table exists (checked once per object life; session and index objects never make it). */
  private proofsReady = false;

  constructor(
    ctx: DurableObjectState,
    env: CoordinatorEnv,
    private readonly refreshAlgorithm?: RefreshAlgorithm,
  ) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.get<State | { v: 1 }>(STATE);
      // v1 (before the object redeemed): only its revoked mark matters, and that is kept.
      this.state = stored?.v === 2 ? stored : stored ? upgrade(stored as unknown as { expiresAt: number; revoked?: { at: number; reason: string } }) : undefined;
    });
  }

  // ── session role ────────────────────────────────────────────────────────────────────────────────

  /** The steady-state call (at most once a second per session and isolate): memory only. */
  check(): CheckAnswer {
    return { revoked: this.state?.revoked !== undefined };
  }

  async refresh(ask: RefreshAsk): Promise<RefreshAnswer> {
    if (this.state?.revoked) return { kind: 'ended', reason: this.state.revoked.reason };
    // Concurrent callers share the redemption in progress (one per rotation).
    if (this.flight) return this.flight;
    if (this.failure && ask.now < this.failure.until) return { kind: 'unavailable', error: this.failure.error };
    const pending = this.state?.redeeming;
    if (pending && Date.now() < pending.since + pending.ms) {
      // A redemption was under way when this object restarted: its outcome is unknown, and redeeming
      // the same token again may be the second redemption a reuse-detecting IdP punishes. Wait it out.
      return { kind: 'unavailable', error: { code: 'session_store_unavailable', message: 'Your session is being renewed. Please try again shortly.', detail: 'a redemption interrupted by a restart is still within its lease' } };
    }
    // Detached from the caller: the object finishes (and stores) even when the asking request is gone.
    const flight = this.runRefresh(ask).finally(() => {
      if (this.flight === flight) this.flight = undefined;
    });
    this.flight = flight;
    this.ctx.waitUntil(flight);
    return flight;
  }

  /** A touch: the idle timeout moves. Refused once ended, and when the caller's copy predates a refresh. */
  async save(ask: SaveAsk): Promise<SaveAnswer> {
    return this.serial(async () => {
      if (this.state?.revoked) return { kind: 'ended' as const };
      const latest = this.state?.latest;
      if (latest && latest.tokensAt > ask.tokensAt) return { kind: 'stale' as const };
      await new KvSessionStore(this.env.SESSIONS, []).writeSealed(ask.id, ask.sealed, ask.ttl);
      await this.remember({ expiresAt: ask.expiresAt, latest: { sealed: ask.sealed, tokensAt: ask.tokensAt } });
      return { kind: 'saved' as const };
    });
  }

  /** Ends the session for good: marked at once, then its record deleted and its tombstone written. */
  async end(ask: EndAsk): Promise<void> {
    const s = this.state;
    if (!s?.revoked) {
      this.state = { v: 2, expiresAt: Math.max(s?.expiresAt ?? 0, ask.until), revoked: { at: ask.now, reason: ask.reason } };
    }
    this.notifyEnded();
    await this.serial(async () => {
      await this.persist();
      await new KvSessionStore(this.env.SESSIONS, []).end(ask.id, ask.until, ask.now);
    });
  }

  /**
   * A subscription to the session's end, for an open WebSocket the gateway relays (lifecycle/watch.ts):
   * hibernatable, so it costs nothing while the session stands, and closed with 1008 the moment `end`
   * runs — or at once, when the session has already ended.
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response(null, { status: 404 });
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    if (this.state?.revoked) server.close(ENDED_CLOSE_CODE, ENDED_REASON);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(): Promise<void> {
    // Subscribers only listen.
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'bye');
    } catch {
      // Already closed.
    }
  }

  private notifyEnded(): void {
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.close(ENDED_CLOSE_CODE, ENDED_REASON);
      } catch {
        // Already closed.
      }
    }
  }

  // ── index role ──────────────────────────────────────────────────────────────────────────────────

  async indexAdd(entry: IndexEntryAsk): Promise<void> {
    await this.ctx.storage.put<IndexEntry>(INDEX_PREFIX + entry.name, { sealed: entry.sealed, expiresAt: entry.expiresAt });
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > entry.expiresAt * 1000) await this.ctx.storage.setAlarm(entry.expiresAt * 1000);
  }

  async indexList(now: number): Promise<{ name: string; sealed: string }[]> {
    const entries = await this.ctx.storage.list<IndexEntry>({ prefix: INDEX_PREFIX });
    const found: { name: string; sealed: string }[] = [];
    for (const [key, entry] of entries) if (entry.expiresAt > now) found.push({ name: key.slice(INDEX_PREFIX.length), sealed: entry.sealed });
    return found;
  }

  async indexRemove(names: string[]): Promise<void> {
    await this.ctx.storage.delete(names.map((name) => INDEX_PREFIX + name));
  }

  // ── proof role ──────────────────────────────────────────────────────────────────────────────────

  /**
   * "Record this proof until `until`; was it already there?" Atomic: SQL calls are synchronous and the
   * object runs one event at a time, so no other call comes between the lookup and the insert — the
   * first use of a proof wins, whichever location asks first.
   *
   * Storage stays bounded: rows past their `until` are deleted on every call, so the table holds the
   * proofs this key had accepted within the last PROOF_MAX_AGE + 2 × CLOCK_SKEW seconds (`until` is at
   * most that far after the proof was accepted); once the key goes quiet, the alarm deletes the rest
   * about one window after the last proof.
   */
  async recordProof(ask: ProofAsk): Promise<ProofAnswer> {
    const sql = this.proofTable(true)!;
    sql.exec(`DELETE FROM ${PROOFS} WHERE until < ?`, ask.now);
    if (sql.exec(`SELECT 1 FROM ${PROOFS} WHERE id = ?`, ask.id).toArray().length > 0) return { replayed: true };
    const wasEmpty = sql.exec(`SELECT 1 FROM ${PROOFS} LIMIT 1`).toArray().length === 0;
    sql.exec(`INSERT INTO ${PROOFS} (id, until) VALUES (?, ?)`, ask.id, ask.until);
    // An empty table has no alarm pending for it (the alarm re-arms itself while rows remain). Times
    // here are the caller's clock: the alarm is set by the entry's remaining life, in this object's.
    if (wasEmpty) await this.ctx.storage.setAlarm(Date.now() + (Math.max(0, ask.until - ask.now) + 1) * 1000);
    return { replayed: false };
  }

  /** Deletes rows past their time; the latest `until` of those left, if any. */
  private pruneProofs(now: number): number | undefined {
    const sql = this.proofTable(false);
    if (!sql) return undefined;
    sql.exec(`DELETE FROM ${PROOFS} WHERE until < ?`, now);
    const latest = sql.exec<{ latest: number | null }>(`SELECT MAX(until) AS latest FROM ${PROOFS}`).one().latest;
    return latest ?? undefined;
  }

  private proofTable(create: boolean): SqlStorage | undefined {
    const sql = this.ctx.storage.sql;
    if (!this.proofsReady) {
      if (create) {
        sql.exec(`CREATE TABLE IF NOT EXISTS ${PROOFS} (id TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID`);
        sql.exec(`CREATE INDEX IF NOT EXISTS ${PROOFS}_until ON ${PROOFS} (until)`);
      } else if (sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, PROOFS).toArray().length === 0) {
        return undefined;
      }
      this.proofsReady = true;
    }
    return sql;
  }

  // ── all roles ───────────────────────────────────────────────────────────────────────────────────

  override async alarm(): Promise<void> {
    const now = Date.now() / 1000;
    const s = this.state;
    if (s && now >= s.expiresAt) {
      this.state = undefined;
      await this.ctx.storage.delete(STATE);
    }
    const entries = await this.ctx.storage.list<IndexEntry>({ prefix: INDEX_PREFIX });
    const gone = [...entries].filter(([, e]) => e.expiresAt <= now).map(([key]) => key);
    if (gone.length > 0) await this.ctx.storage.delete(gone);
    const proofsUntil = this.pruneProofs(now);
    const next = Math.min(
      this.state?.expiresAt ?? Infinity,
      proofsUntil === undefined ? Infinity : proofsUntil + 1,
      ...[...entries].filter(([, e]) => e.expiresAt > now).map(([, e]) => e.expiresAt),
    );
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next * 1000);
  }

  private async runRefresh(ask: RefreshAsk): Promise<RefreshAnswer> {
    const algorithm = this.refreshAlgorithm;
    if (!algorithm) return { kind: 'unavailable', error: { code: 'internal', message: 'Something went wrong in the gateway. Please try again.', detail: 'coordinator built without its refresh algorithm' } };
    let config: Config;
    try {
      config = configFor(ask.settings, this.env.SESSIONS);
    } catch (error) {
      return { kind: 'unavailable', error: failure(error) };
    }
    const store = new KvSessionStore(this.env.SESSIONS, config.sessionSecrets, 0);
    await this.remember({ expiresAt: ask.session.expiresAt, redeeming: { since: Date.now(), ms: ask.leaseMs } });

    const steps: RefreshSteps = {
      now: ask.now,
      reload: async () => {
        if (this.state?.revoked) return null;
        const [mine, stored] = await Promise.all([this.state?.latest ? store.unseal(ask.handle, this.state.latest.sealed) : null, store.loadFresh(ask.handle)]);
        if (this.state?.revoked) return null;
        if (!mine) return stored;
        if (!stored) return (await store.ended(ask.handle.id)) ? null : mine;
        return (stored.tokensAt ?? stored.createdAt) > (mine.tokensAt ?? mine.createdAt) ? stored : mine;
      },
      redeem: async (session) => {
        try {
          // The session's own IdP (config/idps.ts): its token endpoint, its client, its keys.
          const idpConfig = withIdp(config, session.idp);
          if (!idpConfig) return { outcome: 'rejected', reason: 'invalid_grant', detail: `identity provider ${session.idp} is no longer configured` };
          return await refreshSession(await getProvider(idpConfig), idpConfig, session, ask.now);
        } catch (error) {
          return { outcome: 'unavailable', error: error instanceof GatewayError ? error : new GatewayError('internal', 'Something went wrong in the gateway. Please try again.', { cause: error }) };
        }
      },
      save: (session) =>
        this.serial(async () => {
          if (this.state?.revoked) return false;
          const sealed = await store.write(ask.handle, session, config.idleTtl, ask.now);
          await this.remember({ expiresAt: session.expiresAt, latest: { sealed, tokensAt: session.tokensAt ?? ask.now } });
          return true;
        }),
      end: async (reason) => {
        await this.end({ id: ask.handle.id, until: ask.session.expiresAt, now: ask.now, reason });
        await auditSignedOut(ask.handle.id, { sub: ask.session.sub, idp: ask.session.idp ?? 'default', reason });
      },
    };

    let answer: RefreshAnswer;
    try {
      const outcome = await algorithm(steps, ask.session);
      if (outcome.kind === 'unavailable') {
        this.failure = { until: ask.now + FAILURE_RETRY_AFTER_S, error: failure(outcome.error) };
        answer = { kind: 'unavailable', error: failure(outcome.error) };
      } else {
        this.failure = undefined;
        answer = outcome.kind === 'fresh' ? { ...outcome, session: onTheWire(outcome.session) } : outcome;
      }
    } catch (error) {
      // KV could not be written, for instance: nobody is ended, callers serve within grace.
      answer = { kind: 'unavailable', error: failure(error) };
    }
    if (this.state?.redeeming) {
      const { redeeming: _done, ...rest } = this.state;
      this.state = rest;
      await this.persist().catch(() => undefined);
    }
    return answer;
  }

  private async remember(change: Partial<State> & { expiresAt: number }): Promise<void> {
    const s = this.state;
    this.state = { ...(s ?? { v: 2 }), ...change, v: 2, expiresAt: Math.max(s?.expiresAt ?? 0, change.expiresAt) };
    await this.persist();
  }

  private async persist(): Promise<void> {
    const s = this.state;
    if (!s) return;
    await this.ctx.storage.put(STATE, s);
    const at = s.expiresAt * 1000;
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > at) await this.ctx.storage.setAlarm(at);
  }

  /** One write at a time, in arrival order; a failed one does not block the next. */
  private serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function upgrade(v1: { expiresAt: number; revoked?: { at: number; reason: string } }): State {
  return { v: 2, expiresAt: v1.expiresAt, ...(v1.revoked ? { revoked: v1.revoked } : {}) };
}

function failure(error: unknown): IdpFailure {
  if (error instanceof GatewayError) return { code: error.code, message: error.message, ...(error.detail === undefined ? {} : { detail: error.detail }) };
  log('error', 'coordinator_refresh_error', { detail: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
  return { code: 'internal', message: 'Something went wrong in the gateway. Please try again.' };
}

/** Parsed configurations by their settings: a few per deployment (tests build many; bounded). */
const configs = new Map<string, Config>();
const CONFIGS_KEPT = 32;

function configFor(settings: Record<string, unknown>, sessions: KVNamespace): Config {
  const key = JSON.stringify(settings);
  let config = configs.get(key);
  if (!config) {
    config = loadConfig({ ...settings, SESSIONS: sessions });
    if (configs.size >= CONFIGS_KEPT) configs.delete(configs.keys().next().value!);
    configs.set(key, config);
  }
  return config;
}
