// An attacker edits a genuinely signed ID token — changes the subject after signing, flips or cuts the
// signature, grafts another token's signature on, re-encodes an ES256 signature as DER — for both
// signature families the IdP publishes (RS256 and ES256). Any change to a signed byte fails the sign-in.
import { describe, expect, it } from 'vitest';
import { b64u, expectRefusedAt, newIssuer, signInWithIdToken, signJwt } from './helpers';

type Tamper = (jwt: string, other: string) => string;

const parts = (jwt: string) => jwt.split('.') as [string, string, string];
const fromB64u = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4)), (c) => c.charCodeAt(0));

/** ES256's raw r||s as ASN.1 DER (what some libraries emit, and JWS forbids: RFC 7518 3.4). */
function derSignature(raw: Uint8Array): Uint8Array {
  const int = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const trimmed = bytes.slice(i);
    return trimmed[0]! & 0x80 ? Uint8Array.from([0x02, trimmed.length + 1, 0, ...trimmed]) : Uint8Array.from([0x02, trimmed.length, ...trimmed]);
  };
  const body = [...int(raw.slice(0, 32)), ...int(raw.slice(32))];
  return Uint8Array.from([0x30, body.length, ...body]);
}

const TAMPERS: [string, Tamper][] = [
  ['the subject changed after signing', (jwt) => {
    const [h, p, s] = parts(jwt);
    const claims = JSON.parse(new TextDecoder().decode(fromB64u(p))) as Record<string, unknown>;
    return `${h}.${b64u(JSON.stringify({ ...claims, sub: 'admin' }))}.${s}`;
  }],
  ['one bit of the signature flipped', (jwt) => {
    const [h, p, s] = parts(jwt);
    const sig = fromB64u(s);
    sig[sig.length >> 1]! ^= 1;
    return `${h}.${p}.${b64u(sig)}`;
  }],
  ['the signature cut short', (jwt) => {
    const [h, p, s] = parts(jwt);
    return `${h}.${p}.${s.slice(0, s.length - 8)}`;
  }],
  ['the signature removed', (jwt) => {
    const [h, p] = parts(jwt);
    return `${h}.${p}.`;
  }],
  ['another token’s genuine signature grafted on', (jwt, other) => {
    const [h, p] = parts(jwt);
    return `${h}.${p}.${parts(other)[2]}`;
  }],
  ['the header swapped for another key’s (kid)', (jwt) => {
    const [h, p, s] = parts(jwt);
    const header = JSON.parse(new TextDecoder().decode(fromB64u(h))) as Record<string, unknown>;
    return `${b64u(JSON.stringify({ ...header, kid: header['kid'] === 'rs-1' ? 'es-1' : 'rs-1' }))}.${p}.${s}`;
  }],
];

describe.each(['RS256', 'ES256'] as const)('a %s-signed ID token, edited', (alg) => {
  it.each(TAMPERS)('%s: refused (502), nobody signed in', async (_label, tamper) => {
    const issuer = await newIssuer();
    const { gw, res, code } = await signInWithIdToken(issuer, async (claims) => {
      const genuine = await signJwt({ sign: alg, claims });
      const other = await signJwt({ sign: alg, claims: { ...claims, sub: 'someone-else' } });
      return tamper(genuine, other);
    });
    await expectRefusedAt(gw, res, 502, ['id_token_invalid', 'idp_bad_response'], [code]);
  });

  if (alg === 'ES256') {
    it('its signature re-encoded as DER: refused (JWS wants raw r||s)', async () => {
      const issuer = await newIssuer();
      const { gw, res, code } = await signInWithIdToken(issuer, async (claims) => {
        const [h, p, s] = parts(await signJwt({ sign: 'ES256', claims }));
        return `${h}.${p}.${b64u(derSignature(fromB64u(s)))}`;
      });
      await expectRefusedAt(gw, res, 502, ['id_token_invalid', 'idp_bad_response'], [code]);
    });
  }

  it('unedited (control): signs in', async () => {
    const issuer = await newIssuer();
    const { res } = await signInWithIdToken(issuer, (claims) => signJwt({ sign: alg, claims }));
    expect(res.status).toBe(303);
  });
});
