// Session cookies and the encrypted session store: tampering, expiry, deletion, KV contents.
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { gateway } from '../support/gateway';
import { signIn } from '../support/flows';
import { API, NAVIGATE, header, upstreamSees } from './helpers';

const kv = (env as unknown as { SESSIONS: KVNamespace }).SESSIONS;

afterEach(() => {
  vi.useRealTimers();
});

async function signedIn(overrides: Record<string, unknown> = {}, user = 'alice') {
  const gw = gateway(overrides);
  await signIn(gw, { user });
  const cookie = gw.jar.get('__Host-edgegate')!;
  const [id, secret] = cookie.split('.') as [string, string];
  return { gw, cookie, id, secret };
}

function flip(text: string, at: number): string {
  const c = text[at] === 'A' ? 'B' : 'A';
  return text.slice(0, at) + c + text.slice(at + 1);
}

describe('session cookie', () => {
  it('is refused when its secret is altered (the session does not decrypt)', async () => {
    const { gw, id, secret } = await signedIn();
    const res = await gw.fetch('/', { headers: { ...API, cookie: `__Host-edgegate=${id}.${flip(secret, 5)}` }, cookies: false });
    expect(res.status).toBe(401);
  });

  it('is refused when its id is altered', async () => {
    const { gw, id, secret } = await signedIn();
    const res = await gw.fetch('/', { headers: { ...API, cookie: `__Host-edgegate=${flip(id, 3)}.${secret}` }, cookies: false });
    expect(res.status).toBe(401);
  });

  for (const garbage of ['', 'x', '.', 'a.b', 'A'.repeat(22) + '.' + 'B'.repeat(43), '%00', '"quoted"', 'x'.repeat(5000)]) {
    it(`treats the garbage cookie ${JSON.stringify(garbage.slice(0, 20))} as no session`, async () => {
      const gw = gateway();
      const res = await gw.fetch('/', { headers: { ...NAVIGATE, cookie: `__Host-edgegate=${garbage}` }, cookies: false });
      expect(res.status).toBe(302);
      expect(new URL(res.headers.get('location')!).pathname).toMatch(/auth/);
    });
  }

  it('is cleared when it points at no session, on the way to sign in', async () => {
    const { gw, id } = await signedIn();
    await kv.delete(`session:${id}`);
    const res = await gw.fetch('/', { headers: NAVIGATE });
    expect(res.status).toBe(302);
    const cleared = res.headers.getSetCookie().find((c) => c.startsWith('__Host-edgegate='));
    expect(cleared).toMatch(/Max-Age=0/);
  });

  it('a cookie copied into another browser works only because it is the bearer: the store holds no plaintext', async () => {
    const { id } = await signedIn({}, 'alice');
    const stored = await kv.get(`session:${id}`);
    expect(stored).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(stored).not.toContain('alice');
    expect(stored).not.toContain('eyJ');
  });

  it('cannot be opened with SESSION_SECRET alone (the per-session secret is needed)', async () => {
    const { gw, id } = await signedIn();
    const otherSecret = 'A'.repeat(43);
    const res = await gw.fetch('/', { headers: { ...API, cookie: `__Host-edgegate=${id}.${otherSecret}` }, cookies: false });
    expect(res.status).toBe(401);
  });
});

describe('session lifetime', () => {
  it('ends after SESSION_IDLE_TTL without activity', async () => {
    const { gw } = await signedIn({ SESSION_IDLE_TTL: '600' });
    expect(header(await upstreamSees(gw, '/'), 'x-user')).toBe('alice');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 601_000);
    const res = await gw.fetch('/', { headers: API });
    expect(res.status).toBe(401);
  });

  it('stays alive with activity inside the idle window, and the touch is written to KV', async () => {
    const { gw } = await signedIn({ SESSION_IDLE_TTL: '600', SESSION_MAX_TTL: '86400' });
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    for (let minutes = 5; minutes <= 25; minutes += 5) {
      vi.setSystemTime(start + minutes * 60_000);
      const res = await gw.fetch('/', { headers: API });
      expect(res.status, `after ${minutes} minutes`).toBe(200);
      await res.arrayBuffer();
    }
  });

  it('ends at SESSION_MAX_TTL even with activity', async () => {
    const { gw } = await signedIn({ SESSION_IDLE_TTL: '600', SESSION_MAX_TTL: '900' });
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(start + 400_000);
    expect((await gw.fetch('/', { headers: API })).status).toBe(200);
    vi.setSystemTime(start + 800_000);
    expect((await gw.fetch('/', { headers: API })).status).toBe(200);
    vi.setSystemTime(start + 901_000);
    expect((await gw.fetch('/', { headers: API })).status).toBe(401);
  });

  it('stores sessions with a KV expiration', async () => {
    const { id } = await signedIn({ SESSION_IDLE_TTL: '3600' });
    const { keys } = await kv.list({ prefix: `session:${id}` });
    expect(keys).toHaveLength(1);
    const expiration = keys[0]!.expiration!;
    const now = Date.now() / 1000;
    expect(expiration).toBeGreaterThan(now + 3500);
    expect(expiration).toBeLessThan(now + 3700);
  });
});

describe('SESSION_SECRET rotation', () => {
  it('keeps sessions made under the old secret readable when it is listed second', async () => {
    const oldSecret = 'old-secret-0123456789-abcdefghijklmnopqrstuv';
    const newSecret = 'new-secret-9876543210-ZYXWVUTSRQPONMLKJIHGFE';
    const { gw: before, cookie } = await signedIn({ SESSION_SECRET: oldSecret }, 'bob');
    const after = gateway({ SESSION_SECRET: `${newSecret},${oldSecret}` }, before.jar);
    expect(header(await upstreamSees(after, '/'), 'x-user')).toBe('bob');
    // Without the old secret, the session is gone.
    const dropped = gateway({ SESSION_SECRET: newSecret });
    const res = await dropped.fetch('/', { headers: { ...API, cookie: `__Host-edgegate=${cookie}` }, cookies: false });
    expect(res.status).toBe(401);
  });
});
