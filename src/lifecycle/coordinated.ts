import { settingsOf, type Config } from '../config';
import type { RequestContext } from '../context';
import { coordinatorFor, CoordinatorUnavailable, type Coordinator } from '../coordinator/client';
import type { IdpFailure } from '../coordinator/protocol';
import { GatewayError, type ErrorCode } from '../http/errors';
import { log } from '../http/log';
import { KvIndexBackend, SessionIndex, sessionIndex, type IndexBackend } from '../session/index-store';
import type { Session } from '../session/model';
import { sessionTtl, type KvSessionStore, type SessionHandle, type SessionStore } from '../session/store';
import type { Current } from './current';
import { coordinatorFailed, forgetSession, markChecked } from './revocation';

/**
 * Coordinated mode, the Worker's side: the session's Durable Object is the one writer of its record.
 * Reads stay KV reads (and the isolate's copy); touches, refreshes and ends go through the object,
 * which refuses every write once the session ended. Its failures fall back as docs/sessions.md "If the
 * coordinator is unreachable" says: writes go to KV directly (tombstone-checked, as in KV-only mode),
 * an end is written to KV at once and retried toward the object in the background.
 */

/** Retries of an end the object did not acknowledge (ms after the first attempt). */
const END_RETRIES_MS = [500, 2000, 8000];

export class CoordinatedStore implements SessionStore {
  constructor(
    private readonly kv: KvSessionStore,
    private readonly coordinator: Coordinator,
    private readonly config: Config,
    /** The request's waitUntil: retries of an end outlive the response. */
    private readonly background: (promise: Promise<unknown>) => void,
  ) {}

  newHandle(): SessionHandle {
    return this.kv.newHandle();
  }
  load(handle: SessionHandle): Promise<Session | null> {
    return this.kv.load(handle);
  }
  loadFresh(handle: SessionHandle): Promise<Session | null> {
    return this.kv.loadFresh(handle);
  }
  /** A new session has no object yet and nothing to conflict with: KV directly, no Durable Object call. */
  create(handle: SessionHandle, session: Session, idleTtl: number, now: number): Promise<string> {
    return this.kv.create(handle, session, idleTtl, now);
  }
  unseal(handle: SessionHandle, sealed: string): Promise<Session | null> {
    return this.kv.unseal(handle, sealed);
  }
  seal(handle: SessionHandle, session: Session): Promise<string> {
    return this.kv.seal(handle, session);
  }
  adopt(handle: SessionHandle, session: Session): void {
    this.kv.adopt(handle, session);
  }
  forget(id: string): void {
    this.kv.forget(id);
  }

  async save(handle: SessionHandle, session: Session, idleTtl: number, now: number): Promise<boolean> {
    const sealed = await this.kv.seal(handle, session);
    let answer;
    try {
      answer = await this.coordinator.save({ id: handle.id, sealed, ttl: sessionTtl(session, idleTtl, now), tokensAt: session.tokensAt ?? session.createdAt, expiresAt: session.expiresAt });
    } catch (error) {
      coordinatorFailed({ config: this.config }, error);
      return this.kv.save(handle, session, idleTtl, now);
    }
    if (answer.kind === 'saved') {
      this.kv.adopt(handle, session);
      return true;
    }
    // Ended, or renewed since this copy was read: this isolate's copy is outdated either way.
    this.kv.forget(handle.id);
    return false;
  }

  async end(id: string, until: number, now: number, reason = 'ended'): Promise<void> {
    const ask = { id, until, now, reason };
    // Both: KV's tombstone from here (this location sees it at once), the object's mark for everywhere.
    const [, acknowledged] = await Promise.all([
      this.kv.end(id, until, now),
      this.coordinator.end(ask).then(
        () => true,
        (error: unknown) => {
          coordinatorFailed({ config: this.config }, error);
          return false;
        },
      ),
    ]);
    if (!acknowledged) this.background(this.retryEnd(ask));
  }

  async ended(id: string): Promise<boolean> {
    try {
      if ((await this.coordinator.check(id)).revoked) return true;
    } catch (error) {
      coordinatorFailed({ config: this.config }, error);
    }
    return this.kv.ended(id);
  }

  /** Never skipped: the object must learn of every end, or another location could still write the session. */
  private async retryEnd(ask: { id: string; until: number; now: number; reason: string }): Promise<void> {
    let waited = 0;
    for (const at of END_RETRIES_MS) {
      await new Promise((resolve) => setTimeout(resolve, at - waited));
      waited = at;
      try {
        await this.coordinator.end(ask);
        log('info', 'coordinator_end_retried', { after_ms: at });
        return;
      } catch (error) {
        coordinatorFailed({ config: this.config }, error);
      }
    }
    log('error', 'coordinator_end_failed', { detail: 'the coordinator did not acknowledge a session end; KV tombstone only (KV-only bound applies)' });
  }
}

/** The request's store: coordinated when the COORDINATOR binding is there, else KV itself. */
export function sessionStoreFor(config: Config, kv: KvSessionStore, waitUntil: (promise: Promise<unknown>) => void): SessionStore {
  const coordinator = coordinatorFor(config.coordinator);
  return coordinator ? new CoordinatedStore(kv, coordinator, config, waitUntil) : kv;
}

/**
 * The logout index in the COORDINATOR's index objects: strongly consistent, so a logout from the IdP
 * finds a session signed in a moment ago at any location. Entries that could not reach the object
 * (it was unreachable at sign-in), and those written before the coordinator was configured, are in
 * KV: lookups read both.
 */
export class CoordinatedIndexBackend implements IndexBackend {
  constructor(
    private readonly coordinator: Coordinator,
    private readonly kv: IndexBackend,
    private readonly config: Config,
  ) {}

  async put(prefix: string, name: string, sealed: string, expiresAt: number, now: number): Promise<void> {
    try {
      await this.coordinator.indexAdd(prefix, { name, sealed, expiresAt });
    } catch (error) {
      coordinatorFailed({ config: this.config }, error);
      await this.kv.put(prefix, name, sealed, expiresAt, now);
    }
  }

  async list(prefix: string, now: number): Promise<{ name: string; sealed: string }[]> {
    const [objects, kv] = await Promise.all([
      this.coordinator.indexList(prefix, now).catch((error: unknown) => {
        coordinatorFailed({ config: this.config }, error);
        return [];
      }),
      this.kv.list(prefix, now),
    ]);
    const byName = new Map<string, { name: string; sealed: string }>();
    for (const entry of [...kv, ...objects]) byName.set(entry.name, entry);
    return [...byName.values()];
  }

  async delete(prefix: string, names: string[]): Promise<void> {
    await Promise.all([this.coordinator.indexRemove(prefix, names), this.kv.delete(prefix, names)]);
  }
}

const indexes = new WeakMap<Config, SessionIndex>();

/** The logout index of this configuration: in the coordinator's objects when there is one, else KV. */
export function sessionIndexFor(config: Config): SessionIndex {
  const coordinator = coordinatorFor(config.coordinator);
  if (!coordinator) return sessionIndex(config.sessions, config.sessionSecrets).index;
  let index = indexes.get(config);
  if (!index) {
    index = new SessionIndex(new CoordinatedIndexBackend(coordinator, new KvIndexBackend(config.sessions), config), config.sessionSecrets);
    indexes.set(config, index);
  }
  return index;
}

/**
 * What a refresh came to, for fresh.ts. `idpDown` = the IdP failed (this isolate then waits before
 * trying again); false when only the coordinator did not answer in time.
 */
export type FlightResult = { kind: 'fresh'; current: Current; shared: boolean } | { kind: 'ended' } | { kind: 'unavailable'; error: GatewayError; idpDown: boolean };

/**
 * A refresh in coordinated mode: the session's object redeems (or hands over the result of the
 * redemption already made), writes KV, and answers with the session as it now stands.
 */
export async function refreshViaCoordinator(ctx: RequestContext, current: Current, coordinator: Coordinator, fallback: () => Promise<FlightResult>): Promise<FlightResult> {
  const { handle, session } = current;
  const asked = Date.now();
  let answer;
  try {
    answer = await coordinator.refresh({ handle: { id: handle.id, secret: handle.secret }, session, now: ctx.now, leaseMs: leaseMs(ctx.config), settings: settingsOf(ctx.config) });
  } catch (error) {
    coordinatorFailed(ctx, error);
    if (error instanceof CoordinatorUnavailable && error.timedOut) {
      // The object may still be at the IdP with this very token: redeeming it here could be the second
      // redemption. Serve within grace; this isolate goes KV-only for a few seconds.
      return { kind: 'unavailable', error: new GatewayError('session_store_unavailable', 'Your session is being renewed. Please try again shortly.', { detail: error.message }), idpDown: false };
    }
    // The call failed outright (the object was not reached): renew here, as in KV-only mode.
    return fallback();
  }
  switch (answer.kind) {
    case 'fresh':
      markChecked(ctx, handle.id, asked);
      ctx.store.adopt(handle, answer.session);
      return { kind: 'fresh', current: { handle, session: answer.session }, shared: answer.shared };
    case 'ended':
      forgetSession(ctx, handle.id);
      return { kind: 'ended' };
    case 'unavailable':
      markChecked(ctx, handle.id, asked);
      return { kind: 'unavailable', error: idpError(answer.error), idpDown: true };
  }
}

/**
 * The worst case a redemption may need: discovery, token, JWKS and UserInfo each up to IDP_TIMEOUT,
 * plus the KV write. Callers give up after that (plus slack); a restarted object waits that long.
 */
function leaseMs(config: Config): number {
  return 4 * config.idpTimeoutMs + 1000;
}

/** Only codes a refresh can fail with cross the object; anything else reads as a generic IdP error. */
const RELAYED: ReadonlySet<string> = new Set<ErrorCode>(['idp_error', 'idp_unreachable', 'idp_timeout', 'idp_bad_response', 'session_store_unavailable', 'internal', 'config_invalid']);

function idpError(failure: IdpFailure): GatewayError {
  const code = (RELAYED.has(failure.code) ? failure.code : 'idp_error') as ErrorCode;
  return new GatewayError(code, failure.message, failure.detail === undefined ? {} : { detail: failure.detail });
}
