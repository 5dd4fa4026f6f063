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

  it("serves the first request from the preloaded configuration when workerd hands it another env object with the same bindings", async () => {
    // workerd's start-up `env` (cloudflare:workers) is not the object the first request gets; every later
    // request gets the first request's. Same vars and bindings, so the start-up parse serves.
    const gw = gateway({ UPSTREAM_URL: 'http://legacy.example.net' });
    const logs = captureLogs();
    try {
      preloadConfig(gw.env);
      const requestEnv = { ...gw.env };
      const config = loadConfig(requestEnv);
      expect(loadConfig(gw.env)).toBe(config);
      expect(loadConfig(requestEnv)).toBe(config);
      expect(logs.entries().filter((e) => e['event'] === 'upstream_plain_http')).toHaveLength(1);
    } finally {
      logs.restore();
    }
  });

  it('parses anew for an env whose values differ from the preloaded one in any key', async () => {
    const gw = gateway();
    preloadConfig(gw.env);
    const preloaded = loadConfig(gw.env);
    const changed = loadConfig({ ...gw.env, OIDC_SCOPES: 'openid email' });
    expect(changed).not.toBe(preloaded);
    expect(changed.scopes).not.toEqual(preloaded.scopes);
    const added = loadConfig({ ...gw.env, SESSION_IDLE_TTL: '1234' });
    expect(added).not.toBe(preloaded);
    expect(added.idleTtl).toBe(1234);
    const { OIDC_SCOPES: _dropped, ...fewer } = gw.env as Record<string, unknown>;
    expect(loadConfig(fewer)).not.toBe(preloaded);
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
