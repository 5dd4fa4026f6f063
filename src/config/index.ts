import * as v from 'valibot';
import { CONFIG_INVALID_MESSAGE, GatewayError } from '../http/errors';
import type { Brand } from '../http/pages';
import { parseBrand } from './brand';
import { log } from '../http/log';
import { utf8 } from '../crypto/encoding';
import { isLoopbackHost } from './hosts';
import { parseRoutes, type PathCase, type RouteRule } from '../policy/rules';
import type { ClaimHeader } from '../policy/identity';
import { parseAssertionKeys } from '../assertion/keys';
import { parseClaimHeaders } from './claim-headers';
import type { JWK } from 'jose';
import { parseAuthParams } from './auth-params';
import { protocolSettings, type ProtocolSettings } from './protocol';
import { idpKey, isIdpSecretKey, parseIdps, unknownRuleIdps, type Idp, type IdpEntry, type IdpFields } from './idps';
import {
  KNOWN_KEYS,
  NOT_YET_SUPPORTED,
  OUR_PREFIXES,
  settingsSchema,
  type Settings,
} from './schema';

/** Response type and mode, PAR, silent re-authentication and extra parameters: config/protocol.ts. */
/** The IdP fields (config/idps.ts IdpFields) hold the settings of the IdP named by `idp`. */
export interface Config extends ProtocolSettings, IdpFields {
  /**
   * The IdP whose settings the IdP fields below hold (config/idps.ts `withIdp` gives the view of
   * another): `default` without IDPS, else the first of IDPS.
   */
  idp: string;
  /** Every identity provider (IDPS, or one `default` from the OIDC_* settings). */
  idps: readonly Idp[];
  /** IDPS is set: the upstream is told which IdP signed the user in (X-User-Idp). */
  idpsConfigured: boolean;
  /** USER_IDP_QUALIFIED: X-User is `<idp>:<user>`. */
  userIdpQualified: boolean;
  /** First encrypts, all decrypt (rotation). */
  sessionSecrets: Uint8Array[];
  upstream: URL | undefined;
  userClaim: string;
  idleTtl: number;
  maxTtl: number;
  /** Seconds a decrypted session is reused in the isolate without reading KV (delays remote logout by as much). */
  sessionCacheTtl: number;
  clockSkew: number;
  idpTimeoutMs: number;
  /** Milliseconds to wait for the upstream's response headers; the body then streams for as long as it takes. */
  upstreamTimeoutMs: number;
  /** PATH_CASE: whether the origin tells `/Admin` from `/admin` (rules may say otherwise with `path_case`). */
  pathCase: PathCase;
  /** Seconds between checks that an open WebSocket's session still stands (src/lifecycle/watch.ts). */
  websocketCheckInterval: number;
  /** Effective dev relaxation: requested AND the issuer is on loopback. Requests must be too. */
  devAllowHttp: boolean;
  /** Seconds before token expiry at which a session's tokens are refreshed. */
  refreshMargin: number;
  /** Seconds a session keeps working past token expiry while the IdP cannot be reached. */
  idpOutageGrace: number;
  /** A session without a refresh token lives to SESSION_IDLE_TTL/SESSION_MAX_TTL instead of ending with its tokens. */
  sessionOutlivesTokens: boolean;
  /** ROUTES, parsed and compiled; empty = every path needs a session. */
  routes: RouteRule[];
  /** ASSERTION_KEY as private JWKs (first signs); undefined = no X-User-Jwt. */
  assertionKeys: JWK[] | undefined;
  /** `aud` of X-User-Jwt; undefined = the upstream's origin. */
  assertionAudience: string | undefined;
  /** CLAIM_HEADERS: extra claims forwarded as headers (stripped from incoming requests too). */
  claimHeaders: ClaimHeader[];
  /** The CLAIM_HEADERS header names, for stripping them from incoming requests. */
  claimHeaderNames: ReadonlySet<string>;
  identityHeaderBudget: number;
  sessions: KVNamespace;
  /** The COORDINATOR Durable Object namespace; absent = KV-only (docs/sessions.md "One refresh per session across the edge"). */
  coordinator: DurableObjectNamespace | undefined;
  /** The Shared Signals receiver (POST /_auth/ssf); undefined = off (SSF_ISSUER unset). */
  ssf: SsfSettings | undefined;
  /** API_RESOURCE_NAME / API_DOCUMENTATION_URL: `resource_name` / `resource_documentation` of the RFC 9728 metadata. */
  apiResourceName: string | undefined;
  apiDocumentationUrl: string | undefined;
  /** API_DPOP_NONCE: DPoP proofs must carry a server nonce (RFC 9449 9). */
  apiDpopNonce: boolean;
  /** BRAND_*: name, logo, color and support link of the gateway's pages (config/brand.ts). */
  brand: Brand;
}

/** SSF_ISSUER, SSF_JWKS_URI, SSF_AUDIENCE (docs/sessions.md "Shared Signals (CAEP)"). */
export interface SsfSettings {
  /** The transmitter's issuer, exactly as configured: SETs' `iss` must equal it. */
  issuer: string;
  /** Where its keys are; undefined = `jwks_uri` from its /.well-known/ssf-configuration. */
  jwksUri: URL | undefined;
  /** Required `aud`; undefined = the origin the SET was posted to. */
  audience: string | undefined;
}

export interface ConfigProblem {
  key: string;
  message: string;
}

/** Parsed once per env object: the env of a deployed Worker is stable for the isolate's life. */
const cache = new WeakMap<object, Config | GatewayError>();
/** The settings (not the bindings) each configuration was parsed from: see `settingsOf`. */
const sources = new WeakMap<Config, Record<string, unknown>>();

/**
 * The plain settings (vars and secrets, no bindings) a configuration was parsed from, for the
 * COORDINATOR's objects: they redeem refresh tokens with exactly the caller's configuration, and
 * combine it with their own bindings (parseConfig again). Travels only over Durable Object RPC.
 */
export function settingsOf(config: Config): Record<string, unknown> {
  return sources.get(config) ?? {};
}

/**
 * Validates the configuration while the isolate starts, before its first request (src/index.ts): on
 * Cloudflare that overlaps the client's TLS handshake instead of adding ~3 ms of CPU (V8 compiling
 * the validation code on first use) to the first request. A valid configuration is cached for
 * `loadConfig`; its notices (warnings) are logged with the first request, where operators see them,
 * not at start-up. An invalid one is left for the first request, which logs it and shows the page.
 * Nothing else is derived at start-up: discovery, keys and sessions wait for a request that needs them.
 */
export function preloadConfig(env: Record<string, unknown> | undefined): void {
  if (!env || cache.has(env)) return;
  const notices: Notice[] = [];
  noticeSink = notices;
  let result: ReturnType<typeof parseConfig>;
  try {
    result = parseConfig(env);
  } catch {
    return;
  } finally {
    noticeSink = undefined;
  }
  if ('problems' in result) return;
  cache.set(env, result.config);
  sources.set(result.config, plainSettings(env));
  preloaded = { env, config: result.config };
  if (notices.length > 0) {
    pendingNotices.set(env, notices);
    noticesWaiting = true;
  }
}

/**
 * The start-up parse, until a request's env has taken it over. workerd's start-up `env`
 * (`cloudflare:workers`) is not the object its first request is handed (every later request gets that
 * one), but it holds the same values: the same strings, the same parsed JSON vars, the same binding
 * objects. A request env with exactly those values, key for key, is served the start-up parse.
 */
let preloaded: { env: Record<string, unknown>; config: Config } | undefined;

function samePreloaded(env: Record<string, unknown>): Config | undefined {
  if (!preloaded) return undefined;
  const before = preloaded.env;
  const keys = Object.keys(env);
  if (keys.length !== Object.keys(before).length) return undefined;
  for (const key of keys) if (!Object.hasOwn(before, key) || before[key] !== env[key]) return undefined;
  const config = preloaded.config;
  const notices = pendingNotices.get(before);
  if (notices) {
    pendingNotices.delete(before);
    pendingNotices.set(env, notices);
  }
  preloaded = undefined;
  return config;
}

type Notice = [level: 'warn', event: string, fields: Record<string, unknown>];
/** While preloading: where parseConfig's notices go instead of the log. */
let noticeSink: Notice[] | undefined;
/** Notices of a preloaded configuration, logged by its first `loadConfig`. */
const pendingNotices = new WeakMap<object, Notice[]>();
/** Whether any preloaded configuration has notices left to log: spares every request the lookup. */
let noticesWaiting = false;

function notice(event: string, fields: Record<string, unknown>): void {
  if (noticeSink) noticeSink.push(['warn', event, fields]);
  else log('warn', event, fields);
}

export function loadConfig(env: Record<string, unknown>): Config {
  let entry = cache.get(env);
  if (!entry && preloaded) {
    entry = samePreloaded(env);
    if (entry) cache.set(env, entry);
  }
  if (noticesWaiting && entry && pendingNotices.has(env)) {
    for (const [level, event, fields] of pendingNotices.get(env)!) log(level, event, fields);
    pendingNotices.delete(env);
  }
  if (!entry) {
    const result = parseConfig(env);
    if ('problems' in result) {
      entry = configError(result.problems);
      log('error', 'config_invalid', { problems: result.problems });
    } else {
      entry = result.config;
      sources.set(entry, plainSettings(env));
    }
    cache.set(env, entry);
  }
  if (entry instanceof GatewayError) throw entry;
  return entry;
}

/** Strings and plain data only: bindings (KV, Durable Objects) are objects with methods. */
function plainSettings(env: Record<string, unknown>): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key === 'SESSIONS' || key === 'COORDINATOR') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || Array.isArray(value)) settings[key] = value;
    else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) settings[key] = value;
  }
  return settings;
}

function configError(problems: ConfigProblem[]): GatewayError {
  const list = problems.map((p) => `${p.key}: ${p.message}`).join('; ');
  return new GatewayError('config_invalid', CONFIG_INVALID_MESSAGE, { detail: list });
}

const MIN_SECRET_LENGTH = 32;
/** Catches placeholders like "changeme…" or "aaaa…": real randomness of 32+ chars has far more. */
const MIN_DISTINCT_CHARS = 12;

export function parseConfig(env: Record<string, unknown>): { config: Config } | { problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];

  for (const key of Object.keys(env)) {
    if (KNOWN_KEYS.has(key) || isIdpSecretKey(key)) continue;
    if (NOT_YET_SUPPORTED.has(key)) {
      problems.push({ key, message: 'is not supported by this version of edgegate; remove it' });
    } else if (OUR_PREFIXES.some((prefix) => key.startsWith(prefix))) {
      problems.push({ key, message: 'is not a setting edgegate knows (a typo?); see docs/configuration.md' });
    }
  }

  const routes = parseRoutes(env['ROUTES']);
  if ('problems' in routes) problems.push(...routes.problems);
  const claimHeaders = parseClaimHeaders(env['CLAIM_HEADERS']);
  if ('problem' in claimHeaders) problems.push({ key: 'CLAIM_HEADERS', message: claimHeaders.problem });

  const withoutIdps = env['IDPS'] === undefined || env['IDPS'] === null || env['IDPS'] === '';
  // Optional in the schema only because IDPS may name the IdPs instead.
  for (const key of ['OIDC_ISSUER', 'OIDC_CLIENT_ID'] as const) {
    if (withoutIdps && env[key] === undefined) problems.push({ key, message: 'is required' });
  }
  const parsed = v.safeParse(settingsSchema, env);
  if (!parsed.success) {
    for (const issue of parsed.issues) {
      const key = v.getDotPath(issue) ?? 'config';
      const message = issue.input === undefined ? 'is required' : issue.message;
      problems.push({ key, message });
    }
    return { problems };
  }
  const s = parsed.output;
  if (problems.some((p) => p.message === 'is required' && (p.key === 'OIDC_ISSUER' || p.key === 'OIDC_CLIENT_ID'))) return { problems };
  const entries = parseIdps(env, s);
  if ('problems' in entries) return { problems: [...problems, ...entries.problems] };

  const sessions = env['SESSIONS'] as KVNamespace | undefined;
  if (!sessions || typeof sessions.get !== 'function' || typeof sessions.put !== 'function') {
    problems.push({ key: 'SESSIONS', message: 'must be a KV namespace binding ([[kv_namespaces]] binding = "SESSIONS")' });
  }

  const coordinator = env['COORDINATOR'] as DurableObjectNamespace | undefined;
  if (coordinator !== undefined && (typeof coordinator?.idFromName !== 'function' || typeof coordinator.get !== 'function')) {
    problems.push({ key: 'COORDINATOR', message: 'must be a Durable Object namespace binding ([[durable_objects.bindings]] name = "COORDINATOR", class_name = "SessionCoordinator"), or absent for KV-only' });
  }

  const secrets = s.SESSION_SECRET.split(',').map((x) => x.trim());
  secrets.forEach((secret, i) => {
    const which = secrets.length > 1 ? ` (secret #${i + 1})` : '';
    if (secret.length < MIN_SECRET_LENGTH) {
      problems.push({ key: 'SESSION_SECRET', message: `must be at least ${MIN_SECRET_LENGTH} characters of randomness${which}, e.g. from \`openssl rand -base64 32\`` });
    } else if (new Set(secret).size < MIN_DISTINCT_CHARS) {
      problems.push({ key: 'SESSION_SECRET', message: `looks like a placeholder, not randomness${which}` });
    }
  });

  // Every IdP on loopback, or none of the relaxation: one remote IdP makes it a real deployment.
  const issuerIsLoopback = entries.idps.every((idp) => isLoopbackHost(new URL(idp.settings.OIDC_ISSUER).hostname));
  if (s.DEV_ALLOW_HTTP && !issuerIsLoopback) {
    notice('dev_allow_http_ignored', { reason: 'DEV_ALLOW_HTTP is honoured only for a loopback issuer' });
  }
  const devAllowHttp = s.DEV_ALLOW_HTTP && issuerIsLoopback;
  const idps = entries.idps.map((entry) => idpFrom(entry, devAllowHttp, problems));
  const first = idps[0]!;
  problems.push(...unknownRuleIdps('rules' in routes ? routes.rules : [], idps));
  for (const rule of 'rules' in routes ? routes.rules : []) {
    // A session's DPoP-bound token is worth nothing without the session's private key, which never
    // leaves the gateway (RFC 9449 7): passing it on would hand the upstream a token it cannot use.
    const bound = rule.pass_access_token && rule.auth !== 'public' ? idps.filter((idp) => idp.dpop && (rule.idps ?? [idp.name]).includes(idp.name)) : [];
    if (bound.length > 0) {
      problems.push({
        key: `ROUTES[${rule.index}].pass_access_token`,
        message: `cannot pass on access tokens bound to the gateway's own key (${bound.map((idp) => idpKey(idp, 'OIDC_DPOP')).join(', ')} = true): the upstream could not use them; remove one or the other`,
      });
    }
  }
  const ssf = ssfSettings(s, devAllowHttp, problems);
  const brand = parseBrand(env, devAllowHttp);
  problems.push(...brand.problems);
  if (s.UPSTREAM_URL && new URL(s.UPSTREAM_URL).protocol !== 'https:' && !isLoopbackHost(new URL(s.UPSTREAM_URL).hostname)) {
    notice('upstream_plain_http', { reason: 'UPSTREAM_URL uses http://; identity headers travel unencrypted to the origin' });
  }

  const assertion = s.ASSERTION_KEY ? parseAssertionKeys(s.ASSERTION_KEY) : undefined;
  if (assertion && 'problem' in assertion) problems.push({ key: 'ASSERTION_KEY', message: assertion.problem });

  if (s.SESSION_MAX_TTL < s.SESSION_IDLE_TTL) {
    problems.push({ key: 'SESSION_MAX_TTL', message: 'must not be shorter than SESSION_IDLE_TTL' });
  }

  if (problems.length > 0) return { problems };

  const { name: _name, displayName: _display, emailDomains: _domains, fromIdps: _from, ...firstFields } = first;
  return {
    config: {
      ...firstFields,
      idp: first.name,
      idps,
      idpsConfigured: !withoutIdps,
      userIdpQualified: s.USER_IDP_QUALIFIED,
      sessionSecrets: secrets.map((secret) => utf8.encode(secret)),
      upstream: s.UPSTREAM_URL ? new URL(s.UPSTREAM_URL) : undefined,
      userClaim: s.USER_CLAIM,
      idleTtl: s.SESSION_IDLE_TTL,
      maxTtl: s.SESSION_MAX_TTL,
      sessionCacheTtl: s.SESSION_CACHE_TTL,
      clockSkew: s.CLOCK_SKEW,
      idpTimeoutMs: s.IDP_TIMEOUT * 1000,
      upstreamTimeoutMs: s.UPSTREAM_TIMEOUT * 1000,
      pathCase: s.PATH_CASE,
      // With the coordinator a check is one small Durable Object call, matching its 1 s revocation
      // bound; KV-only it is a KV read, and KV itself takes up to ~60 s to show a logout elsewhere.
      websocketCheckInterval: s.WEBSOCKET_CHECK_INTERVAL ?? (coordinator ? 1 : 10),
      devAllowHttp,
      refreshMargin: s.REFRESH_MARGIN,
      idpOutageGrace: s.IDP_OUTAGE_GRACE,
      sessionOutlivesTokens: s.SESSION_OUTLIVES_TOKENS,
      routes: 'rules' in routes ? routes.rules : [],
      assertionKeys: assertion && 'jwks' in assertion ? assertion.jwks : undefined,
      assertionAudience: s.ASSERTION_AUDIENCE,
      claimHeaders: 'claimHeaders' in claimHeaders ? claimHeaders.claimHeaders : [],
      claimHeaderNames: new Set('claimHeaders' in claimHeaders ? claimHeaders.claimHeaders.map((c) => c.header.replace(/_/g, '-')) : []),
      identityHeaderBudget: s.IDENTITY_HEADER_BUDGET,
      sessions: sessions!,
      coordinator,
      ssf,
      apiResourceName: s.API_RESOURCE_NAME,
      apiDocumentationUrl: s.API_DOCUMENTATION_URL,
      apiDpopNonce: s.API_DPOP_NONCE,
      brand: brand.brand,
    },
  };
}

/** OIDC_ISSUER in the shipped wrangler.toml: a stand-in to replace, never an identity provider. */
export const PLACEHOLDER_ISSUER = 'https://idp.example.com';

/**
 * One IdP with every check the single one gets (https issuer, client authentication, flow, auth
 * params); problems name the IdP's own key (`IDPS[corp].response_mode`, `OIDC_CLIENT_SECRET_CORP`).
 */
function idpFrom(entry: IdpEntry, devAllowHttp: boolean, problems: ConfigProblem[]): Idp {
  const s = entry.settings;
  const key = (name: string) => idpKey(entry, name);
  // The shipped wrangler.toml's value: deployed unchanged it would read as an IdP outage, not a setup step.
  if (s.OIDC_ISSUER.replace(/\/$/, '') === PLACEHOLDER_ISSUER) {
    problems.push({ key: key('OIDC_ISSUER'), message: `is ${PLACEHOLDER_ISSUER}, the placeholder from the shipped wrangler.toml; set it to your identity provider's issuer URL` });
  }
  if (new URL(s.OIDC_ISSUER).protocol !== 'https:' && !devAllowHttp) {
    problems.push({ key: key('OIDC_ISSUER'), message: 'must be an https:// URL (plain http only for a local demo: DEV_ALLOW_HTTP = "true" with a loopback issuer)' });
  }
  const auth = key('OIDC_CLIENT_AUTH');
  if (s.OIDC_CLIENT_AUTH.startsWith('client_secret') && !s.OIDC_CLIENT_SECRET) {
    const secret = key('OIDC_CLIENT_SECRET');
    problems.push({ key: secret, message: `is required for ${auth} = ${s.OIDC_CLIENT_AUTH} (wrangler secret put ${secret})` });
  }
  if (s.OIDC_CLIENT_AUTH === 'private_key_jwt' && !s.OIDC_CLIENT_KEY) {
    problems.push({ key: key('OIDC_CLIENT_KEY'), message: `is required for ${auth} = private_key_jwt (a private JWK or PKCS#8 PEM)` });
  }
  const authParams = parseAuthParams(entry.authParams);
  const rename = (problem: ConfigProblem) => ({ ...problem, key: entry.fromIdps ? problem.key.replace(/^OIDC_AUTH_PARAMS/, key('OIDC_AUTH_PARAMS')) : problem.key });
  if ('problems' in authParams) problems.push(...authParams.problems.map(rename));
  const protocol = protocolSettings(s, 'params' in authParams ? authParams.params : []);
  if (s.OIDC_DPOP && s.OIDC_RESPONSE_TYPE === 'id_token') {
    problems.push({ key: key('OIDC_DPOP'), message: 'needs a flow with a code (OIDC_RESPONSE_TYPE = "code" or "code id_token"): "id_token" gets no access token to bind' });
  }
  problems.push(...protocol.problems.map((p) => ({ ...p, key: key(p.key) })));
  return {
    name: entry.name,
    displayName: entry.displayName,
    emailDomains: entry.emailDomains,
    fromIdps: entry.fromIdps,
    issuer: s.OIDC_ISSUER,
    clientId: s.OIDC_CLIENT_ID,
    clientSecret: s.OIDC_CLIENT_SECRET,
    clientKey: s.OIDC_CLIENT_KEY,
    clientAuth: s.OIDC_CLIENT_AUTH,
    scopes: s.OIDC_SCOPES,
    idTokenAlgs: s.OIDC_ID_TOKEN_ALGS,
    apiAudience: s.API_AUDIENCE,
    assumeEmailVerified: s.OIDC_ASSUME_EMAIL_VERIFIED,
    dpop: s.OIDC_DPOP,
    ...protocol.settings,
  };
}

/**
 * The Shared Signals receiver is off unless SSF_ISSUER names the transmitter; its other keys alone would
 * be silently ignored, so they are refused. Its URLs are https, except in a loopback demo (as OIDC_ISSUER).
 */
function ssfSettings(s: Settings, devAllowHttp: boolean, problems: ConfigProblem[]): SsfSettings | undefined {
  if (s.SSF_ISSUER === undefined) {
    for (const key of ['SSF_JWKS_URI', 'SSF_AUDIENCE'] as const) {
      if (s[key] !== undefined) problems.push({ key, message: 'has no effect without SSF_ISSUER (the transmitter whose events to accept); set SSF_ISSUER or remove it' });
    }
    return undefined;
  }
  for (const key of ['SSF_ISSUER', 'SSF_JWKS_URI'] as const) {
    const value = s[key];
    if (value === undefined) continue;
    const url = new URL(value);
    if (url.protocol !== 'https:' && !(devAllowHttp && isLoopbackHost(url.hostname))) {
      problems.push({ key, message: 'must be an https:// URL (plain http only for a local demo: DEV_ALLOW_HTTP = "true" with a loopback issuer and transmitter)' });
    }
  }
  return { issuer: s.SSF_ISSUER, jwksUri: s.SSF_JWKS_URI ? new URL(s.SSF_JWKS_URI) : undefined, audience: s.SSF_AUDIENCE };
}
