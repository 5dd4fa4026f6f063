/**
 * What the upstream is told about the user, from the session's (or access token's) claims: the
 * built-in X-User headers, the operator's CLAIM_HEADERS, all within one size budget.
 *
 * Every value arrives exactly as the IdP asserted it, or not at all. HTTP cannot carry control
 * characters, and parsers trim whitespace at the edges of a value (RFC 9110 5.5) and split lists at
 * commas (RFC 9110 5.6.1): `"admin\t"` would arrive as `admin`, a group `" admins"` as `admins`. Such a
 * value is refused for X-User (the request fails: the user cannot be named) and left out of every other
 * header. Non-ASCII text is carried in the RFC 8187 ext-value form `UTF-8''<percent-encoded UTF-8>`, and
 * so is any ASCII value that could be read as that form, so the encoding is never ambiguous.
 */
export interface Identity {
  user: string;
  /** With IDPS: the identity provider that signed the user in (X-User-Idp, `idp` in X-User-Jwt). */
  idp?: string;
  email?: string;
  name?: string;
  groups?: string[];
}

export interface ClaimHeader {
  claim: string;
  /** Lower-case header name. */
  header: string;
}

export interface IdentityOptions {
  /** USER_CLAIM: the claim sent as X-User. */
  userClaim: string;
  /** OIDC_ASSUME_EMAIL_VERIFIED: an `email` without `email_verified` counts as verified. */
  assumeEmailVerified: boolean;
}

export interface IdentityHeaderOptions {
  claimHeaders: readonly ClaimHeader[];
  /** Bytes for all identity headers together (names + values); lists are truncated to fit. */
  budget: number;
}

export interface IdentityHeaders {
  /** The identity as forwarded, in plain (decoded) text: also what X-User-Jwt states. */
  identity: Identity;
  headers: [name: string, value: string][];
  /** Headers whose lists were cut, or which were left out, to stay within the budget. */
  truncated: string[];
  /** Headers that lost a value or list item that could not be carried exactly. */
  omitted: string[];
}

/** Why the user cannot be named to the upstream: the request is refused (identity_unusable). */
export interface Unusable {
  unusable: string;
}

/** Marks a list that was cut short: never a real group name, so it can grant nothing. */
export const TRUNCATION_MARKER = '...';
/** RFC 8187 3.2.1 ext-value with charset UTF-8 and no language. */
export const ENCODED_PREFIX = "UTF-8''";
/** A single value longer than this is left out (X-User: refused): no legitimate name, email or id comes close. */
const MAX_SCALAR = 1024;
const utf8 = new TextEncoder();

export function identityFromClaims(sub: string, claims: Record<string, unknown>, options: IdentityOptions): Identity | Unusable {
  const chosen = own(claims, options.userClaim);
  // An address the IdP has not verified can be typed in by anyone at many IdPs: as the user id it would
  // make whoever registered the victim's address the victim upstream.
  if (options.userClaim === 'email' && typeof chosen === 'string' && !emailVerified(claims, options.assumeEmailVerified)) {
    return { unusable: 'the identity provider has not verified the email address that names the user here' };
  }
  const user = typeof chosen === 'string' && chosen !== '' ? chosen : typeof chosen === 'number' && Number.isFinite(chosen) ? String(chosen) : sub;
  const identity: Identity = { user };
  const email = own(claims, 'email');
  if (typeof email === 'string' && email !== '' && emailVerified(claims, options.assumeEmailVerified)) identity.email = email;
  const name = typeof own(claims, 'name') === 'string' ? own(claims, 'name') : own(claims, 'preferred_username');
  if (typeof name === 'string' && name !== '') identity.name = name;
  const groups = listOf(own(claims, 'groups'));
  if (groups) identity.groups = groups;
  return identity;
}

/**
 * OpenID Connect Core 5.1: `email_verified` is a boolean. Only `true` verifies: `false`, the string
 * "false" (sent by some UserInfo endpoints) and every other value do not — nor does the string "true":
 * an IdP that cannot send the right type is not trusted to have checked the address. A missing claim
 * verifies only when the operator says the IdP verifies every address (OIDC_ASSUME_EMAIL_VERIFIED).
 */
export function emailVerified(claims: Record<string, unknown>, assumeVerified: boolean): boolean {
  if (!Object.hasOwn(claims, 'email_verified')) return assumeVerified;
  return claims['email_verified'] === true;
}

/** The groups that are forwarded (before any budget cut): what `allow` judges too. */
export function forwardableGroups(claim: unknown): string[] {
  return (listOf(claim) ?? []).filter((item) => typeof headerForm(item, true) === 'string');
}

export function identityHeaders(identity: Identity, claims: Record<string, unknown>, options: IdentityHeaderOptions): IdentityHeaders | Unusable {
  const user = headerForm(identity.user, false);
  if (typeof user !== 'string') return { unusable: `the user id (USER_CLAIM) ${user.problem}` };
  if (user.length > MAX_SCALAR) return { unusable: `the user id (USER_CLAIM) is longer than ${MAX_SCALAR} characters` };

  const headers: [string, string][] = [];
  const truncated: string[] = [];
  const omitted: string[] = [];
  let left = options.budget;
  const cost = (name: string, value: string) => name.length + 2 + value.length;

  // The user id comes first and is never cut: without it the rest means nothing.
  headers.push(['x-user', user]);
  left -= cost('x-user', user);

  /** Returns whether the value was sent. */
  const scalar = (name: string, raw: string): boolean => {
    const value = headerForm(raw, false);
    if (typeof value !== 'string' || value.length > MAX_SCALAR) {
      omitted.push(name);
      return false;
    }
    if (cost(name, value) > left) {
      truncated.push(name);
      return false;
    }
    left -= cost(name, value);
    headers.push([name, value]);
    return true;
  };
  /** Returns the raw items sent (with the marker when cut). */
  const list = (name: string, items: string[]): string[] => {
    const raw: string[] = [];
    const carried: string[] = [];
    for (const item of items) {
      const value = headerForm(item, true);
      if (typeof value === 'string' && value.length <= MAX_SCALAR) {
        raw.push(item);
        carried.push(value);
      }
    }
    if (raw.length < items.length) omitted.push(name);
    if (carried.length === 0) return [];
    const full = carried.join(',');
    if (cost(name, full) <= left) {
      left -= cost(name, full);
      headers.push([name, full]);
      return raw;
    }
    truncated.push(name);
    const kept: string[] = [];
    const keptRaw: string[] = [];
    let bytes = cost(name, TRUNCATION_MARKER);
    for (const [i, value] of carried.entries()) {
      if (bytes + value.length + 1 > left) break;
      bytes += value.length + 1;
      kept.push(value);
      keptRaw.push(raw[i]!);
    }
    if (bytes > left) return [];
    kept.push(TRUNCATION_MARKER);
    keptRaw.push(TRUNCATION_MARKER);
    left -= bytes;
    headers.push([name, kept.join(',')]);
    return keptRaw;
  };

  const forwarded: Identity = { user: identity.user };
  if (identity.email && scalar('x-user-email', identity.email)) forwarded.email = identity.email;
  if (identity.name && scalar('x-user-name', identity.name)) forwarded.name = identity.name;
  if (identity.groups && identity.groups.length > 0) {
    const sent = list('x-user-groups', identity.groups);
    if (sent.length > 0) forwarded.groups = sent;
  }

  for (const { claim, header } of options.claimHeaders) {
    const value = own(claims, claim);
    if (typeof value === 'string' && value !== '') scalar(header, value);
    else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') scalar(header, String(value));
    else {
      const items = listOf(value);
      if (items && items.length > 0) list(header, items);
    }
  }
  return { identity: forwarded, headers, truncated: [...new Set(truncated)], omitted: [...new Set(omitted)] };
}

/** Arrays of strings/numbers (other items are left out); a single string is a list of one. */
function listOf(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value !== '' ? [value] : undefined;
  if (!Array.isArray(value)) return undefined;
  return value
    .filter((item): item is string | number => (typeof item === 'string' && item !== '') || (typeof item === 'number' && Number.isFinite(item)))
    .map(String);
}

// --- Carrying a value exactly -----------------------------------------------------------------------

// eslint-disable-next-line no-control-regex
const CONTROL = /\p{Cc}/u;
/** JavaScript's \s: ASCII whitespace and Unicode spaces (NBSP, U+2028…), which trimming code also eats. */
const EDGE_SPACE = /^\s|\s$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const PLAIN = /^[\x20-\x7e]*$/;
/** Anything an RFC 8187 decoder could take for `charset'language'value`. */
const LOOKS_ENCODED = /^[A-Za-z0-9!#$%&+^_`{}~.-]*'[A-Za-z0-9-]*'/;
/** RFC 8187 3.2.1 attr-char: left as is in the encoded form; every other byte becomes %XX. */
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

/**
 * The header form of one value: the value itself when it is plain ASCII, else the RFC 8187 form.
 * A value that no form carries exactly (control characters, whitespace at an edge, a comma inside a
 * list item, broken UTF-16) has a `problem` instead.
 */
export function headerForm(value: string, inList: boolean): string | { problem: string } {
  if (value === '') return { problem: 'is empty' };
  if (CONTROL.test(value)) return { problem: 'contains control characters' };
  if (EDGE_SPACE.test(value)) return { problem: 'starts or ends with whitespace' };
  if (inList && value.includes(',')) return { problem: 'contains a comma inside a list item' };
  if (LONE_SURROGATE.test(value)) return { problem: 'is not valid Unicode' };
  if (PLAIN.test(value) && !LOOKS_ENCODED.test(value)) return value;
  let out = ENCODED_PREFIX;
  for (const byte of utf8.encode(value)) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && ATTR_CHAR.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Own claims only: a claim named `constructor` or `toString` is never read from Object.prototype. */
function own(claims: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(claims, name) ? claims[name] : undefined;
}
