// An attacker who captured a genuine Security Event Token (a log, a proxy, a misrouted delivery) posts it
// again later to sign the victim out once more — after the victim signed in again. A SET's `jti` is acted
// on once: the replay is acknowledged (RFC 8417 2.2, so a transmitter's retry never errors) and ends
// nothing.
import { beforeEach, expect, it } from 'vitest';
import { idp, signInWithIdpJar, stillSignedIn } from '../support/lifecycle';
import { deliver, issSub, SESSION_REVOKED, setClaims, signSet, ssfGateway } from '../support/ssf';

beforeEach(() => idp.reset());

it('a replayed SET is acknowledged and ends no session begun after the first delivery', async () => {
  const gw = ssfGateway();
  await signInWithIdpJar(gw, 'alice');
  const captured = await signSet(setClaims(SESSION_REVOKED, issSub('alice')));

  expect((await deliver(gw, captured)).status).toBe(202);
  expect(await stillSignedIn(gw)).toBe(false);

  await signInWithIdpJar(gw, 'alice');
  expect(await stillSignedIn(gw)).toBe(true);
  const again = await deliver(gw, captured);
  expect(again.status).toBe(202);
  expect(await again.text()).toBe('');
  expect(await stillSignedIn(gw)).toBe(true);

  // Through another isolate's configuration too (same KV): the jti is remembered in KV, not only here.
  expect((await deliver(ssfGateway(), captured)).status).toBe(202);
  expect(await stillSignedIn(gw)).toBe(true);
});
