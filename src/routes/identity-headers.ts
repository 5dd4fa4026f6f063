import { loadAssertionKeys } from '../assertion/keys';
import { userAssertion } from '../assertion/sign';
import { log } from '../http/log';
import type { Principal } from '../policy/decide';
import { identityFromClaims, identityHeaders, type IdentityHeaders, type Unusable } from '../policy/identity';
import { GatewayError } from '../http/errors';
import type { Config } from '../config';
import { DEFAULT_IDP, withIdp } from '../config/idps';
import type { RouteRule } from '../policy/rules';
import type { RequestContext } from '../context';
import type { Current } from '../lifecycle/current';

/**
 * The X-User headers of one principal, computed once per claims object and configuration: a cached
 * session's claims object is shared (and frozen) across its requests, so repeat requests reuse this.
 * A user who cannot be named exactly (policy/identity.ts) is refused, and remembered as such.
 */
const memo = new WeakMap<object, { config: Config; value: IdentityHeaders | Unusable }>();
function identityFor(principal: Principal, config: Config): IdentityHeaders {
  const hit = memo.get(principal.claims);
  let value = hit && hit.config === config ? hit.value : undefined;
  if (!value) {
    // The claims are those of the IdP that signed the user in, read with its settings (OIDC_ASSUME_EMAIL_VERIFIED).
    const idp = principal.idp ?? DEFAULT_IDP;
    const identity = identityFromClaims(principal.sub, principal.claims, withIdp(config, idp) ?? config);
    // USER_IDP_QUALIFIED: `corp:alice` — IdP names hold no `:`, so the first one ends the name.
    if (!('unusable' in identity) && config.idpsConfigured && config.userIdpQualified) identity.user = `${idp}:${identity.user}`;
    value = 'unusable' in identity ? identity : identityHeaders(identity, principal.claims, { claimHeaders: config.claimHeaders, budget: config.identityHeaderBudget });
    // Logged when computed, so once per session and isolate rather than on every request. Names of
    // headers and the reason only: the values are the user's.
    if ('unusable' in value) log('warn', 'identity_unusable', { via: principal.via, reason: value.unusable });
    else {
      if (value.truncated.length > 0) log('warn', 'identity_headers_truncated', { headers: value.truncated, budget: config.identityHeaderBudget });
      if (value.omitted.length > 0) log('warn', 'identity_values_omitted', { headers: value.omitted, reason: 'a value could not be carried exactly (control characters, whitespace at an edge, a comma in a list item)' });
    }
    memo.set(principal.claims, { config, value });
  }
  if ('unusable' in value) {
    throw new GatewayError('identity_unusable', 'You are signed in, but your account cannot be passed on to this site: ' + value.unusable + '.', {
      detail: value.unusable,
    });
  }
  return value;
}

/**
 * Everything the gateway itself adds to a forwarded request about the user: the X-User headers,
 * CLAIM_HEADERS, the signed X-User-Jwt, and the tokens a rule asked to pass on.
 */
export async function forwardedIdentity(
  ctx: RequestContext,
  rule: RouteRule,
  principal: Principal | null,
  current: Current | null,
  bearer: string | null,
  publicUrl: URL,
  upstream: URL | undefined,
): Promise<[string, string][]> {
  if (!principal) return [];
  const config = ctx.config;
  const { identity: named, headers: base } = identityFor(principal, config);
  const headers = [...base];
  // With several IdPs the upstream is told which one vouches for the user (stripped from clients as every X-User*).
  const idp = principal.idp ?? DEFAULT_IDP;
  const identity = config.idpsConfigured ? { ...named, idp } : named;
  if (config.idpsConfigured) headers.push(['x-user-idp', idp]);

  if (config.assertionKeys) {
    const keys = await loadAssertionKeys(config.assertionKeys);
    const jwt = await userAssertion(
      keys,
      identity,
      {
        issuer: publicUrl.origin,
        audience: config.assertionAudience ?? (upstream ?? publicUrl).origin,
        method: ctx.request.method,
        htu: `${publicUrl.origin}${publicUrl.pathname}`,
        sessionKey: current ? current.handle.id : `bearer:${principal.sub}`,
      },
      ctx.now,
    );
    headers.push(['x-user-jwt', jwt]);
  }

  // Pass-through is opt-in per rule; the session's tokens are the refreshed ones (keepFresh ran).
  const accessToken = current ? current.session.accessToken : bearer;
  if (rule.pass_access_token && accessToken) {
    headers.push(rule.pass_access_token === 'bearer' ? ['authorization', `Bearer ${accessToken}`] : ['x-forwarded-access-token', accessToken]);
  }
  if (rule.pass_id_token && current?.session.idToken) headers.push(['x-forwarded-id-token', current.session.idToken]);
  return headers;
}
