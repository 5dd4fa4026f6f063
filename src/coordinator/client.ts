import { toBase64Url, utf8 } from '../crypto/encoding';
import type { SessionCoordinator } from './object';
import type { CheckAnswer, CompleteAnswer, CompleteAsk, FailAsk, RefreshAnswer, RefreshAsk, RevokeAsk } from './protocol';

/**
 * The Worker's side of the COORDINATOR binding: which object a session talks to, bounded waits, and a
 * call counter for tests and the benchmark. Every failure (binding throws, object unreachable or
 * overloaded, no answer in time) becomes one `CoordinatorUnavailable`; callers fall back to KV-only.
 */
export type CoordinatorOp = 'check' | 'refresh' | 'complete' | 'fail' | 'revoke';

/**
 * A revocation check is answered from the object's memory, so only the network stands between. Past
 * this, the object is treated as unreachable and the request goes on as in KV-only mode.
 */
const CHECK_TIMEOUT_MS = 1000;
/** complete / fail / revoke: one storage write in the object. */
const WRITE_TIMEOUT_MS = 5000;
/** `refresh` may wait for another caller's lease; it gives up a little after that lease would end. */
const REFRESH_SLACK_MS = 2000;

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

const calls: Record<CoordinatorOp, number> = { check: 0, refresh: 0, complete: 0, fail: 0, revoke: 0 };

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

/** The name of a session's object: a hash, so the coordinator never sees a session id. */
export function objectName(sessionId: string): Promise<string> {
  return hash('session', sessionId);
}

/** A refresh token as the coordinator knows it. */
export function tokenHash(refreshToken: string): Promise<string> {
  return hash('rt', refreshToken);
}

export class Coordinator {
  constructor(private readonly namespace: DurableObjectNamespace<SessionCoordinator>) {}

  async check(sessionId: string): Promise<CheckAnswer> {
    return this.call('check', sessionId, CHECK_TIMEOUT_MS, (o) => o.check());
  }

  async refresh(sessionId: string, ask: RefreshAsk): Promise<RefreshAnswer> {
    return this.call('refresh', sessionId, ask.leaseMs + REFRESH_SLACK_MS, (o) => o.refresh(ask));
  }

  async complete(sessionId: string, ask: CompleteAsk): Promise<CompleteAnswer> {
    return this.call('complete', sessionId, WRITE_TIMEOUT_MS, (o) => o.complete(ask));
  }

  async fail(sessionId: string, ask: FailAsk): Promise<void> {
    return this.call('fail', sessionId, WRITE_TIMEOUT_MS, (o) => o.fail(ask));
  }

  async revoke(sessionId: string, ask: RevokeAsk): Promise<void> {
    return this.call('revoke', sessionId, WRITE_TIMEOUT_MS, (o) => o.revoke(ask));
  }

  private async call<T>(op: CoordinatorOp, sessionId: string, timeoutMs: number, run: (o: DurableObjectStub<SessionCoordinator>) => Promise<unknown>): Promise<T> {
    calls[op]++;
    let timer: ReturnType<typeof setTimeout> | null = null;
    try {
      const stub = this.namespace.get(this.namespace.idFromName(await objectName(sessionId)));
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
export function coordinatorFor(namespace: DurableObjectNamespace<SessionCoordinator> | undefined): Coordinator | undefined {
  if (!namespace) return undefined;
  let coordinator = coordinators.get(namespace);
  if (!coordinator) {
    coordinator = new Coordinator(namespace);
    coordinators.set(namespace, coordinator);
  }
  return coordinator;
}
