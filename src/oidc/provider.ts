import * as oauth from 'oauth4webapi';
import type { JWTVerifyGetKey } from 'jose';
import type { Config } from '../config';
import { ASYMMETRIC_ALGS } from '../config/schema';
import { settingKey } from '../config/idps';
import { configProblem, GatewayError, ownCopy } from '../http/errors';
import { log } from '../http/log';
import { clientAuthentication } from './client-auth';
import { remoteJwks } from './jwks';
import { timedFetch, type Fetch } from './transport';

/** A setting's name for this IdP (`IDPS[corp].issuer`); defined with the IdPs (config/idps.ts). */
export { settingKey };

/** The options every oauth4webapi call takes; one object serves GET and POST endpoints alike. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type HttpOptions = oauth.HttpRequestOptions<any, any>;

/** Everything needed to talk to one IdP, built from discovery once per isolate. */
export interface Provider {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  jwks: JWTVerifyGetKey;
  idTokenAlgs: string[];
  fetch: Fetch;
  /** Options every oauth4webapi call gets: our deadline-bound fetch, and http only in dev. */
  httpOptions: HttpOptions;
}

/** Metadata changes rarely; an hour bounds how long a changed endpoint goes unnoticed. */
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
/** A failed discovery is remembered briefly so an IdP outage is not answered with a request storm. */
const FAILURE_TTL_MS = 5 * 1000;

interface Entry {
  value: Promise<Provider>;
  expiresAt: number;
}
const providers = new Map<string, Entry>();

export function getProvider(config: Config, now = Date.now()): Promise<Provider> {
  // Everything discover() reads from the config is part of the key. It used to omit idTokenAlgs
  // (and clockSkew, devAllowHttp, the client credentials), so a configuration pinning
  // OIDC_ID_TOKEN_ALGS=RS256 reused a provider built earlier in the isolate with the defaults and
  // accepted ES256 ID tokens (test/callback/algorithms.test.ts). In-memory only, never logged.
  // One provider per IdP (config/idps.ts withIdp gives each IdP's view): its own discovery, JWKS and client.
  const key = JSON.stringify([
    config.idp,
    config.issuer,
    config.clientId,
    config.clientAuth,
    config.idpTimeoutMs,
    config.idTokenAlgs ?? null,
    config.clockSkew,
    config.devAllowHttp,
    config.clientSecret ?? null,
    config.clientKey ?? null,
    config.clientAssertionAud,
  ]);
  const cached = providers.get(key);
  // Every request gets its own copy of a remembered failure (http/errors.ts, GatewayError.with).
  if (cached && cached.expiresAt > now) return cached.value.catch(ownCopy);
  const value = discover(config);
  const entry: Entry = { value, expiresAt: now + DISCOVERY_TTL_MS };
  providers.set(key, entry);
  value.catch(() => {
    entry.expiresAt = Date.now() + FAILURE_TTL_MS;
  });
  return value.catch(ownCopy);
}

async function discover(config: Config): Promise<Provider> {
  const fetch = timedFetch(config.idpTimeoutMs);
  const httpOptions = {
    [oauth.customFetch]: fetch,
    ...(config.devAllowHttp ? { [oauth.allowInsecureRequests]: true } : {}),
  } as HttpOptions;

  const issuerUrl = new URL(config.issuer);
  let as: oauth.AuthorizationServer;
  try {
    const response = await oauth.discoveryRequest(issuerUrl, { ...httpOptions, algorithm: 'oidc' });
    as = await oauth.processDiscoveryResponse(issuerUrl, response);
  } catch (error) {
    throw idpResponseError(error, 'discovery');
  }
  if (as.issuer !== config.issuer) {
    // Exact match (Discovery 4.3): a trailing slash is a different issuer, and `iss` claims will carry the IdP's form.
    const key = settingKey(config, 'OIDC_ISSUER');
    throw configProblem(key, `is "${config.issuer}" but the identity provider calls itself "${as.issuer}"; set ${key} to exactly that`);
  }
  for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
    if (typeof as[endpoint] !== 'string') {
      throw new GatewayError('idp_bad_response', 'The identity provider’s configuration is incomplete.', {
        detail: `discovery document has no ${endpoint}`,
      });
    }
  }
  if (as.code_challenge_methods_supported && !as.code_challenge_methods_supported.includes('S256')) {
    throw new GatewayError('idp_bad_response', 'The identity provider does not support PKCE with S256, which edgegate requires.', {
      detail: `code_challenge_methods_supported = ${as.code_challenge_methods_supported.join(',')}`,
    });
  }

  const advertised = as.id_token_signing_alg_values_supported ?? ['RS256'];
  const idTokenAlgs = (config.idTokenAlgs ?? [...ASYMMETRIC_ALGS]).filter((alg) => advertised.includes(alg));
  if (idTokenAlgs.length === 0) {
    throw configProblem(
      settingKey(config, 'OIDC_ID_TOKEN_ALGS'),
      `none of the allowed algorithms is advertised by the identity provider (it offers ${advertised.join(', ')}); symmetric and "none" are never accepted`,
    );
  }

  const client: oauth.Client = {
    client_id: config.clientId,
    // oauth4webapi accepts a list here: any of our pinned algorithms, nothing else.
    id_token_signed_response_alg: idTokenAlgs as unknown as string,
    [oauth.clockSkew]: 0,
    [oauth.clockTolerance]: config.clockSkew,
  };

  // Refetched on an unknown kid at most every 30 s, also under a burst of concurrent requests (oidc/jwks.ts).
  const jwks = remoteJwks(new URL(as.jwks_uri!), fetch, config.idpTimeoutMs);

  const clientAuth = await clientAuthentication(config, as);
  log('info', 'idp_discovered', { issuer: as.issuer, id_token_algs: idTokenAlgs });
  return { as, client, clientAuth, jwks, idTokenAlgs, fetch, httpOptions };
}

/**
 * Maps a failure while processing an IdP response to a typed error: transport problems keep their
 * 503/504, and anything the IdP said that does not parse or conform is a 502.
 */
export function idpResponseError(error: unknown, step: string): GatewayError {
  if (error instanceof GatewayError) return error;
  const code = (error as { code?: string })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new GatewayError('idp_bad_response', 'The identity provider answered in a way edgegate could not accept.', {
    detail: `${step}: ${code ?? 'error'}: ${message.slice(0, 300)}`,
    cause: error,
  });
}

/** Test hook: forget discovered providers (e.g. between tests that restart an IdP on another port). */
export function clearProviderCache(): void {
  providers.clear();
}
