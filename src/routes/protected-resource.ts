import type { Config } from '../config';
import type { RequestContext } from '../context';
import { GatewayError } from '../http/errors';
import { apiChallenge, metadataDocument, metadataUrl } from '../oidc/resource-metadata';
import type { RouteRule } from '../policy/rules';

/**
 * `GET /.well-known/oauth-protected-resource[/<path>]`: the RFC 9728 metadata of each API the
 * gateway accepts access tokens for, and the `resource_metadata` pointer every `api` refusal carries.
 */

interface ProtectedResource {
  /** The resource identifier: the audience access tokens must name (API_AUDIENCE). */
  resource: string;
  /** The issuers whose tokens are accepted for it. */
  authorizationServers: string[];
}

/**
 * The APIs this configuration protects: one per accepted audience (API_AUDIENCE, or each IdP's
 * `api_audience` with IDPS), naming every IdP whose tokens are accepted for it.
 */
function protectedResources(config: Config, idps?: readonly string[]): ProtectedResource[] {
  const byAudience = new Map<string, string[]>();
  for (const idp of config.idps) {
    if (!idp.apiAudience || (idps && !idps.includes(idp.name))) continue;
    const servers = byAudience.get(idp.apiAudience) ?? [];
    if (!servers.includes(idp.issuer)) servers.push(idp.issuer);
    byAudience.set(idp.apiAudience, servers);
  }
  return [...byAudience].map(([resource, authorizationServers]) => ({ resource, authorizationServers }));
}

/**
 * The metadata document when this URL is one of ours; null otherwise, and the request then goes on
 * like any other (an origin may publish metadata of its own for resources the gateway does not guard).
 */
export function handleProtectedResource(ctx: RequestContext): Response | null {
  const here = `${ctx.url.origin}${ctx.url.pathname}`;
  const found = protectedResources(ctx.config).find((entry) => metadataUrl(entry.resource, ctx.url.origin) === here);
  if (!found) return null;
  const document = metadataDocument({
    resource: found.resource,
    authorizationServers: found.authorizationServers,
    origin: ctx.url.origin,
    hostname: ctx.url.hostname,
    rules: ctx.config.routes,
    name: ctx.config.apiResourceName,
    documentation: ctx.config.apiDocumentationUrl,
  });
  return new Response(ctx.request.method === 'HEAD' ? null : JSON.stringify(document), {
    headers: {
      'content-type': 'application/json',
      // Public and the same for everyone: browser-based clients (MCP inspectors) read it cross-origin,
      // without credentials; a deploy that changes it is seen within minutes.
      'access-control-allow-origin': '*',
      'cache-control': 'public, max-age=300',
      'x-content-type-options': 'nosniff',
    },
  });
}

/**
 * An `api` rule's refusal, as programs get it: JSON, and on 401/403 a challenge that says where the
 * metadata is (RFC 9728 5.1), which scopes the rule needs and which schemes it takes (api challenges:
 * oidc/resource-metadata.ts). Without API_AUDIENCE no token is accepted, so nothing is advertised.
 */
export function apiRefusal(ctx: RequestContext, rule: RouteRule, error: GatewayError): GatewayError {
  const challenge = error.headers['www-authenticate'];
  // The rule's IdPs (`idps`) decide whose tokens count: the first audience among them is advertised.
  const resource = protectedResources(ctx.config, rule.idps)[0];
  if (!resource || !challenge || (error.status !== 401 && error.status !== 403)) return error.with({ json: true });
  const headers = {
    ...error.headers,
    'www-authenticate': apiChallenge(challenge, {
      resourceMetadata: metadataUrl(resource.resource, ctx.url.origin),
      scopes: rule.scopes,
      dpop: rule.dpop ?? 'allowed',
    }),
  };
  return error.with({ json: true, headers });
}
