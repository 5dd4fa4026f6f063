/**
 * A route's `allow` conditions, checked against a signed-in user's claims. Every given key must hold;
 * within a key, any listed value is enough.
 *
 * Comparisons are exact and never coerce types ("1" is not 1, "true" is not true). The only
 * case-folding is ASCII-only lower-casing of email domains: `toLowerCase()` would fold look-alikes
 * such as the Kelvin sign (U+212A) into `k`, turning a foreign domain into an allowed one.
 */

import { emailVerified, forwardableGroups } from './identity';

export type ClaimValue = string | number | boolean;

/**
 * How one claim is tested: equal to one of the listed values (a single configured value becomes a
 * list of one), `{ present = true }` (any value but null), or `{ min = N }` (a JSON number ≥ N; the
 * string "5" is not a number). No regular expressions: see docs/routes.md, claim conditions.
 */
export type ClaimTest = readonly ClaimValue[] | { readonly present: true } | { readonly min: number };

export interface Allow {
  /** Addresses as `local@domain`: local part exactly as configured, domain ASCII-lower-cased. */
  readonly emails?: readonly string[];
  /** ASCII-lower-cased, no trailing dot; subdomains match only when listed themselves. */
  readonly email_domains?: readonly string[];
  readonly groups?: readonly string[];
  /** Claim name → its test. */
  readonly claims?: Readonly<Record<string, ClaimTest>>;
}

export type AllowKey = 'emails' | 'email_domains' | 'groups' | 'claims';

export type AllowResult = { ok: true } | { ok: false; failed: AllowKey[]; missing: string };

const OK: AllowResult = Object.freeze({ ok: true });

export interface AllowOptions {
  /** OIDC_ASSUME_EMAIL_VERIFIED: an `email` without `email_verified` counts as verified. */
  assumeEmailVerified?: boolean;
}

export function checkAllow(allow: Allow | undefined, claims: Record<string, unknown>, options: AllowOptions = {}): AllowResult {
  if (!allow) return OK;
  const failed: AllowKey[] = [];
  const missing: string[] = [];
  const need = (key: AllowKey, text: string) => {
    failed.push(key);
    if (!missing.includes(text)) missing.push(text);
  };

  if (allow.emails || allow.email_domains) {
    const email = verifiedEmail(claims, options.assumeEmailVerified === true);
    const address = typeof email === 'object' ? email : undefined;
    if (allow.emails && !(address && allow.emails.includes(`${address.local}@${address.domain}`))) {
      need('emails', email === 'unverified' ? UNVERIFIED : 'an email address that is allowed here');
    }
    if (allow.email_domains && !(address && allow.email_domains.includes(address.domain))) {
      need('email_domains', email === 'unverified' ? UNVERIFIED : `an email address at ${oneOf(allow.email_domains)}`);
    }
  }

  if (allow.groups && !hasGroup(claims['groups'], allow.groups)) {
    need('groups', `membership in ${oneOf(allow.groups)}`);
  }

  if (allow.claims) {
    const wrong: string[] = [];
    for (const name of Object.keys(allow.claims)) {
      const accepted = allow.claims[name]!;
      const actual = Object.hasOwn(claims, name) ? claims[name] : undefined;
      if (!claimMatches(actual, accepted)) wrong.push(claimText(name, accepted));
    }
    if (wrong.length > 0) need('claims', wrong.join(' and '));
  }

  return failed.length === 0 ? OK : { ok: false, failed, missing: missing.join('; ') };
}

const UNVERIFIED = 'a verified email address (the identity provider has not verified yours)';

/**
 * The user's email address, or 'unverified' unless `email_verified` is exactly `true` (or absent with
 * OIDC_ASSUME_EMAIL_VERIFIED; see policy/identity.ts emailVerified), or undefined when there is no
 * well-formed address. Unverified addresses can be typed in by anyone at many IdPs.
 */
function verifiedEmail(claims: Record<string, unknown>, assumeVerified: boolean): EmailAddress | 'unverified' | undefined {
  const raw = Object.hasOwn(claims, 'email') ? claims['email'] : undefined;
  if (typeof raw !== 'string') return undefined;
  if (!emailVerified(claims, assumeVerified)) return 'unverified';
  return parseEmail(raw);
}

/**
 * Judged on the groups as X-User-Groups forwards them: a group the header cannot carry exactly
 * (`" admins"`, which HTTP parsers trim to `admins`) is left out there, so it counts for nothing here.
 */
function hasGroup(claim: unknown, allowed: readonly string[]): boolean {
  // Strings only: a number 1 is not the group "1" (no coercion), though the header shows it as 1.
  const strings = typeof claim === 'string' ? [claim] : Array.isArray(claim) ? claim.filter((group): group is string => typeof group === 'string') : [];
  return forwardableGroups(strings).some((group) => allowed.includes(group));
}

/** The claim equals an accepted value, or is an array containing one. Strict equality: no coercion. */
export function claimMatches(actual: unknown, test: ClaimTest): boolean {
  if ('present' in test) return actual !== undefined && actual !== null;
  if ('min' in test) return typeof actual === 'number' && Number.isFinite(actual) && actual >= test.min;
  if (Array.isArray(actual)) return actual.some((item) => isClaimValue(item) && test.includes(item));
  return isClaimValue(actual) && test.includes(actual);
}

/** What a claim test asks for, in the words of the 403 page (configured values only, never the user's). */
export function claimText(name: string, test: ClaimTest): string {
  if ('present' in test) return `claim "${name}"`;
  if ('min' in test) return `claim "${name}" of at least ${test.min}`;
  return `claim "${name}" with ${test.length > 1 ? 'one of the values' : 'the value'} ${test.map(show).join(', ')}`;
}

export function isClaimValue(value: unknown): value is ClaimValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function oneOf(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : `one of: ${values.join(', ')}`;
}

/** Claim values are shown typed, so `"1"` and `1` read differently on the 403 page. */
function show(value: ClaimValue): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

// --- Email addresses -------------------------------------------------------------------------------

export interface EmailAddress {
  /** Exactly as given: RFC 5321 2.4 leaves the local part's case to the receiving domain. */
  local: string;
  /** ASCII-lower-cased (RFC 5321 2.4: domains are case-insensitive). */
  domain: string;
}

const MAX_EMAIL = 254; // RFC 5321 4.5.3.1.3 path limit minus the angle brackets
const MAX_LOCAL = 64; // RFC 5321 4.5.3.1.1
/**
 * Whitespace (including NBSP and line separators), control and invisible format characters. The
 * Unicode-property patterns below are built on first need: creating and first running one costs
 * about a millisecond in a fresh isolate, and most addresses are ASCII, which the plain patterns
 * judge the same way (in ASCII, \s ∪ Cc ∪ Cf is 0x00–0x20 and 0x7F; L, N and M are letters and digits).
 */
const ASCII = /^[\x00-\x7f]*$/;
const BAD_ASCII_LOCAL_CHAR = /[\x00-\x20\x7f]/;
let badLocalChar: RegExp | undefined;
function hasBadLocalChar(local: string): boolean {
  if (ASCII.test(local)) return BAD_ASCII_LOCAL_CHAR.test(local);
  return (badLocalChar ??= /[\s\p{Cc}\p{Cf}]/u).test(local);
}
/** One DNS label: letters (any script), digits, marks, inner hyphens. No `_`, `*`, spaces, dots. */
const ASCII_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
let unicodeLabel: RegExp | undefined;
function isLabel(label: string): boolean {
  if (ASCII.test(label)) return ASCII_LABEL.test(label);
  return (unicodeLabel ??= /^[\p{L}\p{N}\p{M}](?:[\p{L}\p{N}\p{M}-]{0,61}[\p{L}\p{N}\p{M}])?$/u).test(label);
}

/**
 * Strict parse: exactly one `@`, a non-empty local part without whitespace, control or invisible
 * characters, and a domain of non-empty labels (no trailing dot, no IP literal). Quoted local parts
 * containing `@` are refused rather than interpreted: an address with two readings is no address.
 */
export function parseEmail(value: string): EmailAddress | undefined {
  if (value.length > MAX_EMAIL) return undefined;
  const at = value.indexOf('@');
  if (at <= 0 || at !== value.lastIndexOf('@') || at > MAX_LOCAL) return undefined;
  const local = value.slice(0, at);
  if (hasBadLocalChar(local)) return undefined;
  const domain = canonicalDomain(value.slice(at + 1));
  return domain === undefined ? undefined : { local, domain };
}

/** A domain name, ASCII-lower-cased; undefined when it is not one (including a trailing dot). */
export function canonicalDomain(value: string): string | undefined {
  if (value.length === 0 || value.length > 253) return undefined;
  const domain = asciiLowerCase(value);
  for (const label of domain.split('.')) if (!isLabel(label)) return undefined;
  return domain;
}

export function asciiLowerCase(value: string): string {
  return value.replace(/[A-Z]+/g, (run) => run.toLowerCase());
}
