import { ASYMMETRIC_ALGS } from '../config/schema';
import type { RouteRule } from '../policy/rule';

/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for the API the gateway guards: how a client (an
 * MCP client, an SDK, a CLI) that met a 401 learns which authorization server issues tokens for it,
 * with which scopes, and how to present them. Pure: the caller supplies the origin and settings.
 */

/** RFC 9728 3: the well-known path, inserted between the host and the resource's path. */
export const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** Algorithms accepted for DPoP proofs (RFC 9449 5.1): asymmetric only, as for every JWS the gateway verifies. */
export const DPOP_ALGS: readonly string[] = ASYMMETRIC_ALGS;

/**
 * Where the metadata of `resource` is published when the gateway answers at `origin` (RFC 9728 3.1).
 * A resource identifier on this origin has its own URL, formed from it as 3.1 says (`https://h/mcp`
 * → `https://h/.well-known/oauth-protected-resource/mcp`), so a client can check `resource` against
 * the URL it called (3.3). Any other identifier (Entra ID's `api://…`, a URL of another host) cannot be
 * formed into a URL here: its document is published at the origin's root well-known URL.
 */
export function metadataUrl(resource: string, origin: string): string {
  const local = localPath(resource, origin);
  return `${origin}${WELL_KNOWN}${local ?? ''}`;
}

/** The path of a resource identifier on this origin ('' for the origin itself), or null when it is not one. */
function localPath(resource: string, origin: string): string | null {
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    return null;
  }
  if (url.origin !== origin || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return null;
  // 3.1: a terminating slash after the host is removed before the well-known path is inserted.
  return url.pathname === '/' ? '' : url.pathname;
}

export interface MetadataInput {
  resource: string;
  /** Issuer identifiers of the authorization servers whose tokens the gateway accepts for the resource. */
  authorizationServers: readonly string[];
  /** The request's origin and host name. */
  origin: string;
  hostname: string;
  rules: readonly RouteRule[];
  /** API_RESOURCE_NAME; default: the host name. */
  name: string | undefined;
  /** API_DOCUMENTATION_URL. */
  documentation: string | undefined;
}

/** The `api` rules that apply on this host. */
function apiRules(rules: readonly RouteRule[], hostname: string): RouteRule[] {
  return rules.filter((rule) => rule.auth === 'api' && (rule.host === undefined || rule.host === hostname));
}

/** RFC 9728 2: the metadata document. */
export function metadataDocument(input: MetadataInput): Record<string, unknown> {
  const rules = apiRules(input.rules, input.hostname);
  const scopes = [...new Set(rules.flatMap((rule) => rule.scopes ?? []))].sort();
  const dpopRequired = rules.length > 0 && rules.every((rule) => rule.dpop === 'required');
  return {
    resource: input.resource,
    authorization_servers: [...input.authorizationServers],
    ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
    // Only the Authorization header (RFC 6750 2.1): form bodies and query strings leak into logs and caches.
    bearer_methods_supported: ['header'],
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
    ...(dpopRequired ? { dpop_bound_access_tokens_required: true } : {}),
    resource_name: input.name ?? input.hostname,
    ...(input.documentation ? { resource_documentation: input.documentation } : {}),
  };
}

export interface ChallengeOptions {
  /** The metadata URL (RFC 9728 5.1 `resource_metadata`). */
  resourceMetadata: string;
  /** The rule's required scopes (RFC 6750 3 `scope`). */
  scopes: readonly string[] | undefined;
  /** The rule's `dpop`: with "required", only the DPoP scheme is offered. */
  dpop: 'allowed' | 'required';
}

/**
 * The `WWW-Authenticate` of an `api` rule's 401/403, from the challenge the refusal carries: the scheme
 * that failed keeps its error; `resource_metadata` (RFC 9728 5.1) and, where the rule requires scopes,
 * `scope` are added; both schemes the rule accepts are offered, DPoP with its `algs` (RFC 9449 7.1).
 * Several challenges in one field value are the same as several fields (RFC 9110 11.6.1).
 */
export function apiChallenge(existing: string | undefined, options: ChallengeOptions): string {
  const match = existing ? /^(Bearer|DPoP)(?:\s+(.*))?$/i.exec(existing.trim()) : null;
  const failed = match ? (match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer') : 'Bearer';
  let params = match?.[2] ?? 'realm="edgegate"';
  params += `, resource_metadata="${options.resourceMetadata}"`;
  if (options.scopes && !/(^|[\s,])scope=/.test(params)) params += `, scope="${options.scopes.join(' ')}"`;
  const algs = `algs="${DPOP_ALGS.join(' ')}"`;
  const other = `realm="edgegate", resource_metadata="${options.resourceMetadata}"`;
  if (failed === 'DPoP') {
    const dpop = `DPoP ${params}, ${algs}`;
    return options.dpop === 'required' ? dpop : `${dpop}, Bearer ${other}`;
  }
  // A rule that requires DPoP offers only DPoP: the Bearer refusal's error is told in that scheme.
  if (options.dpop === 'required') return `DPoP ${params}, ${algs}`;
  return `Bearer ${params}, DPoP ${other}, ${algs}`;
}
