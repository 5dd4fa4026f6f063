// An attacker signs an ID token (or logout token) with a key of their own and tells the gateway where
// to find it: embedded in the header (`jwk`, `x5c`), or at a URL (`jku`, `x5u`) — RFC 8725 3.10 — or
// marks an extension the gateway does not know as critical (`crit`, RFC 7515 4.1.11), hoping it is
// ignored. Keys come only from the issuer's own jwks_uri; header-named URLs are never fetched; an
// unknown critical extension fails the token even under a valid signature.
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ID } from '../setup/constants';
import { deliverLogoutToken } from '../support/backchannel';
import { gateway } from '../support/gateway';
import { b64u, expectRefusedAt, newIssuer, now, requestsTo, signInWithIdToken, signJwt } from './helpers';

let attackerKey: CryptoKeyPair;
let attackerJwk: JsonWebKey;

beforeAll(async () => {
  attackerKey = (await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const { kty, n, e } = (await crypto.subtle.exportKey('jwk', attackerKey.publicKey)) as JsonWebKey;
  attackerJwk = { kty, n, e };
});

/** A JWS signed with the attacker's own RSA key. */
async function attackerJwt(header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
  const input = `${b64u(JSON.stringify({ alg: 'RS256', ...header }))}.${b64u(JSON.stringify(claims))}`;
  const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', attackerKey.privateKey, new TextEncoder().encode(input));
  return `${input}.${b64u(new Uint8Array(sig))}`;
}


describe('ID tokens that bring their own key', () => {
  it.each([
    ['the key embedded as jwk, no kid', () => ({ jwk: attackerJwk })],
    ['the key embedded as jwk, under the issuer’s kid', () => ({ jwk: attackerJwk, kid: 'rs-1' })],
    ['the key embedded as jwk, under a kid of its own', () => ({ jwk: { ...attackerJwk, kid: 'mallory' }, kid: 'mallory' })],
    ['a certificate chain in x5c', () => ({ x5c: [b64u(new Uint8Array(300)).replace(/-/g, '+').replace(/_/g, '/')], kid: 'mallory' })],
  ])('%s: refused (502), nobody signed in', async (_label, header) => {
    const issuer = await newIssuer();
    const { gw, res, code } = await signInWithIdToken(issuer, (claims) => attackerJwt(header(), claims));
    await expectRefusedAt(gw, res, 502, 'id_token_invalid', [code]);
  });

  it.each([
    ['jku', (url: string) => ({ jku: `${url}/jwks`, kid: 'mallory' })],
    ['x5u', (url: string) => ({ x5u: `${url}/cert.pem`, kid: 'mallory' })],
    ['jku naming the issuer’s own jwks_uri', (_url: string, issuer: string) => ({ jku: `${issuer}/jwks`, kid: 'mallory' })],
  ])('a key URL in %s: refused, and the URL is never fetched', async (_label, header) => {
    const issuer = await newIssuer();
    const attacker = await newIssuer();
    const { gw, res, code } = await signInWithIdToken(issuer, (claims) => attackerJwt(header(attacker, issuer), claims));
    await expectRefusedAt(gw, res, 502, 'id_token_invalid', [code]);
    for (const path of ['/jwks', '/cert.pem', '/.well-known/openid-configuration']) expect(await requestsTo(attacker, path), path).toBe(0);
    expect(await requestsTo(issuer, '/jwks'), 'only the configured jwks_uri, once (plus one refetch for the unknown kid)').toBeLessThanOrEqual(2);
  });
});

describe('ID tokens with critical extensions, under a valid signature of the issuer', () => {
  it.each([
    ['an unknown critical extension', { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true }],
    ['b64: false (unencoded payload)', { crit: ['b64'], b64: false }],
    ['an empty crit list', { crit: [] }],
    ['crit naming a registered header', { crit: ['alg'] }],
    ['crit that is not a list', { crit: 'x-ext', 'x-ext': 1 }],
  ])('%s: refused (502)', async (_label, header) => {
    const issuer = await newIssuer();
    const { gw, res, code } = await signInWithIdToken(issuer, (claims) => signJwt({ header: { kid: 'rs-1', ...header }, claims }));
    // oauth4webapi refuses any `crit` while reading the token response (idp_bad_response), before the
    // signature check would (id_token_invalid): refused either way.
    await expectRefusedAt(gw, res, 502, ['idp_bad_response', 'id_token_invalid'], [code]);
  });

  it('the same token without crit signs in (control)', async () => {
    const issuer = await newIssuer();
    const { res } = await signInWithIdToken(issuer, (claims) => signJwt({ header: { kid: 'rs-1' }, claims }));
    expect(res.status).toBe(303);
  });
});

describe('logout tokens that bring their own key', () => {
  it.each([
    ['jwk', () => ({ jwk: attackerJwk })],
    ['jku', (url: string) => ({ jku: `${url}/jwks`, kid: 'mallory' })],
  ])('embedded %s: refused (400), nothing fetched from the attacker', async (_label, header) => {
    const issuer = await newIssuer();
    const attacker = await newIssuer();
    const gw = gateway({ OIDC_ISSUER: issuer });
    const token = await attackerJwt(
      { typ: 'logout+jwt', ...header(attacker) },
      { iss: issuer, aud: CLIENT_ID, iat: now(), exp: now() + 120, jti: crypto.randomUUID(), events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sub: 'victim' },
    );
    const res = await deliverLogoutToken(gw, token);
    expect(res.status).toBe(400);
    expect(await requestsTo(attacker, '/jwks')).toBe(0);
  });
});
