/// <reference types="vite/client" />
// Every configuration example in the docs is valid: each ```toml block of README.md and docs/**/*.md
// is parsed, and whatever settings it shows run through the worker's own config parsing
// (src/config/index.ts parseConfig) on top of a minimal valid configuration. An example a reader copies
// must never make the gateway refuse every request.
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { baseEnv } from '../support/gateway';

const files = import.meta.glob(['../../README.md', '../../docs/**/*.md'], { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

/** A private EC JWK in the shape `wrangler secret put OIDC_CLIENT_KEY` takes (an example's secret). */
const STAND_IN_KEY = JSON.stringify({
  kty: 'EC',
  crv: 'P-256',
  x: 'WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis',
  y: 'y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE',
  d: 'Hndv7ZZjs_ke8o9zXYo3iq-Yr8SewI5vrqd0pAvEPqg',
});

interface Example {
  file: string;
  line: number;
  toml: string;
}

function examples(): Example[] {
  const found: Example[] = [];
  for (const [file, text] of Object.entries(files)) {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.trim() !== '```toml') continue;
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end]!.trim() !== '```') end++;
      found.push({ file: file.replace('../../', ''), line: start, toml: lines.slice(start, end).join('\n') });
      i = end;
    }
  }
  return found;
}

/** Commented-out settings (`# KEY = …`) are suggestions; un-comment none, check what is active. */
function settingsOf(doc: Record<string, unknown>): Record<string, unknown> {
  const vars = (doc['vars'] ?? {}) as Record<string, unknown>;
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(vars)) settings[key] = value;
  return settings;
}

describe('configuration examples in the docs', () => {
  const all = examples();
  it('there are examples to check', () => {
    expect(all.length).toBeGreaterThan(5);
  });

  it.each(all.map((e) => [`${e.file}:${e.line}`, e] as const))('%s parses and configures a working gateway', (_where, example) => {
    // `<your org>`-style placeholders stand for the reader's own values.
    const doc = parseToml(example.toml.replace(/<[^<>\n]+>/g, 'example')) as Record<string, unknown>;
    const settings = settingsOf(doc);
    // Bindings and secrets an example cannot show: the test's own, so only the example's settings are judged.
    const env: Record<string, unknown> = { ...baseEnv, ...settings };
    // Secrets are put with `wrangler secret put`, never shown in a [vars] example: stand-ins.
    if (env['OIDC_CLIENT_AUTH'] === 'private_key_jwt') env['OIDC_CLIENT_KEY'] ??= STAND_IN_KEY;
    if ('IDPS' in settings) {
      for (const key of ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'API_AUDIENCE', 'OIDC_AUTH_PARAMS']) if (!(key in settings)) delete env[key];
      for (const idp of settings['IDPS'] as { name: string }[]) env[`OIDC_CLIENT_SECRET_${idp.name.toUpperCase().replace(/-/g, '_')}`] ??= 'example-client-secret-0123456789';
    }
    const result = parseConfig(env);
    expect('problems' in result ? result.problems : [], `${example.file} line ${example.line}`).toEqual([]);
  });
});
