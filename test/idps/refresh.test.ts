// Refresh with several IdPs: an outage at one IdP holds back refreshes at that IdP only. After a
// transient failure the isolate does not ask the same IdP again for a few seconds
// (src/lifecycle/fresh.ts OUTAGE_RETRY_AFTER); a session of another IdP whose refresh is due is
// refreshed right away (docs/protocols.md "Several identity providers").
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Gateway } from '../support/gateway';
import { CORP, PARTNER, corp, idpsGateway, partner, signInAt } from './helpers';

const SESSION = '__Host-edgegate';
/** scripts/idp.mjs: access and ID tokens live an hour. */
const TOKEN_TTL = 3600;

beforeEach(async () => {
  await corp.reset();
  await partner.reset();
});
afterEach(async () => {
  vi.useRealTimers();
  await corp.reset();
});

/** A session cookie at `idp` for alice, on `gw` (one configuration = one isolate's state). */
async function sessionAt(gw: Gateway, idp: string): Promise<string> {
  gw.jar.clear();
  await signInAt(gw, idp, 'alice');
  const cookie = gw.jar.get(SESSION);
  if (!cookie) throw new Error(`no session cookie after signing in at ${idp}`);
  return cookie;
}

async function pageWith(gw: Gateway, cookie: string): Promise<number> {
  gw.jar.clear();
  gw.jar.set(SESSION, cookie);
  const res = await gw.fetch('/page', { headers: { accept: 'application/json' }, store: false });
  await res.arrayBuffer();
  return res.status;
}

describe.each([
  ['coordinated', {}],
  ['KV-only', { COORDINATOR: undefined }],
] as const)('%s: an outage at one IdP', (_mode, mode) => {
  it('does not delay a due refresh at another IdP', async () => {
    const gw = idpsGateway([CORP, { ...PARTNER, scopes: 'openid profile email offline_access' }], mode);
    const atCorp = await sessionAt(gw, 'corp');
    const atPartner = await sessionAt(gw, 'partner');

    await corp.fault('down');
    // Both sessions' tokens are due for renewal (REFRESH_MARGIN 60 s) and not yet expired.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + (TOKEN_TTL - 30) * 1000 });

    expect(await pageWith(gw, atCorp), 'served while corp is down: the tokens are still valid').toBe(200);
    expect((await corp.stats()).refused, 'the refresh at corp was tried and failed').toBe(1);

    expect(await pageWith(gw, atPartner)).toBe(200);
    expect((await partner.stats()).token['refresh_token'], 'refreshed at partner right after corp failed').toBe(1);

    // corp itself is still given its back-off: not asked again moments later.
    expect(await pageWith(gw, atCorp)).toBe(200);
    expect((await corp.stats()).refused).toBe(1);
  });
});
