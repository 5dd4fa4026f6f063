import { EmbeddedJWK, calculateJwkThumbprint, decodeProtectedHeader, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { GatewayError } from '../http/errors';
import { open, purposeKey, seal } from '../crypto/aead';
import { toBase64Url, utf8 } from '../crypto/encoding';
import { DPOP_ALGS } from './resource-metadata';

/**
 * DPoP proofs (RFC 9449) presented with a sender-constrained access token on `api` rules: the checks
 * of section 4.3, in its order, as plain functions over the proof, the request and the clock. What
 * the token itself is worth is access-token.ts's business; whether they belong together (`cnf.jkt`)
 * is compared by the caller with `confirmedKey`.
 */

/** A proof is at most this old (RFC 9449 11.1: a short window bounds what a stolen proof is worth). */
export const PROOF_MAX_AGE = 60;
/** Real proofs are well under 2 KB (a P-256 or RSA-2048 JWK and a few claims). */
const MAX_PROOF_LENGTH = 8192;
/** `jti` is random (RFC 9449 4.2: 96 bits suffice); anything longer only costs replay-store memory. */
const MAX_JTI_LENGTH = 256;

export interface ProofRequest {
  /** The request's method and full URL (its query and fragment are ignored, 4.3 step 9). */
  method: string;
  url: string;
  /** The access token presented with the proof: `ath` must be its hash (4.3 step 12). */
  accessToken: string;
  now: number;
  clockSkew: number;
  /** With server nonces: the check of `nonce` (4.3 step 10); undefined = none required. */
  nonce?: (nonce: unknown) => Promise<boolean>;
}

export interface VerifiedProof {
  /** The JWK SHA-256 thumbprint (RFC 7638) of the proof's key: what a bound token's `cnf.jkt` names. */
  jkt: string;
  jti: string;
  iat: number;
}

/** RFC 9449 4.3, steps 1 to 12 (the key binding, step 12's second half, is `confirmedKey`'s). */
export async function verifyProof(proof: string | null, request: ProofRequest): Promise<VerifiedProof> {
  // Step 1: exactly one DPoP header. Headers.get joins repeated fields with ", "; a JWT has no comma.
  if (proof === null || proof === '') throw invalidProof('a DPoP proof is required with the DPoP scheme');
  if (proof.includes(',')) throw invalidProof('exactly one DPoP header is allowed');
  if (proof.length > MAX_PROOF_LENGTH) throw invalidProof('the DPoP proof is too large');

  // Steps 2-5: a JWT typed dpop+jwt, signed with an asymmetric algorithm (never `none` or HS*).
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw invalidProof('the DPoP proof is not a JWT');
  }
  if (header.typ !== 'dpop+jwt') throw invalidProof('the DPoP proof is not typed dpop+jwt');
  if (typeof header.alg !== 'string' || !DPOP_ALGS.includes(header.alg)) throw invalidProof('the DPoP proof is not signed with an accepted algorithm');
  if (typeof header.jwk !== 'object' || header.jwk === null) throw invalidProof('the DPoP proof carries no public key');
  // Step 7: a public key only. jose refuses a private one as well; this says why.
  if (Object.hasOwn(header.jwk, 'd') || Object.hasOwn(header.jwk, 'k')) throw invalidProof('the DPoP proof carries a private key');

  // Step 6: the signature, by the key in the header.
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, { algorithms: [...DPOP_ALGS], typ: 'dpop+jwt' }));
  } catch {
    throw invalidProof('the DPoP proof signature does not verify');
  }
  const { jti, htm, htu, iat } = payload as Record<string, unknown>;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw invalidProof('the DPoP proof has no usable jti');

  // Steps 8-9: for this method and this URL.
  if (htm !== request.method) throw invalidProof('the DPoP proof is for another method (htm)');
  if (typeof htu !== 'string' || normalizeHtu(htu) === null || normalizeHtu(htu) !== normalizeHtu(request.url)) {
    throw invalidProof('the DPoP proof is for another URL (htu)');
  }

  // Step 10: the server's nonce, when it asks for one (use_dpop_nonce, section 9).
  if (request.nonce && !(await request.nonce(payload.nonce))) throw useNonce();

  // Step 11: recent. Slightly in the future is clock skew; older than PROOF_MAX_AGE is refused.
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidProof('the DPoP proof has no iat');
  if (iat > request.now + request.clockSkew || iat < request.now - PROOF_MAX_AGE - request.clockSkew) {
    throw invalidProof('the DPoP proof is too old or from the future (iat)');
  }

  // Step 12: for this access token.
  if (typeof payload['ath'] !== 'string' || payload['ath'] !== (await accessTokenHash(request.accessToken))) {
    throw invalidProof('the DPoP proof is for another access token (ath)');
  }
  return { jkt: await calculateJwkThumbprint(header.jwk as JWK, 'sha256'), jti, iat };
}

/**
 * RFC 9449 4.3 step 9: `htu` and the request's URL compared without query and fragment, after
 * syntax-based and scheme-based normalization (RFC 3986 6.2.2, 6.2.3): the URL parser lower-cases the
 * scheme and host, drops a default port, resolves dot segments and gives an empty path as `/`;
 * percent-encodings are upper-cased and those of unreserved characters decoded here. Null when it is
 * not an http(s) URL.
 */
export function normalizeHtu(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') return null;
  const path = url.pathname.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return /^[A-Za-z0-9\-._~]$/.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  return `${url.protocol}//${url.host}${path}`;
}

/** `ath` (RFC 9449 4.2): base64url of the SHA-256 of the access token's ASCII bytes. */
export async function accessTokenHash(token: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(token))));
}

/**
 * The key a token is bound to: `cnf.jkt` of a JWT access token or an introspection answer (RFC 9449
 * 6.1, 6.2). Undefined for an unbound token; null when `cnf.jkt` is there but not a thumbprint.
 */
export function confirmedKey(claims: Record<string, unknown>): string | null | undefined {
  const cnf = Object.hasOwn(claims, 'cnf') ? claims['cnf'] : undefined;
  if (typeof cnf !== 'object' || cnf === null || !Object.hasOwn(cnf, 'jkt')) return undefined;
  const jkt = (cnf as Record<string, unknown>)['jkt'];
  return typeof jkt === 'string' && /^[A-Za-z0-9_-]{43}$/.test(jkt) ? jkt : null;
}

// --- Server nonces (RFC 9449 9) -------------------------------------------------------------------

/**
 * Nonces are the time they were issued, sealed (AES-GCM) under a key from SESSION_SECRET: any isolate
 * can check any other's without shared state, and a client cannot make one up or move its time.
 * One is good for NONCE_LIFETIME seconds; after that the client gets `use_dpop_nonce` and a new one.
 */
export const NONCE_LIFETIME = 300;
const NONCE_INFO = 'edgegate/dpop-nonce/v1';
const MAX_NONCE_LENGTH = 200;

export async function issueNonce(secret: Uint8Array, now: number): Promise<string> {
  return seal(await purposeKey(secret, NONCE_INFO), String(now), NONCE_INFO);
}

/** Valid when one of the secrets (rotation) opens it and it is neither expired nor from the future. */
export async function nonceValid(secrets: readonly Uint8Array[], nonce: unknown, now: number, clockSkew: number): Promise<boolean> {
  if (typeof nonce !== 'string' || nonce === '' || nonce.length > MAX_NONCE_LENGTH) return false;
  for (const secret of secrets) {
    const issued = await open(await purposeKey(secret, NONCE_INFO), nonce, NONCE_INFO);
    if (issued === null) continue;
    const at = Number(issued);
    return Number.isInteger(at) && at <= now + clockSkew && now - at <= NONCE_LIFETIME;
  }
  return false;
}

// --- Replay (RFC 9449 11.1) -----------------------------------------------------------------------

/**
 * Proofs already accepted, by key thumbprint and `jti`, until they are too old to be accepted anyway.
 * Bounded: the oldest entries go first when full (an entry is added only for a request that passed
 * every check, so filling it takes valid tokens). Per isolate; see api-token.ts for the wider scope.
 */
export class ReplayCache {
  private readonly entries = new Map<string, number>();
  constructor(private readonly max = 10_000) {}

  /** True when the proof was seen and is still within its window; else records it. */
  seen(key: string, until: number, now: number): boolean {
    const known = this.entries.get(key);
    if (known !== undefined && known >= now) return true;
    if (this.entries.size >= this.max) this.prune(now);
    this.entries.set(key, until);
    return false;
  }

  /** Undoes `seen` for a proof whose wider check could not run (refused 503): a retry asks again. */
  forget(key: string): void {
    this.entries.delete(key);
  }

  private prune(now: number): void {
    for (const [key, until] of this.entries) if (until < now) this.entries.delete(key);
    // Maps iterate in insertion order: drop the oldest until there is room.
    for (const key of this.entries.keys()) {
      if (this.entries.size < this.max) break;
      this.entries.delete(key);
    }
  }
}

// --- Errors (RFC 9449 7.1, 12.2) ------------------------------------------------------------------

export function invalidProof(description: string, detail?: string): GatewayError {
  return new GatewayError('invalid_dpop_proof', description.charAt(0).toUpperCase() + description.slice(1) + '.', {
    headers: { 'www-authenticate': `DPoP realm="edgegate", error="invalid_dpop_proof", error_description="${description}"` },
    ...(detail ? { detail } : {}),
  });
}

/** 401 `use_dpop_nonce`; the caller adds the `DPoP-Nonce` to retry with. */
function useNonce(): GatewayError {
  return new GatewayError('use_dpop_nonce', 'The DPoP proof must carry the nonce in the DPoP-Nonce header.', {
    headers: { 'www-authenticate': 'DPoP realm="edgegate", error="use_dpop_nonce", error_description="resource server requires nonce in DPoP proof"' },
  });
}
