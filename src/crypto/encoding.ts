export const utf8 = new TextEncoder();
export const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Returns null instead of throwing: callers treat undecodable input as "not ours". */
export function fromBase64Url(text: string): Uint8Array | null {
  if (!B64URL.test(text) || text.length % 4 === 1) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  try {
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    // Canonical form only (RFC 4648 3.5): the unused low bits of the last character must be zero.
    // Otherwise several spellings decode to the same bytes — e.g. four variants of a session cookie's
    // secret all open the session (found by test/fuzz) — and "a different string" no longer means
    // "a different value".
    if (toBase64Url(bytes) !== text) return null;
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
