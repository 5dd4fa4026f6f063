// A tiny seeded PRNG for the fuzz tests: the same seed gives the same cases on every machine, so a
// failure found in CI replays exactly. mulberry32 (public domain): 32-bit state, good enough to spread
// cases, not for cryptography.
export interface Rng {
  /** [0, 1) */
  next(): number;
  int(maxExclusive: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  /** A string of `length` characters drawn from `alphabet`. */
  string(alphabet: string, length: number): string;
}

export function rng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  return {
    next,
    int,
    pick: (items) => items[int(items.length)]!,
    chance: (p) => next() < p,
    // By code point, so a surrogate pair is never split into a lone half.
    string: (alphabet, length) => {
      const chars = Array.from(alphabet);
      return Array.from({ length }, () => chars[int(chars.length)]).join('');
    },
  };
}

export const ALPHABETS = {
  b64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  /** Printable ASCII: anything a header value or cookie may carry. */
  printable: Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join(''),
  /** The characters that change how URLs, cookies and paths are read. */
  special: '/\\.;,=&?#%@:"\' \t+*~!$()[]{}<>|^`',
  /** Non-ASCII lookalikes and separators. */
  unicode: '\u00e9\u00ff\u0130\u017f\u212a\u3002\uff0e\uff0f\u2215\u2044\u200b\u2028\u00a0\ufeff\ud83d\ude00',
};

/** `value` with one to three random edits: the near misses of a valid value are where checks slip. */
export function mutate(r: Rng, value: string): string {
  let out = value;
  const whole = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '');
  const edits = 1 + r.int(3);
  for (let i = 0; i < edits; i++) {
    const at = out.length === 0 ? 0 : r.int(out.length);
    switch (r.int(9)) {
      case 0: // flip one character
        out = out.slice(0, at) + r.string(ALPHABETS.b64url, 1) + out.slice(at + 1);
        break;
      case 1: // insert a special character
        out = out.slice(0, at) + r.string(ALPHABETS.special, 1) + out.slice(at);
        break;
      case 2: // delete one character
        out = out.slice(0, at) + out.slice(at + 1);
        break;
      case 3: // truncate
        out = out.slice(0, at);
        break;
      case 4: // repeat a slice
        out = out.slice(0, at) + out.slice(at, at + 1 + r.int(16)) + out.slice(at);
        break;
      case 5: // change letter case
        out = r.chance(0.5) ? out.toUpperCase() : out.toLowerCase();
        break;
      case 6: // percent-encode a character
        out = out.slice(0, at) + encodeURIComponent(out.charAt(at) || '/').replace(/^([A-Za-z0-9])$/, (c) => `%${c.charCodeAt(0).toString(16)}`) + out.slice(at + 1);
        break;
      case 7: // append something
        out += r.pick(['=', ';', ',', '.', '..', '%00', ' ', '"', `.${r.string(ALPHABETS.b64url, 8)}`]);
        break;
      default: // a non-ASCII lookalike
        out = out.slice(0, at) + r.string(ALPHABETS.unicode, 1) + out.slice(at);
    }
  }
  // Edits at code-unit positions may split a surrogate pair: drop the lone halves.
  return whole(out);
}
