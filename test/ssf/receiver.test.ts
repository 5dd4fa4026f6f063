// The Shared Signals receiver (POST /_auth/ssf): SETs from the test transmitter (test/setup/ssf-transmitter.ts)
// about users signed in through the real lifecycle IdP. CAEP `session-revoked` and `credential-change` end
// the sessions their subject names (iss_sub, verified email, the IdP's sid, complex subjects); anything
// invalid is refused with RFC 8935's 400 and changes nothing; what is valid but not understood, or
// already seen, is acknowledged and changes nothing.
import { beforeEach, describe, expect, it } from 'vitest';
import { ORIGIN } from '../setup/constants';
import { gateway, type Gateway } from '../support/gateway';
import { idp, kv, lifecycleGateway, lifecycleIssuer, signInWithIdpJar, stillSignedIn, storedSession } from '../support/lifecycle';
import {
  CREDENTIAL_CHANGE,
  deliver,
  errOf,
  issSub,
  resetTransmitter,
  SESSION_REVOKED,
  setClaims,
  signSet,
  ssfGateway,
  transmitter,
  transmitterStats,
} from '../support/ssf';
import { configProblems } from '../support/config-errors';

beforeEach(() => idp.reset());

/** One browser signed in as `user` (its own IdP session, so its own `sid`). */
async function browser(user: string, overrides: Record<string, unknown> = {}): Promise<Gateway> {
  const gw = ssfGateway(overrides);
  await signInWithIdpJar(gw, user);
  expect(await stillSignedIn(gw)).toBe(true);
  return gw;
}

async function sidOf(gw: Gateway): Promise<string> {
  const sid = (await storedSession(gw))?.sid;
  if (!sid) throw new Error('the session has no sid');
  return sid;
}

async function accepted(gw: Gateway, claims: Record<string, unknown>): Promise<void> {
  const res = await deliver(gw, await signSet(claims));
  expect(res.status, await res.clone().text()).toBe(202);
  expect(await res.text()).toBe('');
  expect(res.headers.get('cache-control')).toBe('no-store');
}

describe('session-revoked ends the sessions its subject names', () => {
  it('by iss_sub: every session of that user, nobody else’s', async () => {
    const laptop = await browser('alice');
    const phone = await browser('alice');
    const bob = await browser('bob');
    await accepted(bob, setClaims(SESSION_REVOKED, issSub('alice')));
    expect(await stillSignedIn(laptop)).toBe(false);
    expect(await stillSignedIn(phone)).toBe(false);
    expect(await stillSignedIn(bob)).toBe(true);
  });

  it('by email: sessions whose verified email it is (any case), never an unverified one', async () => {
    const alice = await browser('alice');
    const bob = await browser('bob');
    const carol = await browser('carol'); // carol@contractor.example, email_verified: false
    await accepted(bob, setClaims(SESSION_REVOKED, { format: 'email', email: 'Alice@Example.COM' }));
    expect(await stillSignedIn(alice)).toBe(false);
    expect(await stillSignedIn(bob)).toBe(true);

    await accepted(bob, setClaims(SESSION_REVOKED, { format: 'email', email: 'carol@contractor.example' }));
    expect(await stillSignedIn(carol), 'an unverified address names nobody').toBe(true);
  });

  it('the email index shows no address to anyone reading KV (KV-only mode: the index lives there)', async () => {
    await browser('alice', { COORDINATOR: undefined });
    const { keys } = await kv.list({ prefix: 'idx:' });
    expect(keys.length).toBeGreaterThan(0);
    expect(JSON.stringify(keys).toLowerCase()).not.toContain('alice@example.com');
  });

  it('by opaque id = the IdP’s sid: only that IdP session', async () => {
    const laptop = await browser('alice');
    const phone = await browser('alice');
    await accepted(laptop, setClaims(SESSION_REVOKED, { format: 'opaque', id: await sidOf(laptop) }));
    expect(await stillSignedIn(laptop)).toBe(false);
    expect(await stillSignedIn(phone)).toBe(true);
  });

  it('complex subject: user and session together end only that user’s session; another user’s sid with it ends nothing', async () => {
    const laptop = await browser('alice');
    const phone = await browser('alice');
    const bob = await browser('bob');
    await accepted(bob, setClaims(SESSION_REVOKED, { format: 'complex', user: issSub('bob'), session: { format: 'opaque', id: await sidOf(laptop) } }));
    expect(await stillSignedIn(laptop)).toBe(true);
    expect(await stillSignedIn(bob)).toBe(true);

    await accepted(bob, setClaims(SESSION_REVOKED, {
      format: 'complex',
      user: issSub('alice'),
      session: { format: 'opaque', id: await sidOf(laptop) },
      tenant: { format: 'opaque', id: 'tenant-1' },
    }));
    expect(await stillSignedIn(laptop)).toBe(false);
    expect(await stillSignedIn(phone)).toBe(true);
    expect(await stillSignedIn(bob)).toBe(true);
  });

  it('the subject inside the event (CAEP before SSF 1.0’s sub_id) is read too', async () => {
    const alice = await browser('alice');
    await accepted(alice, setClaims(SESSION_REVOKED, undefined, { sub_id: undefined }, { subject: issSub('alice') }));
    expect(await stillSignedIn(alice)).toBe(false);
  });

  it('KV-only (no COORDINATOR) too', async () => {
    const alice = await browser('alice', { COORDINATOR: undefined });
    const bob = await browser('bob', { COORDINATOR: undefined });
    await accepted(bob, setClaims(SESSION_REVOKED, issSub('alice')));
    expect(await stillSignedIn(alice)).toBe(false);
    expect(await stillSignedIn(bob)).toBe(true);
  });

  it('a user of another issuer is not ours: acknowledged, nothing ended', async () => {
    const alice = await browser('alice');
    await accepted(alice, setClaims(SESSION_REVOKED, issSub('alice', 'https://other-idp.example')));
    expect(await stillSignedIn(alice)).toBe(true);
  });
});

describe('credential-change ends sessions the same way', () => {
  it('by iss_sub', async () => {
    const alice = await browser('alice');
    const bob = await browser('bob');
    await accepted(bob, setClaims(CREDENTIAL_CHANGE, issSub('alice'), {}, { credential_type: 'password', change_type: 'update' }));
    expect(await stillSignedIn(alice)).toBe(false);
    expect(await stillSignedIn(bob)).toBe(true);
  });

  it('by email', async () => {
    const alice = await browser('alice');
    await accepted(alice, setClaims(CREDENTIAL_CHANGE, { format: 'email', email: 'alice@example.com' }, {}, { credential_type: 'fido2-roaming', change_type: 'revoke' }));
    expect(await stillSignedIn(alice)).toBe(false);
  });
});

describe('acknowledged without effect (RFC 8417 2.2)', () => {
  it('an event type the gateway does not act on', async () => {
    const alice = await browser('alice');
    await accepted(alice, setClaims('https://schemas.openid.net/secevent/caep/event-type/token-claims-change', issSub('alice'), {}, { claims: { role: 'x' } }));
    await accepted(alice, setClaims('https://schemas.openid.net/secevent/ssf/event-type/verification', undefined, { sub_id: undefined }, { state: 'abc' }));
    expect(await stillSignedIn(alice)).toBe(true);
  });
});

describe('invalid SETs: 400 with the RFC 8935 err, and no effect', () => {
  const cases: [string, () => Promise<Response>, string][] = [
    ['wrong aud', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, issSub('alice'), { aud: 'https://another-receiver.example' }))), 'invalid_audience'],
    ['wrong iss (signed with the transmitter’s own key)', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, issSub('alice'), { iss: 'https://evil.example' }))), 'invalid_issuer'],
    ['typ JWT (an ID token is not a SET)', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, issSub('alice')), { header: { typ: 'JWT' } })), 'invalid_request'],
    ['no typ', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, issSub('alice')), { header: { typ: null } })), 'invalid_request'],
    ['no jti', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, issSub('alice'), { jti: undefined }))), 'invalid_request'],
    ['iat in the future', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, issSub('alice'), { iat: Math.floor(Date.now() / 1000) + 600 }))), 'invalid_request'],
    ['iat more than a day old', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, issSub('alice'), { iat: Math.floor(Date.now() / 1000) - 25 * 3600 }))), 'invalid_request'],
    ['a top-level sub (SSF: never in a SET)', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, issSub('alice'), { sub: 'alice' }))), 'invalid_request'],
    ['no subject at all', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, undefined, { sub_id: undefined }))), 'invalid_request'],
    ['a malformed subject', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, { format: 'iss_sub', iss: lifecycleIssuer }))), 'invalid_request'],
    ['no events', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, issSub('alice'), { events: {} }))), 'invalid_request'],
    ['RS256 (another published key): accepted, as a control', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, issSub('nobody')), { sign: 'RS256' })), 'accepted'],
    ['not a JWT', async () => deliver(gateway(), 'hello'), 'invalid_request'],
    ['content type application/jwt', async () => deliver(gateway(), await signSet(setClaims(SESSION_REVOKED, issSub('alice'))), 'application/jwt'), 'invalid_request'],
    ['a form post', async () => deliver(gateway(), `set=${await signSet(setClaims(SESSION_REVOKED, issSub('alice')))}`, 'application/x-www-form-urlencoded'), 'invalid_request'],
  ];
  let gatewayOf: () => Gateway;
  const gateway = () => gatewayOf();

  for (const [name, send, err] of cases) {
    it(name, async () => {
      const alice = await browser('alice');
      gatewayOf = () => alice;
      const res = await send();
      if (err === 'accepted') {
        expect(res.status).toBe(202);
      } else {
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(await errOf(res)).toBe(err);
      }
      expect(await stillSignedIn(alice)).toBe(true);
    });
  }

  it('a SET from another issuer makes the gateway fetch nothing', async () => {
    const alice = await browser('alice');
    await resetTransmitter();
    const res = await deliver(alice, await signSet(setClaims(SESSION_REVOKED, issSub('alice'), { iss: 'https://evil.example' })));
    expect(await errOf(res)).toBe('invalid_issuer');
    expect(await transmitterStats()).toEqual({ configuration: 0, jwks: 0 });
  });

  it('GET is not delivery: 405', async () => {
    const res = await ssfGateway().fetch('/_auth/ssf');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('configuration', () => {
  it('off unless SSF_ISSUER is set: 404 like any unknown /_auth path', async () => {
    const alice = await browser('alice', { SSF_ISSUER: undefined });
    const res = await deliver(alice, await signSet(setClaims(SESSION_REVOKED, issSub('alice'))));
    expect(res.status).toBe(404);
    await res.arrayBuffer();
    expect(await stillSignedIn(alice)).toBe(true);
  });

  it('SSF_AUDIENCE replaces the origin as the required aud', async () => {
    const alice = await browser('alice', { SSF_AUDIENCE: 'https://receiver.example/caep' });
    expect(await errOf(await deliver(alice, await signSet(setClaims(SESSION_REVOKED, issSub('alice'), { aud: ORIGIN }))))).toBe('invalid_audience');
    expect(await stillSignedIn(alice)).toBe(true);
    await accepted(alice, setClaims(SESSION_REVOKED, issSub('alice'), { aud: ['https://receiver.example/caep', 'https://other.example'] }));
    expect(await stillSignedIn(alice)).toBe(false);
  });

  it('an issuer with a path: metadata from /.well-known/ssf-configuration/<path>', async () => {
    const issuer = `${transmitter}/tenant-a`;
    const alice = await browser('alice', { SSF_ISSUER: issuer });
    await accepted(alice, setClaims(SESSION_REVOKED, issSub('alice'), { iss: issuer }));
    expect(await stillSignedIn(alice)).toBe(false);
  });

  it('metadata naming another issuer is not used (502, nothing ended); SSF_JWKS_URI does without it', async () => {
    const issuer = `${transmitter}/mismatch`;
    const alice = await browser('alice', { SSF_ISSUER: issuer });
    const res = await deliver(alice, await signSet(setClaims(SESSION_REVOKED, issSub('alice'), { iss: issuer })));
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await stillSignedIn(alice)).toBe(true);

    const pinned = ssfGateway({ SSF_ISSUER: issuer, SSF_JWKS_URI: `${transmitter}/jwks` });
    await accepted(pinned, setClaims(SESSION_REVOKED, issSub('alice'), { iss: issuer }));
    expect(await stillSignedIn(alice)).toBe(false);
  });

  it('refuses SSF_AUDIENCE or SSF_JWKS_URI without SSF_ISSUER, and a plain-http transmitter off loopback, by name', async () => {
    for (const [overrides, key] of [
      [{ SSF_AUDIENCE: 'https://receiver.example' }, 'SSF_AUDIENCE'],
      [{ SSF_JWKS_URI: `${transmitter}/jwks` }, 'SSF_JWKS_URI'],
      [{ SSF_ISSUER: 'http://transmitter.example' }, 'SSF_ISSUER'],
      [{ SSF_ISSUER: transmitter, SSF_JWKS_URI: 'http://transmitter.example/jwks' }, 'SSF_JWKS_URI'],
    ] as const) {
      expect(await configProblems(() => lifecycleGateway(overrides).fetch('/page', { headers: { accept: 'application/json' } }))).toContain(key);
    }
  });
});
