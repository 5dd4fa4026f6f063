/**
 * What the upstream is told about the user, from the session's (or access token's) claims: the
 * built-in X-User headers, the operator's CLAIM_HEADERS, all within one size budget. Only well-typed
 * values are used: a claim of an unexpected shape is left out rather than stringified.
 */
export interface Identity {
  user: string;
  email?: string;
  name?: string;
  groups?: string[];
}

export interface ClaimHeader {
  claim: string;
  /** Lower-case header name. */
  header: string;
}

export interface IdentityHeaderOptions {
  claimHeaders: readonly ClaimHeader[];
  /** Bytes for all identity headers together (names + values); lists are truncated to fit. */
  budget: number;
}

export interface IdentityHeaders {
  /** The identity as forwarded (groups possibly truncated): also what X-User-Jwt states. */
  identity: Identity;
  headers: [name: string, value: string][];
  /** Headers cut or left out to stay within the budget, for the operator's log line. */
  truncated: string[];
}

/** Marks a list that was cut short: never a real group name, so it can grant nothing. */
export const TRUNCATION_MARKER = '...';
/** A single value longer than this is cut: no legitimate name, email or id comes close. */
const MAX_SCALAR = 1024;
const utf8 = new TextEncoder();

export function identityFromClaims(sub: string, claims: Record<string, unknown>, userClaim: string): Identity {
  const chosen = claims[userClaim];
  const user = typeof chosen === 'string' && chosen !== '' ? chosen : typeof chosen === 'number' ? String(chosen) : sub;
  const identity: Identity = { user };
  // An address the IdP says it has not verified could belong to anyone: never forward it as identity.
  if (typeof claims['email'] === 'string' && claims['email_verified'] !== false) identity.email = claims['email'];
  const name = typeof claims['name'] === 'string' ? claims['name'] : claims['preferred_username'];
  if (typeof name === 'string' && name !== '') identity.name = name;
  const groups = listOf(claims['groups']);
  if (groups) identity.groups = groups;
  return identity;
}

export function identityHeaders(identity: Identity, claims: Record<string, unknown>, options: IdentityHeaderOptions): IdentityHeaders {
  const headers: [string, string][] = [];
  const truncated: string[] = [];
  let left = options.budget;
  const cost = (name: string, value: string) => name.length + 2 + utf8.encode(value).length;

  const scalar = (name: string, value: string) => {
    const clean = sanitize(value).slice(0, MAX_SCALAR);
    if (clean.length < value.length) truncated.push(name);
    if (cost(name, clean) > left) {
      truncated.push(name);
      return;
    }
    left -= cost(name, clean);
    headers.push([name, clean]);
  };
  const list = (name: string, items: string[]): string[] => {
    const clean = items.map(sanitize);
    const full = clean.join(',');
    if (cost(name, full) <= left) {
      left -= cost(name, full);
      headers.push([name, full]);
      return clean;
    }
    truncated.push(name);
    const kept: string[] = [];
    let bytes = cost(name, TRUNCATION_MARKER);
    for (const item of clean) {
      const add = utf8.encode(item).length + 1;
      if (bytes + add > left) break;
      bytes += add;
      kept.push(item);
    }
    if (bytes > left) return [];
    kept.push(TRUNCATION_MARKER);
    left -= bytes;
    headers.push([name, kept.join(',')]);
    return kept;
  };

  // The user id comes first and is never cut: without it the rest means nothing.
  headers.push(['x-user', sanitize(identity.user).slice(0, MAX_SCALAR)]);
  left -= cost('x-user', headers[0]![1]);
  if (identity.email) scalar('x-user-email', identity.email);
  if (identity.name) scalar('x-user-name', identity.name);
  const forwarded: Identity = { user: identity.user, ...(identity.email ? { email: identity.email } : {}), ...(identity.name ? { name: identity.name } : {}) };
  if (identity.groups && identity.groups.length > 0) forwarded.groups = list('x-user-groups', identity.groups);

  for (const { claim, header } of options.claimHeaders) {
    const value = claims[claim];
    if (typeof value === 'string' && value !== '') scalar(header, value);
    else if (typeof value === 'number' || typeof value === 'boolean') scalar(header, String(value));
    else {
      const items = listOf(value);
      if (items && items.length > 0) list(header, items);
    }
  }
  return { identity: forwarded, headers, truncated: [...new Set(truncated)] };
}

/** Arrays of strings/numbers; items with a comma would split ambiguously and are left out. */
function listOf(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value !== '' && !value.includes(',') ? [value] : undefined;
  if (!Array.isArray(value)) return undefined;
  return value
    .filter((item): item is string | number => (typeof item === 'string' && item !== '') || typeof item === 'number')
    .map(String)
    .filter((item) => !item.includes(','));
}

/** Header values must not carry CR/LF or other controls (header injection, log injection). */
function sanitize(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\x00-\x1f\x7f]/g, ' ');
}
