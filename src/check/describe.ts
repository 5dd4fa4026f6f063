import { idpsOfRule, type IdpSummary } from '../config/idps';
import { cidrText } from '../policy/cidr';
import type { Conditions } from '../policy/conditions';
import type { RouteRule } from '../policy/rules';

/**
 * Plain-language text for what a rule requires, for the `check` command. Operator-facing: unlike the
 * 403 page, it may list the configured addresses.
 */

export function ruleHeading(rule: RouteRule): string {
  if (rule.index < 0) return 'no rule matches → default';
  const where = [`ROUTES[${rule.index}] path "${rule.path}"`];
  if (rule.host) where.push(`host ${rule.host}`);
  if (rule.methods) where.push(`methods ${rule.methods.join(', ')}`);
  return where.join(', ');
}

export function ruleRequirements(rule: RouteRule): string[] {
  const lines = [AUTH_TEXT[rule.auth]];
  if (rule.scopes) lines.push(`bearer tokens need scope${rule.scopes.length > 1 ? 's' : ''}: ${rule.scopes.join(' ')}`);
  if (rule.deny) lines.push(`deny (any that holds refuses, first; an unknown network fact refuses too): ${describeAllow(rule.deny, true)}`);
  if (rule.allow) lines.push(`allow (all must hold): ${describeAllow(rule.allow)}`);
  if (rule.allow_any) lines.push(`allow_any (one must hold): ${rule.allow_any.map((table) => `[${describeAllow(table)}]`).join(' or ')}`);
  const stepUp: string[] = [];
  if (rule.acr_values) stepUp.push(`acr ${rule.acr_values.length > 1 ? 'one of ' : ''}${rule.acr_values.join(', ')}`);
  if (rule.max_age !== undefined) stepUp.push(`signed in within the last ${rule.max_age} s (max_age)`);
  if (stepUp.length > 0) lines.push(`step-up: ${stepUp.join('; ')}; otherwise sign in again`);
  if (rule.cors_preflight) lines.push('CORS preflights (OPTIONS) pass to the upstream without a session');
  if (rule.upstream) lines.push(`upstream: ${rule.upstream.href}`);
  return lines;
}

/**
 * Who may sign in on a rule with several IdPs (IDPS): the rule's `idps`, the set the worker's chooser
 * offers (config/idps.ts idpsOfRule), and for `api` rules whose bearer tokens count (oidc/bearer-idps.ts).
 * Nothing with the single IdP of the `OIDC_*` settings, or on public rules, which sign no one in.
 */
export function describeIdps(rule: RouteRule, idps: readonly IdpSummary[]): string[] {
  if (rule.auth === 'public' || !idps.some((idp) => idp.fromIdps)) return [];
  const allowed = idpsOfRule(idps, rule.idps);
  const named = allowed.map((idp) => (idp.displayName === idp.name ? idp.name : `${idp.name} ("${idp.displayName}")`)).join(', ');
  if (rule.auth === 'session') {
    if (allowed.length === 1) return [`may sign in: ${named}; a navigation goes straight there`];
    const domains = allowed.flatMap((idp) => idp.emailDomains);
    return [`may sign in: ${named}; a navigation gets the chooser${domains.length > 0 ? ` (an email at ${domains.join(', ')} goes straight to its IdP)` : ''}`];
  }
  const bearer = allowed.filter((idp) => idp.apiAudience !== undefined);
  const lines = [`sessions from: ${named}`];
  if (bearer.length === 0) lines.push('bearer tokens: none accepted (no api_audience among these IdPs)');
  else lines.push(`bearer tokens from: ${bearer.map((idp) => `${idp.name} (aud ${idp.apiAudience})`).join(', ')}${bearer.length > 1 ? '; JWTs only, each checked by the IdP its iss names (opaque tokens are refused)' : ''}`);
  return lines;
}

const AUTH_TEXT: Record<RouteRule['auth'], string> = {
  public: 'public: anyone; identity is forwarded only when a valid session is present',
  session: 'session: a signed-in user; browsers are sent to sign in, programs get 401',
  api: 'api: a session cookie or an Authorization: Bearer access token; never redirects (401 + WWW-Authenticate)',
};

/** `deny`: emails are matched verified or not (policy/conditions.ts). */
export function describeAllow(allow: Conditions, deny = false): string {
  const parts: string[] = [];
  if (allow.emails) parts.push(`email ${list(allow.emails)}`);
  if (allow.email_domains) parts.push(`email at ${list(allow.email_domains)}`);
  if ((allow.emails || allow.email_domains) && !deny) parts[parts.length - 1] += ' (email_verified must be true)';
  if (allow.groups) parts.push(`group ${list(allow.groups)}`);
  if (allow.claims) {
    for (const name of Object.keys(allow.claims)) {
      const test = allow.claims[name]!;
      if ('present' in test) parts.push(`claim ${name} present`);
      else if ('min' in test) parts.push(`claim ${name} ≥ ${test.min}`);
      else {
        const values = test.map((value) => JSON.stringify(value));
        parts.push(`claim ${name} = ${values.length > 1 ? `one of ${values.join(', ')}` : values[0]}`);
      }
    }
  }
  // Operator-facing: the configured ranges are shown as written in canonical form.
  if (allow.ips) parts.push(`client address in ${list(allow.ips.map(cidrText))}`);
  if (allow.countries) parts.push(`country ${list(allow.countries)}`);
  if (allow.asns) parts.push(`AS ${list(allow.asns.map(String))}`);
  if (allow.amr) parts.push(`amr includes ${allow.amr.join(' and ')}`);
  if (allow.acr) parts.push(`acr ${list(allow.acr)}`);
  if (allow.email_verified !== undefined) parts.push(`email_verified ${allow.email_verified}`);
  return parts.join(' · ');
}

function list(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : `one of ${values.join(', ')}`;
}
