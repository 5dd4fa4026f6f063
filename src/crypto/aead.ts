import { fromBase64Url, toBase64Url, utf8, utf8Decoder } from './encoding';

/**
 * AES-256-GCM under keys derived with HKDF-SHA-256. Every sealed value is bound to its purpose and
 * location by the HKDF `info` and by the additional data (AAD), so a ciphertext copied from one
 * place (a KV key, a cookie name) to another fails to open.
 */
const VERSION = 'v1';
const IV_BYTES = 12;

export async function deriveKey(secret: Uint8Array, salt: Uint8Array, info: string): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt, info: utf8.encode(info) },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/**
 * A key for one purpose (`info`), derived once per isolate from a server secret (SESSION_SECRET):
 * HKDF and key import are far too slow to repeat on every request.
 */
const purposeKeys = new WeakMap<Uint8Array, Map<string, Promise<CryptoKey>>>();
export function purposeKey(secret: Uint8Array, info: string): Promise<CryptoKey> {
  let byInfo = purposeKeys.get(secret);
  if (!byInfo) {
    byInfo = new Map();
    purposeKeys.set(secret, byInfo);
  }
  let key = byInfo.get(info);
  if (!key) {
    key = deriveKey(secret, new Uint8Array(0), info);
    byInfo.set(info, key);
  }
  return key;
}

export async function seal(key: CryptoKey, plaintext: string, aad: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: utf8.encode(aad) },
    key,
    utf8.encode(plaintext),
  );
  const out = new Uint8Array(IV_BYTES + ciphertext.byteLength);
  out.set(iv, 0);
  out.set(new Uint8Array(ciphertext), IV_BYTES);
  return `${VERSION}.${toBase64Url(out)}`;
}

/** Returns null for anything that does not decrypt: tampered, truncated, foreign or wrong key. */
export async function open(key: CryptoKey, sealed: string, aad: string): Promise<string | null> {
  if (!sealed.startsWith(`${VERSION}.`)) return null;
  const bytes = fromBase64Url(sealed.slice(VERSION.length + 1));
  if (!bytes || bytes.length < IV_BYTES + 16) return null;
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES), additionalData: utf8.encode(aad) },
      key,
      bytes.subarray(IV_BYTES),
    );
    return utf8Decoder.decode(plaintext);
  } catch {
    return null;
  }
}
