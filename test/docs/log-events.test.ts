/// <reference types="vite/client" />
// Every log event the worker can write is listed in docs/operations.md "Log events", so an operator
// searching the logs finds what an event means: the event names are read from the source itself
// (`log(level, 'event', …)` in src/), so a new event without a line in the docs fails here.
import { describe, expect, it } from 'vitest';
import { proseLines } from './markdown';

const sources = import.meta.glob('../../src/**/*.ts', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
const operations = (import.meta.glob('../../docs/operations.md', { query: '?raw', import: 'default', eager: true }) as Record<string, string>)['../../docs/operations.md']!;

const events = new Set(Object.values(sources).flatMap((text) => [...text.matchAll(/\blog\(\s*[^,()]+,\s*'([a-z_]+)'/g)].map((m) => m[1]!)));

/** The "Log events" section: from its heading to the next heading of the same level. */
function logEventsSection(text: string): string {
  const lines = proseLines(text).map((l) => l.text);
  const start = lines.findIndex((l) => l === '## Log events');
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

describe('docs/operations.md "Log events"', () => {
  it('the source has events to check', () => {
    expect(events.size).toBeGreaterThan(30);
    expect([...events]).toEqual(expect.arrayContaining(['signed_in', 'signed_out', 'request_refused', 'config_invalid']));
  });

  it('names every event the worker logs', () => {
    const section = logEventsSection(operations);
    const missing = [...events].filter((event) => !section.includes('`' + event + '`'));
    expect(missing, 'events the worker logs that docs/operations.md "Log events" does not name').toEqual([]);
  });
});
