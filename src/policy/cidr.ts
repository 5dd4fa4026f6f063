/**
 * IP addresses and CIDR ranges for the `ips` condition, parsed strictly and compared as 128-bit
 * numbers. IPv4 is held as its IPv4-mapped IPv6 form (RFC 4291 2.5.5.2, `::ffff:a.b.c.d`), so a
 * client that reaches Cloudflare over IPv6 as `::ffff:203.0.113.7` meets the rule `203.0.113.0/24`
 * exactly as `203.0.113.7` does, and an IPv6 rule never matches an IPv4 client by accident.
 *
 * Strict on purpose: every address has one reading. `010.0.0.1` (octal to inet_aton, decimal to
 * others), `10.1` (classful shorthand), `0x0a.0.0.1`, zone ids (`fe80::1%eth0`), a second `::` and
 * host bits under the prefix (`10.0.0.1/8`, usually a typo) are refused, in the config and from the
 * client alike.
 */

export interface Cidr {
  /** The network address, as a 128-bit number (IPv4 mapped). */
  readonly base: bigint;
  /** Prefix length in the 128-bit space (an IPv4 `/24` is 120). */
  readonly bits: number;
}

const MAPPED_V4 = 0xffffn << 32n;
const V4_PREFIX_BITS = 96;
/** Longest textual IPv6 address: eight groups, or six and an embedded IPv4 address (RFC 4291 2.2). */
const MAX_V6_TEXT = 45;
const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** The address as a 128-bit number (IPv4 mapped), or undefined when it is not exactly one address. */
export function parseIp(text: string): bigint | undefined {
  if (text.includes(':')) return parseIpv6(text);
  const v4 = parseIpv4(text);
  return v4 === undefined ? undefined : MAPPED_V4 | v4;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!DECIMAL_OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

/** RFC 4291 2.2: eight hex groups, one `::` for one or more zero groups, an IPv4 address last. */
function parseIpv6(text: string): bigint | undefined {
  if (text.length > MAX_V6_TEXT || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const gap = text.indexOf('::');
  if (gap !== text.lastIndexOf('::')) return undefined;
  const halves = gap < 0 ? [text] : [text.slice(0, gap), text.slice(gap + 2)];
  const groups: bigint[][] = [];
  for (const [h, half] of halves.entries()) {
    const out: bigint[] = [];
    const parts = half === '' ? [] : half.split(':');
    for (const [i, part] of parts.entries()) {
      const last = h === halves.length - 1 && i === parts.length - 1;
      if (last && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (HEX_GROUP.test(part)) {
        out.push(BigInt(`0x${part}`));
      } else {
        return undefined;
      }
    }
    groups.push(out);
  }
  const count = groups.reduce((n, half) => n + half.length, 0);
  if (gap < 0 ? count !== 8 : count > 7) return undefined;
  const all = gap < 0 ? groups[0]! : [...groups[0]!, ...new Array<bigint>(8 - count).fill(0n), ...groups[1]!];
  return all.reduce((value, group) => (value << 16n) | group, 0n);
}

/** `203.0.113.0/24`, `2001:db8::/32`, or a bare address (a range of one). */
export function parseCidr(text: string): Cidr | { problem: string } {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const base = parseIp(address);
  if (base === undefined) {
    return { problem: 'expected an IPv4 or IPv6 address or CIDR range such as 203.0.113.0/24 or 2001:db8::/32 (decimal octets without leading zeros, no zone id)' };
  }
  const v4 = !address.includes(':');
  const max = v4 ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const raw = text.slice(slash + 1);
    if (!DECIMAL_OCTET.test(raw) || Number(raw) > max) return { problem: `the prefix length must be a whole number from 0 to ${max}` };
    length = Number(raw);
  }
  const bits = v4 ? V4_PREFIX_BITS + length : length;
  if (hostPart(base, bits) !== 0n) return { problem: `has bits set after the /${length} prefix; write the network address (e.g. ${networkText(base, bits, v4)}/${length})` };
  return { base, bits };
}

export function cidrContains(range: Cidr, ip: bigint): boolean {
  return ip >> BigInt(128 - range.bits) === range.base >> BigInt(128 - range.bits);
}

function hostPart(value: bigint, bits: number): bigint {
  return value & ((1n << BigInt(128 - bits)) - 1n);
}

function networkText(base: bigint, bits: number, v4: boolean): string {
  const network = base - hostPart(base, bits);
  if (v4) return [24n, 16n, 8n, 0n].map((shift) => String((network >> shift) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((network >> shift) & 0xffffn).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** The range as text (`203.0.113.0/24`, `2001:db8::/32`), for the check command. */
export function cidrText(range: Cidr): string {
  const v4 = range.bits >= V4_PREFIX_BITS && range.base >> 32n === 0xffffn;
  return `${networkText(range.base, range.bits, v4)}/${v4 ? range.bits - V4_PREFIX_BITS : range.bits}`;
}
