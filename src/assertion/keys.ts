import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';

/**
 * The gateway's own signing keys for `X-User-Jwt` (ASSERTION_KEY): a private JWK, or a JSON array
 * of them for rotation — the first signs, all are published at /_auth/jwks so backends that cached
 * the old key keep verifying until the new one has spread.
 */
export interface AssertionKeys {
  signer: { key: CryptoKey; kid: string; alg: string };
  /** Public halves only (no `d`, `p`, `q`…), each with `kid`, `alg`, `use: "sig"`. */
  jwks: { keys: JWK[] };
}

/** Asymmetric only: a backend must be able to verify without being able to forge. */
const ALGS: Record<string, (jwk: JWK) => boolean> = {
  ES256: (jwk) => jwk.kty === 'EC' && jwk.crv === 'P-256',
  ES384: (jwk) => jwk.kty === 'EC' && jwk.crv === 'P-384',
  EdDSA: (jwk) => jwk.kty === 'OKP' && jwk.crv === 'Ed25519',
  Ed25519: (jwk) => jwk.kty === 'OKP' && jwk.crv === 'Ed25519',
  RS256: (jwk) => jwk.kty === 'RSA',
  PS256: (jwk) => jwk.kty === 'RSA',
};

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Problems are plain messages for the config error (never the key material). */
export function parseAssertionKeys(raw: string): { jwks: JWK[] } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { problem: 'expected a private JWK, or a JSON array of them (first signs), as JSON' };
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.length === 0) return { problem: 'is an empty list; give at least one private JWK' };
  const jwks: JWK[] = [];
  for (const [i, item] of list.entries()) {
    const which = list.length > 1 ? ` (key #${i + 1})` : '';
    if (typeof item !== 'object' || item === null) return { problem: `expected a JWK object${which}` };
    const jwk = { ...(item as JWK) };
    if (jwk.kty === 'oct') return { problem: `must be an asymmetric key (EC P-256 for ES256, or Ed25519): a shared secret would let every backend forge assertions${which}` };
    if (typeof jwk.d !== 'string') return { problem: `must be a private key (it has no "d")${which}` };
    jwk.alg ??= defaultAlg(jwk);
    const fits = jwk.alg ? ALGS[jwk.alg] : undefined;
    if (!fits || !fits(jwk)) return { problem: `has an unsupported key type or alg (use EC P-256 with ES256, or Ed25519 with EdDSA)${which}` };
    jwks.push(jwk);
  }
  return { jwks };
}

function defaultAlg(jwk: JWK): string | undefined {
  if (jwk.kty === 'EC') return jwk.crv === 'P-384' ? 'ES384' : 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'RSA') return 'RS256';
  return undefined;
}

const loaded = new WeakMap<JWK[], Promise<AssertionKeys>>();

/** Imported once per isolate: key import is far too slow for the request path. */
export function loadAssertionKeys(jwks: JWK[]): Promise<AssertionKeys> {
  let keys = loaded.get(jwks);
  if (!keys) {
    keys = importAll(jwks);
    loaded.set(jwks, keys);
  }
  return keys;
}

async function importAll(jwks: JWK[]): Promise<AssertionKeys> {
  const published: JWK[] = [];
  for (const jwk of jwks) {
    const pub: JWK = Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.includes(name))) as JWK;
    pub.kid ??= await calculateJwkThumbprint(pub);
    pub.use = 'sig';
    delete pub.key_ops;
    delete pub.ext;
    published.push(pub);
  }
  const first = jwks[0]!;
  const key = (await importJWK({ ...first, key_ops: undefined }, first.alg)) as CryptoKey;
  return { signer: { key, kid: published[0]!.kid!, alg: first.alg! }, jwks: { keys: published } };
}
