// base64url as sessions, cookies and tokens use it: the runtime's own base64 (workerd) and the loops
// used where there is none (Node: the check command, the bench) give one answer, canonical form only.
import { describe, expect, it } from 'vitest';
import { fromBase64Url, fromBase64UrlPortable, toBase64Url, toBase64UrlPortable } from '../../src/crypto/encoding';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('base64url', () => {
  it('runs on the runtime base64 here, as in production', () => {
    expect(typeof (Uint8Array as unknown as { fromBase64?: unknown }).fromBase64).toBe('function');
  });

  it('encodes and decodes every length alike on both paths', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      const text = toBase64Url(bytes);
      expect(text).toBe(toBase64UrlPortable(bytes));
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(fromBase64Url(text)).toEqual(bytes);
      expect(fromBase64UrlPortable(text)).toEqual(bytes);
    }
  });

  it('refuses every non-canonical last character, on both paths alike', () => {
    for (const n of [1, 2, 16, 32, 33, 1000]) {
      const text = toBase64Url(crypto.getRandomValues(new Uint8Array(n)));
      let accepted = 0;
      for (const c of ALPHABET) {
        const spelling = text.slice(0, -1) + c;
        const decoded = fromBase64Url(spelling);
        expect(decoded, spelling).toEqual(fromBase64UrlPortable(spelling));
        if (decoded) accepted++;
      }
      // The unused low bits of the last character (4 after 1 byte, 2 after 2) must be zero: one
      // spelling in 16 or in 4 of the final character decodes; with no unused bits, all 64 do.
      expect(accepted).toBe(n % 3 === 1 ? 4 : n % 3 === 2 ? 16 : 64);
    }
  });

  it('refuses padding, whitespace, the standard alphabet and impossible lengths', () => {
    for (const bad of ['A', 'AAAAA', 'AA==', 'AAA=', 'AA AA', ' AAAA', 'AAAA\n', 'a+b/', '====', 'AAAA=', '%41AAA']) {
      expect(fromBase64Url(bad), bad).toBeNull();
      expect(fromBase64UrlPortable(bad), bad).toBeNull();
    }
    expect(fromBase64Url('')).toEqual(new Uint8Array(0));
  });
});
