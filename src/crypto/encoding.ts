export const utf8 = new TextEncoder();
export const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The runtime's own base64 (TC39 "Uint8Array to/from base64", in workerd), where it has one: a sealed
 * session is ~1.4 KB of base64url, and the loops below, run by the interpreter in a fresh isolate,
 * cost its first request ~0.4 ms. Node 22 (the `check` command, the bench) has none and takes the loops.
 */
interface NativeBase64 {
  fromBase64(text: string, options: { alphabet: 'base64url'; lastChunkHandling: 'strict' }): Uint8Array;
}
interface NativeToBase64 {
  toBase64(options: { alphabet: 'base64url'; omitPadding: true }): string;
}
const native = typeof (Uint8Array as unknown as Partial<NativeBase64>).fromBase64 === 'function' && typeof (Uint8Array.prototype as Partial<NativeToBase64>).toBase64 === 'function';

export function toBase64Url(bytes: Uint8Array): string {
  return native ? (bytes as unknown as NativeToBase64).toBase64({ alphabet: 'base64url', omitPadding: true }) : toBase64UrlPortable(bytes);
}

/** The same encoding without the runtime's base64 (exported for the test that holds both to one answer). */
export function toBase64UrlPortable(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const B64URL = /^[A-Za-z0-9_-]*$/;
/** By length mod 4 (1 never decodes). */
const PADDING = ['', '', '==', '='];

/**
 * Returns null instead of throwing: callers treat undecodable input as "not ours".
 *
 * Canonical form only (RFC 4648 3.5): the unused low bits of the last character must be zero.
 * Otherwise several spellings decode to the same bytes — e.g. four variants of a session cookie's
 * secret all open the session (found by test/fuzz) — and "a different string" no longer means
 * "a different value".
 */
export function fromBase64Url(text: string): Uint8Array | null {
  if (!B64URL.test(text) || text.length % 4 === 1) return null;
  if (!native) return fromBase64UrlPortable(text);
  try {
    // `strict` refuses a last chunk with non-zero unused bits (the canonical-form rule above); it also
    // wants the padding, which base64url leaves out, so it is put back first.
    return (Uint8Array as unknown as NativeBase64).fromBase64(text + PADDING[text.length % 4]!, { alphabet: 'base64url', lastChunkHandling: 'strict' });
  } catch {
    return null;
  }
}

/** The same decoding without the runtime's base64 (exported for the test that holds both to one answer). */
export function fromBase64UrlPortable(text: string): Uint8Array | null {
  if (!B64URL.test(text) || text.length % 4 === 1) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  try {
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    if (toBase64UrlPortable(bytes) !== text) return null;
    return bytes;
  } catch {
    return null;
  }
}

export function randomToken(byteLength: number): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(byteLength)));
}

/** Compares without an early exit, so the time taken does not reveal how much of a secret matched. */
export function timingSafeEqual(a: string, b: string): boolean {
  // UTF-16 code units, not UTF-8 bytes: equal strings have equal units, and no encoding is allocated
  // on the hot path (the session cache compares a cookie secret on every request).
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}
