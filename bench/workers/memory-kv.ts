/**
 * KV in a Map for the bench: async like the real binding, but without I/O, so a timed call measures
 * CPU only. Counts every call. Covers what the gateway uses: get (text/json, one key or a bulk list), getWithMetadata,
 * put (with metadata; expirations are not enforced: bench runs are minutes long), delete, list by prefix.
 * `new MemoryKv(source)` seeds itself from `source()` (key → value) on its first call, not before: a worker
 * can build it at start-up and its first request still does the seeding (bench/workers/memory-gateway.ts).
 */
interface Entry {
  value: string;
  metadata: unknown;
}

type GetType = 'text' | 'json' | { type?: 'text' | 'json' } | undefined;

function decode(value: string, type: GetType): unknown {
  const kind = typeof type === 'string' ? type : type?.type;
  return kind === 'json' ? JSON.parse(value) : value;
}

export class MemoryKv {
  readonly data = new Map<string, Entry>();
  reads = 0;
  writes = 0;
  deletes = 0;

  constructor(private source?: () => Record<string, string>) {}

  /** Seeds from the constructor's source on first use (once). */
  private ready(): void {
    if (!this.source) return;
    const entries = this.source();
    this.source = undefined;
    for (const [key, value] of Object.entries(entries)) this.seed(key, value);
  }

  /** Preloads a value without counting it. */
  seed(key: string, value: string, metadata: unknown = null): void {
    this.data.set(key, { value, metadata });
  }

  /** One key, or a list of keys (KV's bulk read: one operation, a Map of every key to its value or null). */
  async get(key: string | string[], type?: GetType): Promise<unknown> {
    this.ready();
    this.reads++;
    const one = (k: string) => {
      const entry = this.data.get(k);
      return entry ? decode(entry.value, type) : null;
    };
    return Array.isArray(key) ? new Map(key.map((k) => [k, one(k)])) : one(key);
  }

  async getWithMetadata(key: string, type?: GetType): Promise<{ value: unknown; metadata: unknown }> {
    this.ready();
    this.reads++;
    const entry = this.data.get(key);
    return entry ? { value: decode(entry.value, type), metadata: entry.metadata } : { value: null, metadata: null };
  }

  async put(key: string, value: string, options?: { metadata?: unknown }): Promise<void> {
    this.ready();
    this.writes++;
    this.data.set(key, { value: String(value), metadata: options?.metadata ?? null });
  }

  async delete(key: string): Promise<void> {
    this.ready();
    this.deletes++;
    this.data.delete(key);
  }

  async list(options?: { prefix?: string }): Promise<{ keys: { name: string; metadata?: unknown }[]; list_complete: true; cacheStatus: null }> {
    this.ready();
    this.reads++;
    const prefix = options?.prefix ?? '';
    const keys = [...this.data]
      .filter(([name]) => name.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, entry]) => (entry.metadata === null ? { name } : { name, metadata: entry.metadata }));
    return { keys, list_complete: true, cacheStatus: null };
  }
}
