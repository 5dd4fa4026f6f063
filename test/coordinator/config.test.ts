// COORDINATOR in the configuration: optional (absent = KV-only), and a binding that is not a Durable
// Object namespace is refused by name like any other setting, never silently ignored.
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { configProblems } from '../support/config-errors';
import { API } from '../support/lifecycle';
import { coordinatorNs } from './helpers';

describe('COORDINATOR setting', () => {
  it('is on in the shipped wrangler.toml (the tests’ bindings come from it)', () => {
    expect(typeof coordinatorNs.idFromName).toBe('function');
  });

  for (const [what, value] of [
    ['a string (e.g. a [vars] entry by mistake)', 'SessionCoordinator'],
    ['a KV namespace', { get: () => null, put: () => undefined }],
    ['null', null],
  ] as const) {
    it(`refuses ${what}, by name`, async () => {
      const problems = await configProblems(() => gateway({ COORDINATOR: value }).fetch('/', { headers: API }));
      expect(problems).toMatch(/COORDINATOR: must be a Durable Object namespace binding/);
    });
  }
});
