/// <reference types="vite/client" />
// The configuration reference cannot drift from the code: docs/configuration.md names every setting the
// worker knows (src/config/schema.ts KNOWN_KEYS: the schema's keys and the tables and bindings beside
// them), docs/routes.md every key a ROUTES rule and its conditions take (src/policy/rules.ts,
// src/policy/conditions.ts), and the reference documents no UPPER_CASE setting the worker does not know
// — a documented setting the worker would refuse as a typo is worse than none.
import { describe, expect, it } from 'vitest';
import { isIdpSecretKey } from '../../src/config/idps';
import { KNOWN_KEYS } from '../../src/config/schema';
import { CONDITION_KEYS } from '../../src/policy/conditions';
import { RULE_KEYS } from '../../src/policy/rules';
import { proseLines } from './markdown';

const files = import.meta.glob(['../../docs/configuration.md', '../../docs/routes.md', '../../src/env.ts'], { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
const reference = files['../../docs/configuration.md']!;
const routes = files['../../docs/routes.md']!;
// Bindings the worker reads without a schema entry (they never look like a typo of ours): the Env interface.
const bindings = new Set([...files['../../src/env.ts']!.matchAll(/^\s+([A-Z][A-Z0-9_]*)\??:/gm)].map((m) => m[1]!));

/** The names in the first column of the reference's tables: `NAME`, or `A` / `B` in one cell. */
function documentedNames(text: string): string[] {
  const names: string[] = [];
  for (const { text: line } of proseLines(text)) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1];
    if (first === undefined) continue;
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]*(?:<NAME>)?)`/g)) names.push(m[1]!);
  }
  return names;
}

/** `key` written as code somewhere (alone, or as `key = value`), not only inside a longer word. */
const mentions = (text: string, key: string) => new RegExp('`' + key + '(`| =)').test(text);

describe('docs/configuration.md is the configuration reference', () => {
  it('documents every setting the worker knows, each in a row of its own', () => {
    const documented = new Set(documentedNames(reference));
    const missing = [...KNOWN_KEYS].filter((key) => !documented.has(key));
    expect(missing, 'settings without a row in docs/configuration.md').toEqual([]);
    expect(KNOWN_KEYS.size).toBeGreaterThan(40);
  });

  it('documents only settings the worker knows (or its bindings)', () => {
    const names = documentedNames(reference);
    expect(names.length).toBeGreaterThan(40);
    const unknown = names.filter((name) => !KNOWN_KEYS.has(name) && !bindings.has(name) && !isIdpSecretKey(name.replace('<NAME>', 'CORP')));
    expect(unknown, 'rows in docs/configuration.md the worker does not know').toEqual([]);
  });

  it('reads its bindings from src/env.ts', () => {
    expect([...bindings]).toEqual(expect.arrayContaining(['SESSIONS', 'RATE_LIMITER', 'METRICS']));
  });

  it('docs/routes.md documents every rule key and every condition key', () => {
    const missing = [...RULE_KEYS, ...CONDITION_KEYS].filter((key) => !mentions(routes, key));
    expect(missing, 'ROUTES keys docs/routes.md never names').toEqual([]);
    expect(RULE_KEYS.length).toBeGreaterThan(15);
  });

  it('docs/routes.md lists each rule key in its table of rule keys', () => {
    const firstColumn = new Set(
      proseLines(routes).flatMap(({ text }) => [...(/^\|([^|]*)\|/.exec(text)?.[1] ?? '').matchAll(/`([a-z_]+)/g)].map((m) => m[1]!)),
    );
    expect(RULE_KEYS.filter((key) => !firstColumn.has(key))).toEqual([]);
  });
});
