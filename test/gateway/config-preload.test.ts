// The configuration is validated while the isolate starts (src/index.ts → preloadConfig): the first
// request finds it parsed. What operators see must not change: a valid configuration's warnings are
// logged with the first request, and an invalid one is left for the first request to log and show.
import { describe, expect, it } from 'vitest';
import { gateway } from '../support/gateway';
import { captureLogs } from '../support/logs';
import { loadConfig, preloadConfig } from '../../src/config';

const JSON_ACCEPT = { headers: { accept: 'application/json' } };

describe('configuration validated at start-up', () => {
  it('serves the first request from the preloaded configuration, and logs its warnings with that request, once', async () => {
    // A plain-HTTP upstream that is not loopback: a warning operators must see (upstream_plain_http).
    const gw = gateway({ UPSTREAM_URL: 'http://legacy.example.net' });
    const logs = captureLogs();
    try {
      preloadConfig(gw.env);
      expect(logs.entries().filter((e) => e['event'] === 'upstream_plain_http')).toHaveLength(0);
      // Preloaded: the first request gets the very object the start-up parsed.
      const preloaded = loadConfig(gw.env);
      expect(logs.entries().filter((e) => e['event'] === 'upstream_plain_http')).toHaveLength(1);
      expect((await gw.fetch('/_auth/userinfo', JSON_ACCEPT)).status).toBe(401);
      expect(loadConfig(gw.env)).toBe(preloaded);
      expect(logs.entries().filter((e) => e['event'] === 'upstream_plain_http')).toHaveLength(1);
    } finally {
      logs.restore();
    }
  });

  it('leaves an invalid configuration to the first request: logged then, and its page shown', async () => {
    const gw = gateway({ SESSION_SECRET: 'too-short' });
    const logs = captureLogs();
    try {
      preloadConfig(gw.env);
      expect(logs.entries().filter((e) => e['event'] === 'config_invalid')).toHaveLength(0);
      const res = await gw.fetch('/page', JSON_ACCEPT);
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: string }).error).toBe('config_invalid');
      expect(logs.entries().filter((e) => e['event'] === 'config_invalid')).toHaveLength(1);
    } finally {
      logs.restore();
    }
  });

  it('does nothing without an env, and nothing twice', async () => {
    expect(() => preloadConfig(undefined)).not.toThrow();
    const gw = gateway();
    preloadConfig(gw.env);
    const first = loadConfig(gw.env);
    preloadConfig(gw.env);
    expect(loadConfig(gw.env)).toBe(first);
  });
});
