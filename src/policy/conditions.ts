/**
 * A rule's policy (docs/routes.md "Policy: allow, deny, allow_any"): `deny` (any condition that holds
 * refuses, and wins), `allow` (every condition must hold) and `allow_any` (at least one table must
 * hold). A condition table holds identity keys (allow.ts: emails, email_domains, groups, claims),
 * sign-in keys (`amr`, `acr`, `email_verified`) and network keys (`ips`, `countries`, `asns`).
 *
 * Pure: the request's network facts come in as plain data (routes/gate.ts reads them from
 * `CF-Connecting-IP` and `request.cf`, never from X-Forwarded-For & co., which any client can send).
 *
 * When unsure, deny: a network fact the platform did not give (no CF-Connecting-IP, no `request.cf`,
 * an address that does not parse) satisfies no `allow` condition on it and DOES satisfy every `deny`
 * condition on it. A missing claim is the IdP's answer "no": it satisfies neither.
 */

import { checkAllow, claimMatches, parseEmail, type Allow, type AllowOptions } from './allow';
import { cidrContains, parseIp, type Cidr } from './cidr';
import { emailVerified } from './identity';

export interface Conditions extends Allow {
  /** CIDR ranges the client's address (CF-Connecting-IP) must fall in. */
  readonly ips?: readonly Cidr[];
  /** ISO 3166-1 alpha-2 codes as Cloudflare gives them in `request.cf.country` (upper case; `T1` Tor, `XX` unknown). */
  readonly countries?: readonly string[];
  /** Autonomous system numbers (`request.cf.asn`). */
  readonly asns?: readonly number[];
  /** Authentication methods the sign-in's `amr` must all name (RFC 8176: `mfa`, `hwk`, `otp`…). */
  readonly amr?: readonly string[];
  /** Accepted `acr` values (exact). Unlike the rule's `acr_values`, a miss is a 403, not a new sign-in. */
  readonly acr?: readonly string[];
  /** Whether the email must be verified (true) or must not be (false); see identity.ts emailVerified. */
  readonly email_verified?: boolean;
}

export const CONDITION_KEYS = ['emails', 'email_domains', 'groups', 'claims', 'ips', 'countries', 'asns', 'amr', 'acr', 'email_verified'] as const;
export type ConditionKey = (typeof CONDITION_KEYS)[number];
/** Conditions judged on the connection, not the user: the only ones a public rule's `deny` may use. */
export const NETWORK_KEYS = ['ips', 'countries', 'asns'] as const;

export interface Policy {
  readonly allow?: Conditions;
  readonly deny?: Conditions;
  readonly allow_any?: readonly Conditions[];
}

/** A rule's policy as text, for spotting identical rules (rules.ts): lists in any order read the same. */
export function policyText(policy: Policy): string {
  return [policy.allow, policy.deny, policy.allow_any].map((part) => canonical(part ?? null)).join(' ');
}

function canonical(value: unknown): string {
  if (typeof value === 'bigint') return `"${value.toString(16)}"`;
  if (Array.isArray(value)) return `[${value.map(canonical).sort().join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const table = value as Record<string, unknown>;
    return `{${Object.keys(table).sort().map((key) => `${JSON.stringify(key)}:${canonical(table[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What the platform says about the connection; undefined = not known. */
export interface NetworkFacts {
  /** CF-Connecting-IP as sent by Cloudflare. */
  ip?: string;
  country?: string;
  asn?: number;
}

/** Why a policy refused, in operator terms (`condition`) and in the user's (`missing`, no claim values of theirs). */
export type PolicyResult = { ok: true } | { ok: false; denied: boolean; condition: string; missing: string };

const OK: PolicyResult = Object.freeze({ ok: true });

/** The network facts of a request, from the one header Cloudflare sets and clients cannot (CF-Connecting-IP) and `request.cf`. */
export function networkFacts(connectingIp: string | null, cf: unknown): NetworkFacts {
  const facts: NetworkFacts = {};
  if (connectingIp) facts.ip = connectingIp;
  if (typeof cf === 'object' && cf !== null) {
    const { country, asn } = cf as { country?: unknown; asn?: unknown };
    if (typeof country === 'string' && country !== '') facts.country = country;
    if (typeof asn === 'number' && Number.isInteger(asn)) facts.asn = asn;
  }
  return facts;
}

/**
 * Whether any condition of the policy is on the network: only then are the request's network facts
 * read (`request.cf` is parsed on first access in workerd; most rules never need it).
 */
export function usesNetwork(policy: Policy): boolean {
  const on = (conditions: Conditions | undefined) => conditions !== undefined && (conditions.ips !== undefined || conditions.countries !== undefined || conditions.asns !== undefined);
  return on(policy.allow) || on(policy.deny) || (policy.allow_any?.some(on) ?? false);
}

/**
 * The network part of `deny`, judged before anyone is asked to sign in: a refused network gets a
 * 403 at once (also on public rules and for CORS preflights), not a sign-in it cannot use.
 */
export function checkNetworkDeny(policy: Policy, network: NetworkFacts): PolicyResult {
  if (!policy.deny) return OK;
  for (const key of NETWORK_KEYS) {
    if (policy.deny[key] !== undefined && networkHolds(policy.deny, key, network) !== false) return refused(key);
  }
  return OK;
}

/** The whole policy for a known principal: deny first (it wins), then allow, then allow_any. */
export function checkPolicy(policy: Policy, claims: Record<string, unknown>, network: NetworkFacts, options: AllowOptions = {}): PolicyResult {
  if (policy.deny) {
    const denied = checkNetworkDeny(policy, network);
    if (!denied.ok) return denied;
    const key = identityDenyHolds(policy.deny, claims, options);
    if (key) return refused(key);
  }
  if (policy.allow) {
    const result = checkConditions(policy.allow, claims, network, options);
    if (!result.ok) return { ok: false, denied: false, condition: `allow: ${result.failed.join(', ')}`, missing: result.missing };
  }
  if (policy.allow_any) {
    const misses: string[] = [];
    for (const table of policy.allow_any) {
      const result = checkConditions(table, claims, network, options);
      if (result.ok) return OK;
      misses.push(result.missing);
    }
    return { ok: false, denied: false, condition: 'allow_any', missing: misses.length === 1 ? misses[0]! : `either ${misses.map((miss) => `(${miss})`).join(' or ')}` };
  }
  return OK;
}

// --- allow: every key must hold ----------------------------------------------------------------------

type TableResult = { ok: true } | { ok: false; failed: ConditionKey[]; missing: string };

function checkConditions(table: Conditions, claims: Record<string, unknown>, network: NetworkFacts, options: AllowOptions): TableResult {
  const failed: ConditionKey[] = [];
  const missing: string[] = [];
  const identity = checkAllow(table, claims, options);
  if (!identity.ok) {
    failed.push(...identity.failed);
    missing.push(identity.missing);
  }
  for (const key of NETWORK_KEYS) {
    if (table[key] !== undefined && networkHolds(table, key, network) !== true) {
      failed.push(key);
      missing.push(ALLOW_TEXT[key](table));
    }
  }
  for (const key of ['amr', 'acr', 'email_verified'] as const) {
    if (table[key] !== undefined && !signInHolds(table, key, claims, options)) {
      failed.push(key);
      missing.push(ALLOW_TEXT[key](table));
    }
  }
  return failed.length === 0 ? { ok: true } : { ok: false, failed, missing: [...new Set(missing)].join('; ') };
}

/** What an unmet allow condition asks for, shown to the user: configured values only, no network ranges. */
const ALLOW_TEXT: Record<'ips' | 'countries' | 'asns' | 'amr' | 'acr' | 'email_verified', (table: Conditions) => string> = {
  ips: () => 'a connection from an allowed network',
  countries: (t) => `a connection from ${oneOf(t.countries!)}`,
  asns: () => 'a connection through an allowed network provider',
  amr: (t) => `a sign-in using ${t.amr!.join(' and ')} (amr)`,
  acr: (t) => `a sign-in at level ${oneOf(t.acr!)} (acr)`,
  email_verified: (t) => (t.email_verified ? 'a verified email address (the identity provider has not verified yours)' : 'an account without a verified email address'),
};

// --- deny: any key that holds refuses ----------------------------------------------------------------

/** The first identity or sign-in key of `deny` that holds, or undefined. */
function identityDenyHolds(deny: Conditions, claims: Record<string, unknown>, options: AllowOptions): ConditionKey | undefined {
  // Judged on the address even when it is unverified: refusing more is the safe mistake here.
  const raw = Object.hasOwn(claims, 'email') ? claims['email'] : undefined;
  const email = typeof raw === 'string' ? parseEmail(raw) : undefined;
  if (deny.emails && email && deny.emails.includes(`${email.local}@${email.domain}`)) return 'emails';
  if (deny.email_domains && email && deny.email_domains.includes(email.domain)) return 'email_domains';
  if (deny.groups) {
    const groups = Object.hasOwn(claims, 'groups') ? claims['groups'] : undefined;
    const list = typeof groups === 'string' ? [groups] : Array.isArray(groups) ? groups : [];
    if (list.some((group) => typeof group === 'string' && deny.groups!.includes(group))) return 'groups';
  }
  if (deny.claims) {
    // Each claim is a condition of its own: any one that holds refuses.
    for (const name of Object.keys(deny.claims)) {
      if (claimMatches(Object.hasOwn(claims, name) ? claims[name] : undefined, deny.claims[name]!)) return 'claims';
    }
  }
  for (const key of ['amr', 'acr', 'email_verified'] as const) {
    if (deny[key] !== undefined && signInHolds(deny, key, claims, options)) return key;
  }
  return undefined;
}

function refused(key: ConditionKey): PolicyResult {
  return { ok: false, denied: true, condition: `deny: ${key}`, missing: DENY_TEXT[key] };
}

/** Completes "This page is not available …": what about the request was refused, not the user's values. */
const DENY_TEXT: Record<ConditionKey, string> = {
  emails: 'to your account',
  email_domains: 'to accounts at your email domain',
  groups: 'to members of one of your groups',
  claims: 'to your account (a claim it carries)',
  ips: 'from your network',
  countries: 'from your country',
  asns: 'through your network provider',
  amr: 'with the way you signed in (amr)',
  acr: 'at the level you signed in with (acr)',
  email_verified: 'to your account (email verification)',
};

// --- single conditions -------------------------------------------------------------------------------

/** true / false, or undefined when the fact is not known (the caller decides what unknown means). */
function networkHolds(table: Conditions, key: 'ips' | 'countries' | 'asns', network: NetworkFacts): boolean | undefined {
  switch (key) {
    case 'ips': {
      const ip = network.ip === undefined ? undefined : parseIp(network.ip);
      return ip === undefined ? undefined : table.ips!.some((range) => cidrContains(range, ip));
    }
    case 'countries':
      return network.country === undefined ? undefined : table.countries!.includes(asciiUpperCase(network.country));
    case 'asns':
      return network.asn === undefined ? undefined : table.asns!.includes(network.asn);
  }
}

function signInHolds(table: Conditions, key: 'amr' | 'acr' | 'email_verified', claims: Record<string, unknown>, options: AllowOptions): boolean {
  const claim = Object.hasOwn(claims, key) ? claims[key] : undefined;
  switch (key) {
    case 'amr': {
      // RFC 8176 / Core 2: amr is a JSON array of strings; anything else names no method.
      const methods = Array.isArray(claim) ? claim.filter((m): m is string => typeof m === 'string') : [];
      return table.amr!.every((method) => methods.includes(method));
    }
    case 'acr':
      return typeof claim === 'string' && table.acr!.includes(claim);
    case 'email_verified':
      return emailVerified(claims, options.assumeEmailVerified === true) === table.email_verified;
  }
}

/** ASCII only, as allow.ts folds domains: no look-alike letter becomes a listed code. */
function asciiUpperCase(value: string): string {
  return value.replace(/[a-z]+/g, (run) => run.toUpperCase());
}

function oneOf(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : `one of: ${values.join(', ')}`;
}
