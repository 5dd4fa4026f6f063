// Attack: a DPoP proof (with its token) captured while the client uses it at one location, replayed at
// once at another location, whose KV has not seen the first location's replay record yet (KV takes
// about 60 s between locations). RFC 9449 11.1: a proof is accepted once. With the COORDINATOR the
// first use is recorded in one Durable Object per client key, so the replay is refused everywhere; in
// KV-only mode it is the documented gap (docs/apis.md "Where replay is detected").
import { describe, expect, it } from 'vitest';
import { toBase64Url, utf8 } from '../../src/crypto/encoding';
import { ORIGIN, apiGateway, boundToken, dpopHeaders } from '../api/helpers';
import { laggingKv } from '../coordinator/helpers';

const ROUTES = [{ path: '/mcp/**', auth: 'api' }];

/**
 * Another location's KV that read this proof's replay record (`dpop-jti:<hash>`, docs/apis.md) before
 * the first location wrote it: it keeps answering "not there" until it catches up, as KV's cache does.
 */
async function locationThatHasNotSeen(jkt: string, jti: string, overrides: Record<string, unknown> = {}) {
  const lagging = laggingKv();
  const hash = toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(`${jkt}\n${jti}`))));
  expect(await lagging.get(`dpop-jti:${hash}`)).toBeNull();
  return apiGateway(ROUTES, { SESSIONS: lagging, ...overrides });
}

async function replayAtAnotherLocation(overrides: Record<string, unknown>) {
  const { key, token } = await boundToken(ROUTES, overrides);
  const home = apiGateway(ROUTES, overrides);
  const jti = crypto.randomUUID();
  const away = await locationThatHasNotSeen(key.jkt, jti, overrides);
  const url = `${ORIGIN}/mcp/transfer`;
  const headers = await dpopHeaders(key, token, 'GET', url, { jti });
  const first = await home.fetch(url, { headers });
  await first.arrayBuffer();
  expect(first.status, 'the client’s own request').toBe(200);
  return away.fetch(url, { headers });
}

describe('a proof replayed at another location within the minute', () => {
  it('is refused with the coordinator: the first use is recorded where every location asks', async () => {
    const replay = await replayAtAnotherLocation({});
    expect(replay.status).toBe(401);
    expect((await replay.json()) as { error: string; message: string }).toMatchObject({ error: 'invalid_dpop_proof', message: expect.stringMatching(/already used/) });
    expect(replay.headers.get('www-authenticate')).toMatch(/^DPoP .*error="invalid_dpop_proof"/);
  });

  it('is accepted in KV-only mode, as documented (KV reaches other locations within about 60 s)', async () => {
    const replay = await replayAtAnotherLocation({ COORDINATOR: undefined });
    await replay.arrayBuffer();
    expect(replay.status).toBe(200);
  });
});
