import * as v from 'valibot';
import { PATH_CASES } from '../policy/rules';

/**
 * The raw settings as they arrive in `env`: TOML values may be numbers/booleans, `--var` and
 * `.dev.vars` values are strings, so scalar fields accept both and normalize here.
 */
export const text = v.pipe(v.string('expected a string'), v.trim(), v.nonEmpty('must not be empty'));

const intFromEnv = (min: number, max: number) =>
  v.pipe(
    v.union(
      [v.number(), v.pipe(v.string(), v.trim(), v.regex(/^\d+$/, 'expected a whole number'), v.transform(Number))],
      'expected a whole number',
    ),
    v.integer('expected a whole number'),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );

export const boolFromEnv = v.pipe(
  v.union([v.boolean(), v.picklist(['true', 'false', '1', '0', 'yes', 'no'])], 'expected "true" or "false"'),
  v.transform((value) => value === true || value === 'true' || value === '1' || value === 'yes'),
);

/** valibot runs every check of a pipe even after one failed, so each check must cope with a non-URL. */
function tryUrl(s: string): URL | null {
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

export const url = v.pipe(
  text,
  v.check((s) => tryUrl(s) !== null && /^https?:\/\//i.test(s), 'expected an absolute URL like https://idp.example.com'),
  v.check((s) => !tryUrl(s)?.search && !tryUrl(s)?.hash, 'must not contain a query or fragment'),
);

export const RESPONSE_TYPES = ['code', 'code id_token', 'id_token'] as const;
export type ResponseType = (typeof RESPONSE_TYPES)[number];
export const RESPONSE_MODES = ['query', 'form_post'] as const;
export type ResponseMode = (typeof RESPONSE_MODES)[number];
export const PAR_USES = ['auto', 'always', 'never'] as const;
export type ParUse = (typeof PAR_USES)[number];

export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'none',
] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** Asymmetric algorithms only: HS* with a public key is the classic algorithm-confusion attack. */
export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export const algList = v.pipe(
  text,
  v.transform((s) => s.split(/[\s,]+/).filter(Boolean)),
  v.check(
    (algs) => algs.length > 0 && algs.every((a) => (ASYMMETRIC_ALGS as readonly string[]).includes(a)),
    `expected a comma-separated list of ${ASYMMETRIC_ALGS.join(', ')} (none and HS* are never accepted)`,
  ),
);

export const scopes = v.pipe(
  text,
  v.transform((s) => [...new Set(s.split(/\s+/).filter(Boolean))]),
  v.check((list) => list.includes('openid'), 'must include "openid"'),
  v.check((list) => list.every((s) => /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s)), 'contains characters not allowed in a scope'),
);

const claimName = v.pipe(text, v.regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected a claim name such as sub or email'));

export const settingsSchema = v.object({
  // Required unless IDPS names the identity providers (config/idps.ts); config/index.ts says so.
  OIDC_ISSUER: v.optional(url),
  OIDC_CLIENT_ID: v.optional(text),
  OIDC_CLIENT_SECRET: v.optional(text),
  OIDC_CLIENT_KEY: v.optional(text),
  OIDC_CLIENT_AUTH: v.optional(v.picklist(CLIENT_AUTH_METHODS, `expected one of ${CLIENT_AUTH_METHODS.join(', ')}`), 'client_secret_basic'),
  OIDC_SCOPES: v.optional(scopes, 'openid profile email'),
  OIDC_ID_TOKEN_ALGS: v.optional(algList),
  OIDC_RESPONSE_TYPE: v.optional(v.picklist(RESPONSE_TYPES, `expected one of ${RESPONSE_TYPES.map((t) => `"${t}"`).join(', ')}`), 'code'),
  // No default here: it follows from the response type (src/oidc/flow.ts).
  OIDC_RESPONSE_MODE: v.optional(v.picklist(RESPONSE_MODES, `expected one of ${RESPONSE_MODES.join(', ')}`)),
  OIDC_USE_PAR: v.optional(v.picklist(PAR_USES, `expected one of ${PAR_USES.join(', ')}`), 'auto'),
  OIDC_CLIENT_ASSERTION_AUD: v.optional(v.picklist(['issuer', 'token_endpoint'], 'expected issuer or token_endpoint'), 'issuer'),
  OIDC_SILENT_REAUTH: v.optional(boolFromEnv, true),
  // The gateway's own sessions' tokens DPoP-bound at the IdP (RFC 9449; src/oidc/dpop-client.ts).
  OIDC_DPOP: v.optional(boolFromEnv, false),
  SESSION_SECRET: text,
  UPSTREAM_URL: v.optional(url),
  USER_CLAIM: v.optional(claimName, 'sub'),
  // With IDPS: X-User is `<idp>:<user>`, so equal ids from two IdPs never name one user upstream.
  USER_IDP_QUALIFIED: v.optional(boolFromEnv, false),
  // An `email` without `email_verified` counts as unverified unless the IdP is known to verify every address.
  OIDC_ASSUME_EMAIL_VERIFIED: v.optional(boolFromEnv, false),
  SESSION_IDLE_TTL: v.optional(intFromEnv(60, 31_536_000), 86_400),
  SESSION_MAX_TTL: v.optional(intFromEnv(60, 31_536_000), 604_800),
  SESSION_CACHE_TTL: v.optional(intFromEnv(0, 60), 10),
  CLOCK_SKEW: v.optional(intFromEnv(0, 300), 30),
  REFRESH_MARGIN: v.optional(intFromEnv(0, 3600), 60),
  IDP_OUTAGE_GRACE: v.optional(intFromEnv(0, 86_400), 300),
  SESSION_OUTLIVES_TOKENS: v.optional(boolFromEnv, false),
  API_AUDIENCE: v.optional(text),
  // RFC 9728 metadata of the API (src/oidc/resource-metadata.ts): `resource_name` [the host name] and `resource_documentation`.
  API_RESOURCE_NAME: v.optional(text),
  API_DOCUMENTATION_URL: v.optional(url),
  // DPoP proofs on api rules must carry a nonce the gateway issued (RFC 9449 9; src/oidc/dpop.ts).
  API_DPOP_NONCE: v.optional(boolFromEnv, false),
  ASSERTION_KEY: v.optional(text),
  ASSERTION_AUDIENCE: v.optional(text),
  IDENTITY_HEADER_BUDGET: v.optional(intFromEnv(1024, 65_536), 8192),
  IDP_TIMEOUT: v.optional(intFromEnv(1, 60), 5),
  UPSTREAM_TIMEOUT: v.optional(intFromEnv(1, 600), 30),
  PATH_CASE: v.optional(v.picklist(PATH_CASES, 'expected "sensitive" or "insensitive" (for origins that ignore letter case, such as IIS)'), 'sensitive'),
  // No default here: it follows from the mode (src/config/index.ts).
  WEBSOCKET_CHECK_INTERVAL: v.optional(intFromEnv(1, 300)),
  DEV_ALLOW_HTTP: v.optional(boolFromEnv, false),
  // Shared Signals receiver (POST /_auth/ssf): off unless SSF_ISSUER is set (src/routes/ssf.ts).
  SSF_ISSUER: v.optional(url),
  SSF_JWKS_URI: v.optional(url),
  SSF_AUDIENCE: v.optional(text),
});

export type Settings = v.InferOutput<typeof settingsSchema>;

/**
 * Every key the gateway knows. A key that looks like ours but is not on this list is almost always a
 * typo (`OIDC_SCOPE`), and a silently ignored security setting is worse than a refusal to start.
 */
export const KNOWN_KEYS = new Set([
  ...Object.keys(settingsSchema.entries),
  'ROUTES',
  // A list of tables (or JSON string), parsed by ./idps.ts.
  'IDPS',
  // A table (or JSON string), parsed by src/oidc/auth-params.ts as ROUTES is by policy/rules.ts.
  'OIDC_AUTH_PARAMS',
  'CLAIM_HEADERS',
  // Page branding, checked by ./brand.ts (a hex color, https URLs, a bounded name).
  'BRAND_NAME',
  'BRAND_LOGO_URL',
  'BRAND_COLOR',
  'BRAND_SUPPORT_URL',
  'SESSIONS',
  'COORDINATOR',
]);

/** Contract keys that later versions implement: refused while set, never silently ignored. None today. */
export const NOT_YET_SUPPORTED = new Set<string>([]);

export const OUR_PREFIXES = ['OIDC_', 'SESSION_', 'UPSTREAM_', 'ROUTE', 'USER_', 'REFRESH_', 'IDP_', 'API_', 'ASSERTION_', 'DEV_', 'CLOCK_', 'PATH_', 'WEBSOCKET_', 'SSF_', 'BRAND_'];
