// Captures what the gateway writes to the console (its structured log lines) during a test, so a test
// can assert what operators see — and what they must never see (tokens, cookies, codes, secrets).
import { vi } from 'vitest';

export interface CapturedLogs {
  /** Every line written, in order, as written. */
  lines: string[];
  /** The lines parsed as JSON (throws on a line that is not a JSON object). */
  entries(): Record<string, unknown>[];
  restore(): void;
}

/** Starts capturing console.log/info/warn/error/debug; the lines are not printed. */
export function captureLogs(): CapturedLogs {
  const lines: string[] = [];
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    }),
  );
  return {
    lines,
    entries() {
      return lines.map((line) => {
        const parsed = JSON.parse(line) as unknown;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`not a JSON object: ${line}`);
        return parsed as Record<string, unknown>;
      });
    },
    restore() {
      for (const spy of spies) spy.mockRestore();
    },
  };
}
