import type { AllowOptions } from './allow';
import { checkNetworkDeny, checkPolicy, type NetworkFacts } from './conditions';
import type { RouteRule } from './rules';

/**
 * Who is asking: a signed-in session, or the holder of a bearer access token (api rules only).
 * Plain data, so the whole decision below is a pure function a test can drive with a table.
 */
export interface Principal {
  via: 'session' | 'bearer';
  sub: string;
  claims: Record<string, unknown>;
  /** Bearer tokens only: the scopes the token carries. */
  scopes?: readonly string[];
  /** The identity provider that signed the user in or issued the token (absent: `default`). */
  idp?: string;
}

export interface RequestFacts {
  /** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
  preflight: boolean;
  /** A page navigation that can be redirected to sign in (GET/HEAD from a browser, not a program). */
  navigation: boolean;
  /** CF-Connecting-IP and `request.cf` (conditions.ts networkFacts); absent = nothing known. */
  network?: NetworkFacts;
}

/** What a rule with `acr_values` / `max_age` asks of the sign-in. */
export interface StepUp {
  acr_values?: readonly string[];
  max_age?: number;
  /** True when the session is too old: the IdP must authenticate the user again (prompt=login). */
  reauthenticate: boolean;
}

export type Verdict =
  | { action: 'forward'; principal: Principal | null }
  | { action: 'sign-in'; stepUp?: StepUp }
  | { action: 'unauthenticated'; stepUp?: StepUp }
  /** `missing` completes "this page requires …" (allow) or "is not available …" (`denied`); `condition` names it for operators. */
  | { action: 'forbidden'; missing: string; condition: string; denied: boolean }
  | { action: 'insufficient-scope'; scopes: readonly string[] };

/**
 * The whole access decision for one request, in the order a reader would check it:
 * preflight pass-through, public routes, who is asking, how recently and strongly they signed in,
 * whether the rule's policy holds (deny, allow, allow_any), and (bearer tokens) whether the token's scopes suffice.
 */
export function decide(rule: RouteRule, principal: Principal | null, request: RequestFacts, now: number, clockSkew: number, allowOptions: AllowOptions = {}): Verdict {
  // A denied network is refused before anything else: not even a preflight or a sign-in for it.
  const network = request.network ?? {};
  const denied = checkNetworkDeny(rule, network);
  if (!denied.ok) return { action: 'forbidden', missing: denied.missing, condition: denied.condition, denied: true };
  if (request.preflight && rule.cors_preflight === 'pass') return { action: 'forward', principal: null };
  if (rule.auth === 'public') return { action: 'forward', principal };

  // Bearer tokens are honoured on api rules only; elsewhere they are just a header for the upstream.
  if (!principal || (principal.via === 'bearer' && rule.auth !== 'api')) {
    if (!(rule.auth === 'session' && request.navigation)) return { action: 'unauthenticated' };
    // A step-up rule asks for its acr_values / max_age on the first sign-in already: otherwise the
    // user signs in, is found too weak, and is sent straight back to sign in again.
    const stepUp = stepUpNeeded(rule, {}, now, clockSkew);
    return stepUp ? { action: 'sign-in', stepUp: { ...stepUp, reauthenticate: false } } : { action: 'sign-in' };
  }

  // A rule naming its IdPs is not satisfied by a session from another (docs/protocols.md "Several identity
  // providers"): browsers sign in with an allowed one, everything else is refused.
  if (rule.idps && !rule.idps.includes(principal.idp ?? 'default')) {
    if (rule.auth === 'session' && request.navigation && principal.via === 'session') return { action: 'sign-in' };
    return { action: 'forbidden', missing: `a sign-in with ${rule.idps.join(' or ')}`, condition: 'idps', denied: false };
  }

  const stepUp = stepUpNeeded(rule, principal.claims, now, clockSkew);
  if (stepUp) {
    return rule.auth === 'session' && request.navigation && principal.via === 'session'
      ? { action: 'sign-in', stepUp }
      : { action: 'unauthenticated', stepUp };
  }

  const allowed = checkPolicy(rule, principal.claims, network, allowOptions);
  if (!allowed.ok) return { action: 'forbidden', missing: allowed.missing, condition: allowed.condition, denied: allowed.denied };

  if (principal.via === 'bearer' && rule.scopes) {
    const have = new Set(principal.scopes ?? []);
    if (!rule.scopes.every((scope) => have.has(scope))) return { action: 'insufficient-scope', scopes: rule.scopes };
  }
  return { action: 'forward', principal };
}

/**
 * OpenID Connect Core 3.1.2.1: `acr_values` is a request the IdP may not honour, so the `acr` it
 * actually returned is checked; `max_age` bounds the age of `auth_time`. A missing claim never
 * satisfies a requirement.
 */
export function stepUpNeeded(rule: RouteRule, claims: Record<string, unknown>, now: number, clockSkew: number): StepUp | null {
  if (!rule.acr_values && rule.max_age === undefined) return null;
  const acr = claims['acr'];
  const acrOk = !rule.acr_values || (typeof acr === 'string' && rule.acr_values.includes(acr));
  const authTime = claims['auth_time'];
  const ageOk = rule.max_age === undefined || (typeof authTime === 'number' && now - authTime <= rule.max_age + clockSkew);
  if (acrOk && ageOk) return null;
  return {
    ...(rule.acr_values ? { acr_values: rule.acr_values } : {}),
    ...(rule.max_age !== undefined ? { max_age: rule.max_age } : {}),
    reauthenticate: !ageOk,
  };
}
