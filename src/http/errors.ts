/**
 * One error type for everything the gateway refuses or fails at. Callers switch on `code`, never on
 * message text; the code decides the HTTP status in exactly one place (`STATUS`).
 */
export type ErrorCode =
  | 'config_invalid'
  | 'bad_request'
  | 'path_invalid'
  | 'https_required'
  | 'signin_state_invalid'
  | 'callback_invalid'
  | 'idp_denied'
  | 'idp_error'
  | 'idp_unreachable'
  | 'idp_timeout'
  | 'idp_bad_response'
  | 'id_token_invalid'
  | 'userinfo_invalid'
  | 'unauthenticated'
  | 'invalid_token'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'insufficient_scope'
  | 'step_up_required'
  | 'forbidden'
  | 'identity_unusable'
  | 'method_not_allowed'
  | 'not_found'
  | 'session_store_unavailable'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'busy'
  | 'rate_limited'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  config_invalid: 500,
  bad_request: 400,
  path_invalid: 400,
  https_required: 400,
  signin_state_invalid: 400,
  callback_invalid: 400,
  idp_denied: 403,
  idp_error: 502,
  idp_unreachable: 503,
  idp_timeout: 504,
  idp_bad_response: 502,
  id_token_invalid: 502,
  userinfo_invalid: 502,
  unauthenticated: 401,
  invalid_token: 401,
  // RFC 9449 7.1, 9: a DPoP proof that fails a check; a proof without the server's current nonce.
  invalid_dpop_proof: 401,
  use_dpop_nonce: 401,
  insufficient_scope: 403,
  step_up_required: 401,
  forbidden: 403,
  // The IdP's assertion about this user cannot be passed on exactly (unverified email as USER_CLAIM, a user id with control characters).
  identity_unusable: 403,
  method_not_allowed: 405,
  not_found: 404,
  session_store_unavailable: 503,
  // docs/operator-checklist.md "Status codes": unreachable → 503, not answering in time → 504, for the upstream as for the IdP.
  upstream_unreachable: 503,
  upstream_timeout: 504,
  busy: 503,
  // RFC 6585 4, with Retry-After (http/rate-limit.ts).
  rate_limited: 429,
  internal: 500,
};

/** What a person sees as the page title; the message carries the specifics. */
const TITLES: Record<ErrorCode, string> = {
  config_invalid: 'Gateway misconfigured',
  bad_request: 'Bad request',
  path_invalid: 'Bad request',
  https_required: 'HTTPS required',
  signin_state_invalid: 'Sign-in could not be completed',
  callback_invalid: 'Sign-in could not be completed',
  idp_denied: 'Sign-in was denied',
  idp_error: 'Sign-in failed at the identity provider',
  idp_unreachable: 'Identity provider unavailable',
  idp_timeout: 'Identity provider did not answer in time',
  idp_bad_response: 'Identity provider answered incorrectly',
  id_token_invalid: 'Sign-in could not be verified',
  userinfo_invalid: 'Sign-in could not be verified',
  unauthenticated: 'Sign-in required',
  invalid_token: 'Access token not accepted',
  invalid_dpop_proof: 'DPoP proof not accepted',
  use_dpop_nonce: 'DPoP nonce required',
  insufficient_scope: 'Access token lacks permission',
  step_up_required: 'Stronger or more recent sign-in required',
  forbidden: 'Access denied',
  identity_unusable: 'Account cannot be used here',
  method_not_allowed: 'Method not allowed',
  not_found: 'Not found',
  session_store_unavailable: 'Session storage unavailable',
  upstream_unreachable: 'Site unavailable',
  upstream_timeout: 'Site did not answer in time',
  busy: 'Too busy right now',
  rate_limited: 'Too many requests',
  internal: 'Internal error',
};

export interface GatewayErrorOptions {
  /** For operators only: goes to the log line, never to the client. Must not contain secrets. */
  detail?: string;
  cause?: unknown;
  /** Extra response headers (e.g. WWW-Authenticate). */
  headers?: Record<string, string>;
  /** Overrides the status implied by the code (e.g. 401 vs 403 for IdP errors). */
  status?: number;
  /** Extra public fields for the JSON body. */
  extra?: Record<string, string>;
  /** A link the error page offers (e.g. "sign in again"). Must be same-origin. */
  retryHref?: string;
  /** Force a JSON body (API routes) instead of deciding from the request's headers. */
  json?: boolean;
  /** Who was refused (`sub`), when known: for the operator's log line only, never the response. */
  subject?: string;
  /**
   * The refused user's own display name (name, email or sub) for their page's "Signed in as" line,
   * with ways to sign out or switch account (http/respond.ts). Only ever shown to that user.
   */
  signedInAs?: string;
}

/**
 * How a thrown error is named in a log line or an error detail. The deployed bundle does not keep
 * function names (wrangler.toml `keep_names = false`: ~7.5 KiB less gzipped), so a library error's
 * class name is minified; jose and oauth4webapi also give every error a stable `code` string
 * (`ERR_JWS_INVALID`, `OAUTH_…`), which is what is logged for them. The gateway's own errors and the
 * runtime's (`TimeoutError`, `TypeError`) keep their names.
 */
export function errorName(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : error.name;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, string>;
  readonly retryHref: string | undefined;
  readonly subject: string | undefined;
  readonly signedInAs: string | undefined;
  json: boolean | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = options.status ?? STATUS[code];
    this.detail = options.detail;
    this.headers = options.headers ?? {};
    this.extra = options.extra ?? {};
    this.retryHref = options.retryHref;
    this.subject = options.subject;
    this.signedInAs = options.signedInAs;
    this.json = options.json;
  }

  get title(): string {
    return TITLES[this.code];
  }

  /**
   * A copy, with some options changed. Errors outlive requests (a failed discovery or an IdP outage is
   * remembered and thrown to every request for a few seconds), so one request must never modify the
   * instance another request will throw: an api rule's `json: true` used to turn the next browser's
   * error page into JSON, and a callback's Set-Cookie went out to the next visitor.
   */
  with(options: GatewayErrorOptions = {}): GatewayError {
    return new GatewayError(this.code, this.message, {
      status: this.status,
      headers: { ...this.headers },
      extra: { ...this.extra },
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(this.retryHref === undefined ? {} : { retryHref: this.retryHref }),
      ...(this.json === undefined ? {} : { json: this.json }),
      ...(this.subject === undefined ? {} : { subject: this.subject }),
      ...(this.signedInAs === undefined ? {} : { signedInAs: this.signedInAs }),
      ...(this.cause === undefined ? {} : { cause: this.cause }),
      ...options,
    });
  }
}

/** Rethrows what a shared (cached) promise rejected with as this request's own copy. */
export function ownCopy(error: unknown): never {
  throw error instanceof GatewayError ? error.with() : error;
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}

/**
 * What every visitor is told about an invalid configuration. Which setting is wrong is for the operator:
 * in `detail` (the log line), from `npm run check`, and on the page only in a local demo (http/respond.ts).
 */
export const CONFIG_INVALID_MESSAGE = "This site's sign-in is misconfigured; the operator has been told. Please try again later.";

/** A setting the IdP's metadata shows to be unusable, found when the IdP is first met (by key, like config errors). */
export function configProblem(key: string, message: string): GatewayError {
  return new GatewayError('config_invalid', CONFIG_INVALID_MESSAGE, { detail: `${key}: ${message}` });
}
