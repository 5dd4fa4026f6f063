import * as v from 'valibot';
import { canonicalDomain } from '../policy/allow';
import {
  CLIENT_AUTH_METHODS,
  PAR_USES,
  RESPONSE_MODES,
  RESPONSE_TYPES,
  algList,
  boolFromEnv,
  scopes,
  settingsSchema,
  text,
  url,
  type ClientAuthMethod,
  type ParUse,
  type ResponseMode,
  type ResponseType,
  type Settings,
} from './schema';

/**
 * Several identity providers in front of one site (`IDPS`, docs/protocols.md "Several identity providers").
 * Without `IDPS`, the `OIDC_*` settings are one IdP named `default`. With it, each `[[vars.IDPS]]`
 * table names one IdP; its lower-case keys override the site-wide `OIDC_*` settings for it, and its
 * client secret or key is the secret `OIDC_CLIENT_SECRET_<NAME>` / `OIDC_CLIENT_KEY_<NAME>`.
 *
 * This file reads the shapes; config/index.ts runs the same checks on every IdP that the single one
 * gets (client authentication, response type and mode, auth params) and names the IdP in each problem.
 */

export const DEFAULT_IDP = 'default';

/** What differs between IdPs; every other setting is the site's. Same names as on Config. */
export interface IdpFields {
  /** Exactly as configured: the IdP's discovery `issuer` must equal it character for character. */
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  clientKey: string | undefined;
  clientAuth: ClientAuthMethod;
  scopes: string[];
  /** Allowed ID-token algorithms; undefined = every asymmetric one the IdP advertises. */
  idTokenAlgs: string[] | undefined;
  /** Required `aud` of bearer access tokens on `api` rules; unset = bearer tokens are not accepted. */
  apiAudience: string | undefined;
  /** OIDC_ASSUME_EMAIL_VERIFIED: an `email` without `email_verified` counts as verified (policy/identity.ts). */
  assumeEmailVerified: boolean;
  responseType: ResponseType;
  responseMode: ResponseMode;
  usePar: ParUse;
  silentReauth: boolean;
  authParams: ReadonlyArray<readonly [string, string]>;
  clientAssertionAud: 'issuer' | 'token_endpoint';
  /** OIDC_DPOP / `dpop`: sessions signed in here get tokens DPoP-bound to a key of their own (oidc/dpop-client.ts). */
  dpop: boolean;
}

export const IDP_FIELDS = [
  'issuer',
  'clientId',
  'clientSecret',
  'clientKey',
  'clientAuth',
  'scopes',
  'idTokenAlgs',
  'apiAudience',
  'assumeEmailVerified',
  'responseType',
  'responseMode',
  'usePar',
  'silentReauth',
  'authParams',
  'clientAssertionAud',
  'dpop',
] as const satisfies readonly (keyof IdpFields)[];

export interface Idp extends IdpFields {
  name: string;
  /** Shown on the chooser page. */
  displayName: string;
  /** Lower-case email domains whose users sign in here without the chooser (home-realm discovery). */
  emailDomains: readonly string[];
  /** From `IDPS` (its keys are `IDPS[name].x`), or the `OIDC_*` settings (one IdP, `default`). */
  fromIdps: boolean;
}

/** Lower-case letters, digits and `-`: it appears in a URL path and, upper-cased, in a secret's name. */
const NAME = /^[a-z][a-z0-9-]{0,31}$/;

const domain = v.pipe(
  v.string('expected a domain name'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const value = dataset.value.startsWith('@') ? undefined : canonicalDomain(dataset.value);
    if (value === undefined) {
      addIssue({ message: 'expected a domain name such as example.com (without "@")' });
      return NEVER;
    }
    return value;
  }),
);

const idpSchema = v.strictObject(
  {
    name: v.pipe(v.string('expected a name'), v.regex(NAME, 'expected a short name of lower-case letters, digits and "-", starting with a letter (it becomes /_auth/callback/<name>)')),
    issuer: url,
    client_id: text,
    display_name: v.optional(text),
    email_domains: v.optional(v.array(domain, 'expected a list of domain names such as ["example.com"]')),
    scopes: v.optional(scopes),
    client_auth: v.optional(v.picklist(CLIENT_AUTH_METHODS, `expected one of ${CLIENT_AUTH_METHODS.join(', ')}`)),
    response_type: v.optional(v.picklist(RESPONSE_TYPES, `expected one of ${RESPONSE_TYPES.map((t) => `"${t}"`).join(', ')}`)),
    response_mode: v.optional(v.picklist(RESPONSE_MODES, `expected one of ${RESPONSE_MODES.join(', ')}`)),
    use_par: v.optional(v.picklist(PAR_USES, `expected one of ${PAR_USES.join(', ')}`)),
    auth_params: v.optional(v.unknown()),
    api_audience: v.optional(text),
    id_token_algs: v.optional(algList),
    client_assertion_aud: v.optional(v.picklist(['issuer', 'token_endpoint'], 'expected issuer or token_endpoint')),
    silent_reauth: v.optional(boolFromEnv),
    assume_email_verified: v.optional(boolFromEnv),
    dpop: v.optional(boolFromEnv),
  },
  'expected a table with at least name, issuer and client_id',
);

/** The IdP-specific `OIDC_*` settings, as one IdP's checks read them. */
export type IdpSettings = Pick<
  Settings,
  'OIDC_CLIENT_AUTH' | 'OIDC_SCOPES' | 'OIDC_ID_TOKEN_ALGS' | 'OIDC_RESPONSE_TYPE' | 'OIDC_RESPONSE_MODE' | 'OIDC_USE_PAR' | 'OIDC_CLIENT_ASSERTION_AUD' | 'OIDC_SILENT_REAUTH' | 'OIDC_ASSUME_EMAIL_VERIFIED' | 'OIDC_CLIENT_SECRET' | 'OIDC_CLIENT_KEY' | 'OIDC_DPOP'
> & { OIDC_ISSUER: string; OIDC_CLIENT_ID: string; API_AUDIENCE: string | undefined };

/** One IdP as configured, before the protocol checks (config/index.ts). */
export interface IdpEntry {
  name: string;
  displayName: string;
  emailDomains: string[];
  settings: IdpSettings;
  /** Raw `auth_params` (or OIDC_AUTH_PARAMS), parsed by config/index.ts. */
  authParams: unknown;
  fromIdps: boolean;
}

interface Problem {
  key: string;
  message: string;
}

/** The secret holding IdP `name`'s client secret or key: upper case, `-` as `_`. */
export function secretName(kind: 'OIDC_CLIENT_SECRET' | 'OIDC_CLIENT_KEY', name: string): string {
  return `${kind}_${name.toUpperCase().replace(/-/g, '_')}`;
}

const SECRET_KEY = /^OIDC_CLIENT_(SECRET|KEY)_[A-Z0-9_]+$/;

/** Env keys shaped like a per-IdP secret; config/index.ts checks each names an IdP (parseIdps). */
export function isIdpSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Where a setting of `idp` is configured, in the operator's terms: `OIDC_ISSUER` for the IdP of the
 * `OIDC_*` settings, `IDPS[corp].issuer` or `OIDC_CLIENT_SECRET_CORP` for one of `IDPS`.
 */
export function idpKey(idp: { name: string; fromIdps: boolean }, key: string): string {
  if (!idp.fromIdps) return key;
  if (key === 'OIDC_CLIENT_SECRET' || key === 'OIDC_CLIENT_KEY') return secretName(key, idp.name);
  const field = key.replace(/^OIDC_/, '').toLowerCase();
  return `IDPS[${idp.name}].${field}`;
}

/**
 * A setting's name for the IdP a configuration (or its `withIdp` view) speaks for, for errors found when
 * the IdP is met (its metadata shows a setting unusable): `OIDC_RESPONSE_MODE`, or `IDPS[corp].response_mode`.
 */
export function settingKey(config: { idp: string; idps: readonly Idp[] }, key: string): string {
  const idp = findIdp(config.idps, config.idp);
  return idp ? idpKey(idp, key) : key;
}

/**
 * The IdPs of this configuration: `IDPS`, or one IdP `default` from the `OIDC_*` settings. `s` is the
 * parsed site-wide settings (defaults applied): an IdP's own key wins over the site-wide one.
 */
export function parseIdps(env: Record<string, unknown>, s: Omit<Settings, 'SESSION_SECRET'>): { idps: IdpEntry[] } | { problems: Problem[] } {
  const raw = env['IDPS'];
  const problems: Problem[] = [];
  if (raw === undefined || raw === null || raw === '') {
    for (const key of Object.keys(env)) {
      if (isIdpSecretKey(key)) problems.push({ key, message: 'names an identity provider, but IDPS is not set; remove it or configure IDPS' });
    }
    if (problems.length > 0) return { problems };
    if (s.OIDC_ISSUER === undefined || s.OIDC_CLIENT_ID === undefined) return { problems: [] };
    return {
      idps: [
        {
          name: DEFAULT_IDP,
          displayName: new URL(s.OIDC_ISSUER).host,
          emailDomains: [],
          settings: { ...s, OIDC_ISSUER: s.OIDC_ISSUER, OIDC_CLIENT_ID: s.OIDC_CLIENT_ID, API_AUDIENCE: s.API_AUDIENCE },
          authParams: env['OIDC_AUTH_PARAMS'],
          fromIdps: false,
        },
      ],
    };
  }
  return parseIdpList(env, s, raw, problems);
}

/** IDPS set: apart from the common single-IdP case above, which then never compiles it (a fresh isolate compiles a function whole on its first call). */
function parseIdpList(env: Record<string, unknown>, s: Omit<Settings, 'SESSION_SECRET'>, raw: unknown, problems: Problem[]): { idps: IdpEntry[] } | { problems: Problem[] } {
  let list = raw;
  if (typeof raw === 'string') {
    try {
      list = JSON.parse(raw);
    } catch {
      return { problems: [{ key: 'IDPS', message: 'is not valid JSON; expected [[vars.IDPS]] tables in wrangler.toml, or a JSON array of them' }] };
    }
  }
  if (!Array.isArray(list) || list.length === 0) {
    return { problems: [{ key: 'IDPS', message: 'expected a non-empty list of identity providers: [[vars.IDPS]] tables with name, issuer and client_id' }] };
  }
  // The IdP's identity now lives in IDPS: a site-wide one beside it would be silently ignored.
  for (const key of ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_CLIENT_KEY', 'OIDC_AUTH_PARAMS', 'API_AUDIENCE'] as const) {
    if (env[key] !== undefined) {
      const instead = key === 'OIDC_CLIENT_SECRET' || key === 'OIDC_CLIENT_KEY' ? `${key}_<NAME>` : `each IDPS entry's ${key.replace(/^OIDC_/, '').toLowerCase()}`;
      problems.push({ key, message: `cannot be used together with IDPS; use ${instead}` });
    }
  }

  const entries: IdpEntry[] = [];
  const names = new Set<string>();
  const issuers = new Map<string, string>();
  const domains = new Map<string, string>();
  list.forEach((item, index) => {
    const label = typeof (item as { name?: unknown })?.name === 'string' && NAME.test((item as { name: string }).name) ? (item as { name: string }).name : String(index);
    const parsed = v.safeParse(idpSchema, item, { abortEarly: false });
    if (!parsed.success) {
      for (const issue of parsed.issues) {
        const path = (issue.path ?? []).map((p) => String(p.key));
        const key = `IDPS[${label}]${path.length > 0 ? `.${path[0]}` : ''}`;
        const message = issue.type === 'strict_object' && issue.expected === 'never' ? `is not an IDPS key; expected one of: ${Object.keys(idpSchema.entries).join(', ')}` : issue.input === undefined ? 'is required' : issue.message;
        problems.push({ key, message });
      }
      return;
    }
    const idp = parsed.output;
    const at = (key: string, message: string) => problems.push({ key: `IDPS[${idp.name}].${key}`, message });
    if (names.has(idp.name)) at('name', 'is used by another IdP; names must be unique');
    names.add(idp.name);
    // Logout tokens, bearer tokens and `iss` are routed by issuer: two IdPs with one issuer could not be told apart.
    const twin = issuers.get(idp.issuer);
    if (twin !== undefined) at('issuer', `is also the issuer of IdP "${twin}"; each IdP needs its own issuer`);
    issuers.set(idp.issuer, idp.name);
    for (const d of idp.email_domains ?? []) {
      const owner = domains.get(d);
      if (owner !== undefined && owner !== idp.name) at('email_domains', `${d} is also listed for IdP "${owner}"; a domain leads to one IdP`);
      domains.set(d, idp.name);
    }
    entries.push({
      name: idp.name,
      displayName: idp.display_name ?? idp.name,
      emailDomains: [...new Set(idp.email_domains ?? [])],
      settings: {
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: idp.client_id,
        OIDC_CLIENT_SECRET: secretValue(env, secretName('OIDC_CLIENT_SECRET', idp.name)),
        OIDC_CLIENT_KEY: secretValue(env, secretName('OIDC_CLIENT_KEY', idp.name)),
        OIDC_CLIENT_AUTH: idp.client_auth ?? s.OIDC_CLIENT_AUTH,
        OIDC_SCOPES: idp.scopes ?? s.OIDC_SCOPES,
        OIDC_ID_TOKEN_ALGS: idp.id_token_algs ?? s.OIDC_ID_TOKEN_ALGS,
        OIDC_RESPONSE_TYPE: idp.response_type ?? s.OIDC_RESPONSE_TYPE,
        OIDC_RESPONSE_MODE: idp.response_mode ?? s.OIDC_RESPONSE_MODE,
        OIDC_USE_PAR: idp.use_par ?? s.OIDC_USE_PAR,
        OIDC_CLIENT_ASSERTION_AUD: idp.client_assertion_aud ?? s.OIDC_CLIENT_ASSERTION_AUD,
        OIDC_SILENT_REAUTH: idp.silent_reauth ?? s.OIDC_SILENT_REAUTH,
        OIDC_ASSUME_EMAIL_VERIFIED: idp.assume_email_verified ?? s.OIDC_ASSUME_EMAIL_VERIFIED,
        OIDC_DPOP: idp.dpop ?? s.OIDC_DPOP,
        API_AUDIENCE: idp.api_audience,
      },
      authParams: idp.auth_params,
      fromIdps: true,
    });
  });
  // Names as written, also of entries with problems of their own: their secrets are not typos.
  const written = list.map((item) => (item as { name?: unknown })?.name).filter((name): name is string => typeof name === 'string');
  for (const key of Object.keys(env)) {
    if (!isIdpSecretKey(key)) continue;
    if (!written.some((name) => key === secretName('OIDC_CLIENT_SECRET', name) || key === secretName('OIDC_CLIENT_KEY', name))) {
      problems.push({ key, message: 'names no identity provider in IDPS (the name upper-cased, "-" as "_"); a typo?' });
    }
  }
  return problems.length > 0 ? { problems } : { idps: entries };
}

function secretValue(env: Record<string, unknown>, key: string): string | undefined {
  const value = env[key];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** Views of a configuration per IdP, made once: caches keyed by the view (providers, identity memos) stay warm. */
const views = new WeakMap<object, Map<string, object>>();

/**
 * The configuration as IdP `name` sees it: the site's settings with that IdP's issuer, client, scopes,
 * flow and audience. Everything that talks to an IdP takes such a view (oidc/*), so each IdP gets every
 * check the single one gets. Undefined for a name that is not configured. A missing name is `default`
 * (sessions and sign-ins from before IDPS).
 */
export function withIdp<C extends IdpFields & { idp: string; idps: readonly Idp[] }>(config: C, name: string | undefined): C | undefined {
  const wanted = name ?? DEFAULT_IDP;
  if (wanted === config.idp) return config;
  let byName = views.get(config);
  if (!byName) {
    byName = new Map();
    views.set(config, byName);
  }
  const cached = byName.get(wanted);
  if (cached) return cached as C;
  const idp = config.idps.find((i) => i.name === wanted);
  if (!idp) return undefined;
  const view = { ...config, idp: idp.name } as C;
  for (const field of IDP_FIELDS) (view as Record<string, unknown>)[field] = idp[field];
  byName.set(wanted, view);
  return view;
}

export function findIdp(idps: readonly Idp[], name: string | undefined): Idp | undefined {
  const wanted = name ?? DEFAULT_IDP;
  return idps.find((i) => i.name === wanted);
}

/** The IdP whose issuer this is, exactly (Discovery 4.3: no normalization). */
export function idpByIssuer(idps: readonly Idp[], iss: unknown): Idp | undefined {
  return typeof iss === 'string' ? idps.find((i) => i.issuer === iss) : undefined;
}

/** The redirect URI path of an IdP: `/_auth/callback` for `default` (as before IDPS), `/_auth/callback/<name>` otherwise. */
export function callbackPath(name: string): string {
  return name === DEFAULT_IDP ? '/_auth/callback' : `/_auth/callback/${name}`;
}

/** The IdPs a rule lets sign in (`idps`), in configuration order; every IdP when it names none. */
export function idpsOfRule<I extends { name: string }>(idps: readonly I[], names: readonly string[] | undefined): I[] {
  return names ? idps.filter((idp) => names.includes(idp.name)) : [...idps];
}

/** Rules (ROUTES, parsed before the IdPs) that name an IdP this configuration does not have. */
export function unknownRuleIdps(rules: readonly { index: number; idps?: readonly string[] }[], idps: readonly { name: string }[]): Problem[] {
  const problems: Problem[] = [];
  for (const rule of rules) {
    for (const name of rule.idps ?? []) {
      if (!idps.some((idp) => idp.name === name)) problems.push({ key: `ROUTES[${rule.index}].idps`, message: `names "${name}", which is not an identity provider here (${idps.map((idp) => idp.name).join(', ')})` });
    }
  }
  return problems;
}

/** What `npm run check` shows of an IdP; a parsed `Idp` is one. */
export type IdpSummary = Pick<Idp, 'name' | 'displayName' | 'emailDomains' | 'apiAudience' | 'fromIdps'>;

/**
 * The IdPs these settings configure, read as parseConfig reads them (the same schema, parseIdps), but
 * without the checks that need secrets or bindings: for `npm run check` on a file, where secrets are
 * not. Undefined when the settings do not get that far; parseConfig names why.
 */
export function idpsOfSettings(env: Record<string, unknown>): IdpSummary[] | undefined {
  const parsed = v.safeParse(v.omit(settingsSchema, ['SESSION_SECRET']), env);
  if (!parsed.success) return undefined;
  const entries = parseIdps(env, parsed.output);
  if ('problems' in entries) return undefined;
  return entries.idps.map((entry) => ({
    name: entry.name,
    displayName: entry.displayName,
    emailDomains: entry.emailDomains,
    apiAudience: entry.settings.API_AUDIENCE,
    fromIdps: entry.fromIdps,
  }));
}

/** The IdP whose users have this email address's domain (home-realm discovery), among `allowed`. */
export function idpForEmail(idps: readonly Idp[], email: string): Idp | undefined {
  const at = email.lastIndexOf('@');
  if (at <= 0) return undefined;
  const d = canonicalDomain(email.slice(at + 1));
  return d === undefined ? undefined : idps.find((i) => i.emailDomains.includes(d));
}
