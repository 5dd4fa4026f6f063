/**
 * Structured log lines for operators: one JSON object per line, so Workers Logs / Logpush can filter
 * on fields. Callers pass only non-secret fields: never tokens, cookies, codes or client secrets.
 */
export type LogLevel = 'info' | 'warn' | 'error';

export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, event, ...fields, time: new Date().toISOString() });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}
