import type { Conditions } from './conditions';
import type { PathMatcher } from './glob';

/** One route rule as the gateway uses it (parsed and compiled by rules.ts, matched by match.ts). */

export const AUTH_MODES = ['public', 'session', 'api'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** `path_case` (rule key) and `PATH_CASE` (site-wide): does the origin tell `/Admin` from `/admin`? */
export const PATH_CASES = ['sensitive', 'insensitive'] as const;
export type PathCase = (typeof PATH_CASES)[number];

export interface RouteRule {
  /** Position in ROUTES (for messages and logs); -1 for the built-in default. */
  readonly index: number;
  /** The glob as normalized for matching (e.g. `/caf%C3%A9/**` for `/café/**`). */
  readonly path: string;
  /** Lower-case host name (IDN as punycode, no trailing dot, no port). */
  readonly host?: string;
  /** Upper-case methods; a rule listing GET also matches HEAD. */
  readonly methods?: readonly string[];
  readonly auth: AuthMode;
  /** Origin (plus optional base path) this rule forwards to instead of UPSTREAM_URL. Copy before changing. */
  readonly upstream?: URL;
  /** Every condition must hold (docs/routes.md "Policy: allow, deny, allow_any"). */
  readonly allow?: Conditions;
  /** Any condition that holds refuses (403), before `allow`. */
  readonly deny?: Conditions;
  /** At least one table must hold. */
  readonly allow_any?: readonly Conditions[];
  /** Step-up: the session's `acr` must be one of these (in the order the IdP should prefer them). */
  readonly acr_values?: readonly string[];
  /** Step-up: the session's `auth_time` must be at most this many seconds old. */
  readonly max_age?: number;
  /** `api` rules: scopes a bearer token must carry. */
  readonly scopes?: readonly string[];
  /** `OPTIONS` preflights pass to the upstream without a session. */
  readonly cors_preflight?: 'pass';
  /** Send the user's (current, refreshed) access token on: as `Authorization: Bearer` or `X-Forwarded-Access-Token`. */
  readonly pass_access_token?: 'bearer' | 'header';
  /** Send the user's ID token on as `X-Forwarded-Id-Token`. */
  readonly pass_id_token?: true;
  /** Signed-in requests may use Cloudflare's cache like anonymous ones (proxy/forward.ts bypasses it otherwise). */
  readonly edge_cache?: 'allow';
  /** The identity providers that may sign in on this rule (names in IDPS); unset = every one. */
  readonly idps?: readonly string[];
  /** How this rule's origin reads letter case; unset = the site's `PATH_CASE`. */
  readonly path_case?: PathCase;
  /** `api` rules: DPoP-bound tokens only (RFC 9449); unset = "allowed" (Bearer or DPoP). */
  readonly dpop?: 'allowed' | 'required';
  /** Origins (exact, `https://app.example.com`) whose cross-origin requests can read the gateway's 401/403 answers. */
  readonly cors_origins?: readonly string[];
  /** `path`, compiled once: true when a normalized request path matches. */
  readonly matchPath: PathMatcher;
  /** `path` folded (glob.ts `foldCase`), compiled once: true when a folded request path matches. */
  readonly matchFolded: PathMatcher;
}

