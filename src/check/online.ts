import type * as oauth from 'oauth4webapi';
import type { Config } from '../config';
import { withIdp } from '../config/idps';
import { isGatewayError } from '../http/errors';
import { checkIdpSupport, usesPar } from '../oidc/flow';
import { getProvider } from '../oidc/provider';

/**
 * `npm run check -- --online`: each IdP's discovery and JWKS, fetched with the worker's own code
 * (oidc/provider.ts getProvider: exact issuer, endpoints, PKCE S256, ID-token algorithms, client
 * authentication method; oidc/flow.ts: response type and mode, PAR), then what the IdP offers beside
 * what is configured: the logout channels, revocation, scopes, keys.
 */

export interface OnlineReport {
  ok: boolean;
  lines: string[];
}

/** `host`: the site's host name, for the URIs to register (undefined: shown as <host>). */
export async function onlineReport(config: Config, options: { standIns?: string[]; host?: string; fetch?: typeof fetch } = {}): Promise<OnlineReport> {
  const lines: string[] = [];
  let ok = true;
  for (const idp of config.idps) {
    const view = withIdp(config, idp.name)!;
    const prefix = config.idps.length > 1 ? `IdP ${idp.name}` : 'IdP';
    lines.push(`${prefix} ${idp.issuer} (online):`);
    // Without the client key the assertion cannot be built; discovery is still checked, the method below.
    const keyStandIn = (options.standIns ?? []).some((key) => key.startsWith('OIDC_CLIENT_KEY'));
    const probe = keyStandIn && view.clientAuth === 'private_key_jwt' ? { ...view, clientAuth: 'none' as const } : view;
    let as: oauth.AuthorizationServer;
    try {
      const provider = await quietly(() => getProvider(probe));
      as = provider.as;
      checkIdpSupport(view, as);
      lines.push(`  ✓ discovery: issuer matches exactly; PKCE S256; ID tokens signed with ${provider.idTokenAlgs.join(', ')}`);
      const par = usesPar(view, as);
      lines.push(`  ✓ PAR: ${as.require_pushed_authorization_requests ? 'required by the IdP' : typeof as.pushed_authorization_request_endpoint === 'string' ? 'offered' : 'not offered'}; OIDC_USE_PAR = ${view.usePar} → ${par ? 'requests are pushed' : 'not pushed'}`);
    } catch (error) {
      ok = false;
      lines.push(`  ✗ ${isGatewayError(error) ? (error.detail ?? error.message) : error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const methods = as.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    if (view.clientAuth !== 'none' && !methods.includes(view.clientAuth)) {
      ok = false;
      lines.push(`  ✗ client authentication: ${view.clientAuth} is not offered (the IdP offers ${methods.join(', ')})`);
    } else {
      lines.push(`  ✓ client authentication: ${view.clientAuth} (the IdP offers ${methods.join(', ')})`);
    }
    lines.push(`  ✓ response type "${view.responseType}", mode ${view.responseMode} (the IdP offers ${list(as.response_types_supported)}; modes ${list(as.response_modes_supported)})`);

    const site = `https://${options.host ?? '<host>'}`;
    const channels: string[] = [];
    if (as.backchannel_logout_supported === true) {
      channels.push(`back-channel logout supported${as.backchannel_logout_session_supported ? ' with sid' : ''}: register ${site}/_auth/backchannel-logout`);
    } else if (as['frontchannel_logout_supported'] === true) {
      channels.push(`no back-channel logout; front-channel is supported: register ${site}/_auth/frontchannel-logout`);
    } else {
      channels.push('no back- or front-channel logout advertised: a logout at the IdP does not end gateway sessions (they end with their tokens, or SSF)');
    }
    channels.push(
      typeof as.end_session_endpoint === 'string'
        ? `end_session_endpoint: sign-out also ends the IdP session (register ${site}/_auth/signed-out as post-logout URI)`
        : 'no end_session_endpoint: sign-out ends the gateway session only',
    );
    channels.push(typeof as.revocation_endpoint === 'string' ? 'revocation_endpoint: refresh tokens are revoked at sign-out' : 'no revocation_endpoint: refresh tokens are left to expire at sign-out');
    for (const line of channels) lines.push(`  · ${line}`);

    const scopes = as.scopes_supported;
    const unknown = Array.isArray(scopes) ? view.scopes.filter((scope) => !scopes.includes(scope)) : [];
    if (unknown.length > 0) lines.push(`  warning: scope${unknown.length > 1 ? 's' : ''} ${unknown.join(' ')} not in the IdP's scopes_supported (${scopes!.join(' ')})`);
    if (view.scopes.includes('offline_access') && Array.isArray(as.grant_types_supported) && !as.grant_types_supported.includes('refresh_token')) {
      lines.push('  warning: offline_access is asked for, but the IdP does not list the refresh_token grant');
    }
    const claims = as.claims_supported;
    if (Array.isArray(claims)) lines.push(`  · claims offered: ${claims.join(' ')}${claims.includes('groups') ? '' : ' (no groups: see the IdP\'s group claim settings)'}`);

    const keys = await jwksSummary(new URL(as.jwks_uri!), options.fetch ?? fetch, config.idpTimeoutMs);
    if ('problem' in keys) {
      ok = false;
      lines.push(`  ✗ JWKS ${as.jwks_uri}: ${keys.problem}`);
    } else {
      lines.push(`  ✓ JWKS: ${keys.summary}`);
    }
  }
  return { ok, lines };
}

async function jwksSummary(url: URL, fetcher: typeof fetch, timeoutMs: number): Promise<{ summary: string } | { problem: string }> {
  try {
    const response = await fetcher(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return { problem: `HTTP ${response.status}` };
    const body = (await response.json()) as { keys?: { kty?: string; alg?: string; use?: string; kid?: string }[] };
    const signing = (body.keys ?? []).filter((key) => key.use !== 'enc' && key.kty !== 'oct');
    if (signing.length === 0) return { problem: 'no public signing key' };
    return { summary: `${signing.length} signing key${signing.length > 1 ? 's' : ''} (${signing.map((key) => `${key.kty}${key.alg ? ` ${key.alg}` : ''}${key.kid ? ` kid ${key.kid.slice(0, 16)}` : ''}`).join('; ')})` };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

function list(values: unknown): string {
  return Array.isArray(values) ? values.join(', ') : '(not listed)';
}

/** getProvider logs `idp_discovered` for Workers Logs; the report says it in words instead. */
async function quietly<T>(run: () => Promise<T>): Promise<T> {
  const saved = console.log;
  console.log = () => {};
  try {
    return await run();
  } finally {
    console.log = saved;
  }
}
