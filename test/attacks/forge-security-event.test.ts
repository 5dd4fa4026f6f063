// An attacker who can reach /_auth/ssf forges a Security Event Token to sign a victim out (or to learn
// whether the gateway believes anything it is sent): signed with its own key under the transmitter's
// kid, unsigned (`alg: none`), HMAC-signed with the transmitter's public key as the secret (algorithm
// confusion), or a genuine SET with its subject swapped after signing. Every one is refused with 400 and
// the RFC 8935 error code, and the victim stays signed in.
import { beforeEach, describe, expect, it } from 'vitest';
import { idp, signInWithIdpJar, stillSignedIn } from '../support/lifecycle';
import { deliver, errOf, issSub, SESSION_REVOKED, setClaims, signSet, ssfGateway } from '../support/ssf';

beforeEach(() => idp.reset());

const b64u = (s: string) => btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const fromB64u = (s: string) => atob(s.replace(/-/g, '+').replace(/_/g, '/'));

async function victim() {
  const gw = ssfGateway();
  await signInWithIdpJar(gw, 'alice');
  expect(await stillSignedIn(gw)).toBe(true);
  return gw;
}

describe('forged security event tokens', () => {
  it('signed with a key the transmitter does not publish (its kid borrowed) → invalid_key', async () => {
    const gw = await victim();
    const jwt = await signSet(setClaims(SESSION_REVOKED, issSub('alice')), { sign: 'wrong-key' });
    const res = await deliver(gw, jwt);
    expect(await errOf(res)).toBe('invalid_key');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await stillSignedIn(gw)).toBe(true);
  });

  it('unsigned (alg: none) → authentication_failed', async () => {
    const gw = await victim();
    const jwt = await signSet(setClaims(SESSION_REVOKED, issSub('alice')), { sign: 'none' });
    expect(await errOf(await deliver(gw, jwt))).toBe('authentication_failed');
    expect(await stillSignedIn(gw)).toBe(true);
  });

  it('HS256 keyed with the transmitter’s public key (algorithm confusion) → invalid_key', async () => {
    const gw = await victim();
    const jwt = await signSet(setClaims(SESSION_REVOKED, issSub('alice')), { sign: 'HS256' });
    expect(await errOf(await deliver(gw, jwt))).toBe('invalid_key');
    expect(await stillSignedIn(gw)).toBe(true);
  });

  it('a genuine SET about someone else, its subject swapped after signing → invalid_key', async () => {
    const gw = await victim();
    const genuine = await signSet(setClaims(SESSION_REVOKED, issSub('mallory')));
    const [h, p, s] = genuine.split('.') as [string, string, string];
    const claims = JSON.parse(fromB64u(p)) as Record<string, unknown>;
    const forged = `${h}.${b64u(JSON.stringify({ ...claims, sub_id: issSub('alice') }))}.${s}`;
    expect(await errOf(await deliver(gw, forged))).toBe('invalid_key');
    expect(await stillSignedIn(gw)).toBe(true);
  });

  it('the same SET genuinely signed is accepted (the refusals above are about the forgery)', async () => {
    const gw = await victim();
    const res = await deliver(gw, await signSet(setClaims(SESSION_REVOKED, issSub('alice'))));
    expect(res.status).toBe(202);
    expect(await stillSignedIn(gw)).toBe(false);
  });
});
