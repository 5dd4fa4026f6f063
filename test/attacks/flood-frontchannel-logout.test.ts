// An attacker floods /_auth/frontchannel-logout — a GET anyone can send, with our public issuer and
// made-up `sid`s — so that every request makes the gateway walk the session index in KV. The gateway
// bounds that work per isolate, as it bounds introspection: the excess gets 503 + Retry-After.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signInWithScript } from '../support/flows';
import { gateway } from '../support/gateway';
import { stillSignedIn } from '../support/lifecycle';
import { newIssuer } from './helpers';

afterEach(() => {
  vi.useRealTimers();
});

const logoutUrl = (issuer: string, sid: string) => `/_auth/frontchannel-logout?${new URLSearchParams({ iss: issuer, sid })}`;

describe('a flood of front-channel logout requests', () => {
  it('is answered 503 with Retry-After beyond the bound, never 500; a real logout works again a second later', async () => {
    const issuer = await newIssuer();
    const sid = `sid-${crypto.randomUUID()}`;
    const user = gateway({ OIDC_ISSUER: issuer });
    expect((await signInWithScript(user, { idToken: { claims: { sid } } })).callbackResponse.status).toBe(303);

    const attacker = gateway({ OIDC_ISSUER: issuer });
    const answers = await Promise.all(
      Array.from({ length: 60 }, () => attacker.fetch(logoutUrl(issuer, `sid-${crypto.randomUUID()}`), { headers: { accept: 'text/html' }, cookies: false })),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses).not.toContain(500);
    const busy = answers.filter((r) => r.status === 503);
    expect(busy.length, 'the flood is cut off').toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length, 'at most a second’s worth reaches the index').toBeLessThanOrEqual(20);
    for (const r of busy) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(await r.text()).toContain('Error busy');
    }
    await Promise.all(answers.filter((r) => r.status !== 503).map((r) => r.arrayBuffer()));
    expect(await stillSignedIn(user)).toBe(true);

    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 1_100 });
    const real = await user.fetch(logoutUrl(issuer, sid), { headers: { accept: 'text/html' }, cookies: false });
    expect(real.status).toBe(200);
    expect(await stillSignedIn(user)).toBe(false);
  });
});
