// An attacker sends many random opaque bearer tokens, each new, so that every one would cost the
// gateway a call to the IdP's introspection endpoint. The gateway bounds those calls per isolate and
// refuses the excess with 503 + Retry-After instead of passing the flood on.
import { describe, expect, inject, it } from 'vitest';
import { createTestIssuer } from '../support/flows';
import { gateway } from '../support/gateway';

const testIssuer = inject('testIssuerUrl');

async function requestsTo(path: string): Promise<number> {
  const res = await fetch(`${new URL(testIssuer).origin}/control/requests?since=0`);
  const log = (await res.json()) as { path: string }[];
  return log.filter((r) => r.path === path).length;
}

describe('a flood of random opaque tokens', () => {
  it('reaches the IdP a bounded number of times; the rest get 503 with Retry-After, never 500 or 200', async () => {
    const sink = `/introspect-sink-${crypto.randomUUID()}`;
    const issuer = await createTestIssuer(testIssuer, { introspection_endpoint: `${new URL(testIssuer).origin}${sink}` });
    const gw = gateway({ OIDC_ISSUER: issuer, API_AUDIENCE: 'https://api.example', ROUTES: [{ path: '/api/**', auth: 'api' }] });
    const random = () => Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(36)).join('');
    const responses = await Promise.all(
      Array.from({ length: 60 }, () => gw.fetch('/api/x', { headers: { accept: 'application/json', authorization: `Bearer ${random()}` } })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses).not.toContain(200);
    expect(statuses).not.toContain(500);
    const busy = responses.filter((r) => r.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const r of busy) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(((await r.json()) as { error: string }).error).toBe('busy');
    }
    const calls = await requestsTo(sink);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(16);
  });
});
