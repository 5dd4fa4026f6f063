import { toBase64Url, utf8 } from '../crypto/encoding';
import type { CoordinatorObject as SessionCoordinator } from './object';
import { onTheWire, type CheckAnswer, type EndAsk, type IndexEntryAsk, type ProofAnswer, type ProofAsk, type RefreshAnswer, type RefreshAsk, type SaveAnswer, type SaveAsk } from './protocol';

/**
 * The Worker's side of the COORDINATOR binding: which object a session talks to, bounded waits, and a
 * call counter for tests and the benchmark. Every failure (binding throws, object unreachable or
 * overloaded, no answer in time) becomes one `CoordinatorUnavailable`; callers fall back to KV-only
 * (the DPoP replay check refuses instead: routes/dpop-replay.ts).
 */
export type CoordinatorOp = 'check' | 'refresh' | 'save' | 'end' | 'index' | 'subscribe' | 'replay';

/**
 * A revocation check is answered from the object's memory, so only the network stands between. Past
 * this, the object is treated as unreachable and the request goes on as in KV-only mode.
 */
export const CHECK_TIMEOUT_MS = 1000;
/** save / end / index: a storage write in the object and a KV write. */
const WRITE_TIMEOUT_MS = 5000;
/** `refresh` redeems at the IdP (or waits for the redemption in progress); it gives up a little after its lease. */
const REFRESH_SLACK_MS = 2000;
/** A DPoP replay check: one small SQLite write in the proof object, no KV, no IdP. */
const REPLAY_TIMEOUT_MS = 2000;

export class CoordinatorUnavailable extends Error {
  constructor(
    readonly op: CoordinatorOp,
    detail: string,
    /** No answer in time, as opposed to a call that failed outright. */
    readonly timedOut = false,
  ) {
    super(`coordinator ${op}: ${detail}`);
    this.name = 'CoordinatorUnavailable';
  }
}

const calls: Record<CoordinatorOp, number> = { check: 0, refresh: 0, save: 0, end: 0, index: 0, subscribe: 0, replay: 0 };

/** Durable Object calls made by this isolate, by method (tests and `npm run bench` read these). */
export function coordinatorCalls(): Readonly<Record<CoordinatorOp, number>> {
  return { ...calls };
}

export function resetCoordinatorCalls(): void {
  for (const op of Object.keys(calls) as CoordinatorOp[]) calls[op] = 0;
}

/** Domain-separated SHA-256, base64url: what the object knows instead of session ids and tokens. */
async function hash(domain: string, value: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', utf8.encode(`edgegate/coordinator/v1/${domain}|${value}`));
  return toBase64Url(new Uint8Array(digest));
}

/** The name of a session's object: a hash, so the object's name reveals no session id. */
export async function objectName(sessionId: string): Promise<string> {
  return `session/${await hash('session', sessionId)}`;
}

export class Coordinator {
  constructor(private readonly namespace: DurableObjectNamespace<SessionCoordinator>) {}

  async check(sessionId: string): Promise<CheckAnswer> {
    return this.call('check', await objectName(sessionId), CHECK_TIMEOUT_MS, (o) => o.check());
  }

  async refresh(ask: RefreshAsk): Promise<RefreshAnswer> {
    return this.call('refresh', await objectName(ask.handle.id), ask.leaseMs + REFRESH_SLACK_MS, (o) => o.refresh({ ...ask, session: onTheWire(ask.session) }));
  }

  async save(ask: SaveAsk): Promise<SaveAnswer> {
    return this.call('save', await objectName(ask.id), WRITE_TIMEOUT_MS, (o) => o.save(ask));
  }

  async end(ask: EndAsk): Promise<void> {
    return this.call('end', await objectName(ask.id), WRITE_TIMEOUT_MS, (o) => o.end(ask));
  }

  /**
   * Subscribes to the session's end: the object closes the returned (accepted) socket when the session
   * ends. One Durable Object request per subscription; nothing while it stands (the object hibernates).
   */
  async subscribe(sessionId: string): Promise<WebSocket> {
    const response = await this.call<Response>('subscribe', await objectName(sessionId), CHECK_TIMEOUT_MS, (o) =>
      o.fetch('https://coordinator.internal/subscribe', { headers: { upgrade: 'websocket' } }),
    );
    const socket = response.webSocket;
    if (response.status !== 101 || !socket) throw new CoordinatorUnavailable('subscribe', `answered ${response.status} without a socket`);
    socket.accept();
    return socket;
  }

  /** Index objects are named by the caller (session/index-store.ts: a keyed hash of issuer, kind and value). */
  async indexAdd(object: string, entry: IndexEntryAsk): Promise<void> {
    return this.call('index', `index/${object}`, WRITE_TIMEOUT_MS, (o) => o.indexAdd(entry));
  }

  async indexList(object: string, now: number): Promise<{ name: string; sealed: string }[]> {
    return this.call('index', `index/${object}`, WRITE_TIMEOUT_MS, (o) => o.indexList(now));
  }

  async indexRemove(object: string, names: string[]): Promise<void> {
    return this.call('index', `index/${object}`, WRITE_TIMEOUT_MS, (o) => o.indexRemove(names));
  }

  /**
   * Records a DPoP proof in its key's object (named by a hash of the thumbprint) and says whether it
   * was there already (RFC 9449 11.1). One call per DPoP request that passed every other check.
   */
  async recordProof(jkt: string, ask: ProofAsk): Promise<ProofAnswer> {
    return this.call('replay', `dpop/${await hash('dpop', jkt)}`, REPLAY_TIMEOUT_MS, (o) => o.recordProof(ask));
  }

  private async call<T>(op: CoordinatorOp, name: string, timeoutMs: number, run: (o: DurableObjectStub<SessionCoordinator>) => Promise<unknown> | unknown): Promise<T> {
    calls[op]++;
    let timer: ReturnType<typeof setTimeout> | null = null;
    try {
      const stub = this.namespace.get(this.namespace.idFromName(name));
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CoordinatorUnavailable(op, `no answer within ${timeoutMs} ms`, true)), timeoutMs);
      });
      return (await Promise.race([run(stub), timeout])) as T;
    } catch (error) {
      if (error instanceof CoordinatorUnavailable) throw error;
      throw new CoordinatorUnavailable(op, error instanceof Error ? error.message.slice(0, 200) : 'unknown error');
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }
}

const coordinators = new WeakMap<object, Coordinator>();

/** One client per binding (the binding is stable for the isolate's life). */
export function coordinatorFor(namespace: DurableObjectNamespace | undefined): Coordinator | undefined {
  if (!namespace) return undefined;
  let coordinator = coordinators.get(namespace);
  if (!coordinator) {
    coordinator = new Coordinator(namespace as unknown as DurableObjectNamespace<SessionCoordinator>);
    coordinators.set(namespace, coordinator);
  }
  return coordinator;
}
