/**
 * Extra authorization request parameters: the static ones from `OIDC_AUTH_PARAMS`, and the per-sign-in
 * `login_hint` / `prompt` a link to `/_auth/login` may carry. Plain functions over plain data; the
 * request itself is built in authorize.ts.
 */

/** name → one value, or several (RFC 8707 allows `resource` more than once). */
export type AuthParams = ReadonlyArray<readonly [name: string, value: string]>;

export interface ParamProblem {
  key: string;
  message: string;
}

/**
 * Parameters the gateway sets itself on every request (or that would change the protocol under it):
 * a static value would break state/nonce/PKCE binding, the redirect URI or client authentication.
 */
const RESERVED: Record<string, string> = {
  response_type: 'set by OIDC_RESPONSE_TYPE',
  response_mode: 'set by OIDC_RESPONSE_MODE',
  client_id: 'set by OIDC_CLIENT_ID',
  scope: 'set by OIDC_SCOPES',
  redirect_uri: 'always https://<host>/_auth/callback',
  state: 'fresh for every sign-in',
  nonce: 'fresh for every sign-in',
  code_challenge: 'fresh for every sign-in (PKCE)',
  code_challenge_method: 'always S256',
  request: 'request objects are not supported',
  request_uri: 'set by OIDC_USE_PAR',
  max_age: 'use a route rule\'s max_age',
  id_token_hint: 'per user, never static',
  login_hint: 'per user: pass it as /_auth/login?login_hint=…',
  client_secret: 'set by OIDC_CLIENT_AUTH',
  client_assertion: 'set by OIDC_CLIENT_AUTH',
  client_assertion_type: 'set by OIDC_CLIENT_AUTH',
  code: 'a token-endpoint parameter',
  code_verifier: 'a token-endpoint parameter',
  grant_type: 'a token-endpoint parameter',
};

/** `prompt` values (Core 3.1.2.1; `create` from Initiating User Registration 1.0). */
const PROMPTS = new Set(['none', 'login', 'consent', 'select_account', 'create']);

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_VALUE = 1024;
const MAX_PARAMS = 20;
/** Longest e-mail address (RFC 5321: 254) with room for IdP-specific forms such as `tenant\user`. */
export const MAX_LOGIN_HINT = 320;

/**
 * `OIDC_AUTH_PARAMS`: a TOML table (`{ audience = "https://api", resource = ["a", "b"] }`) or the same
 * as a JSON string. Values are strings (numbers and booleans are written as they read), or lists of
 * them for repeatable parameters.
 */
export function parseAuthParams(raw: unknown): { params: AuthParams } | { problems: ParamProblem[] } {
  if (raw === undefined || raw === null || raw === '') return { params: [] };
  return parseAuthParamTable(raw);
}

/** Apart from the unset case, which then never compiles it (a fresh isolate compiles a function whole on its first call). */
function parseAuthParamTable(raw: unknown): { params: AuthParams } | { problems: ParamProblem[] } {
  let table: unknown = raw;
  if (typeof raw === 'string') {
    try {
      table = JSON.parse(raw);
    } catch {
      return fail('OIDC_AUTH_PARAMS', 'expected a table like { audience = "https://api.example.com" } (or the same as a JSON object)');
    }
  }
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    return fail('OIDC_AUTH_PARAMS', 'expected a table like { audience = "https://api.example.com" } (or the same as a JSON object)');
  }
  const problems: ParamProblem[] = [];
  const params: [string, string][] = [];
  const entries = Object.entries(table as Record<string, unknown>);
  if (entries.length > MAX_PARAMS) problems.push({ key: 'OIDC_AUTH_PARAMS', message: `at most ${MAX_PARAMS} parameters` });
  for (const [name, value] of entries) {
    const key = `OIDC_AUTH_PARAMS.${NAME.test(name) ? name : JSON.stringify(name.slice(0, 64))}`;
    if (!NAME.test(name)) {
      problems.push({ key, message: 'expected a parameter name (letters, digits, _ . : -)' });
      continue;
    }
    const reserved = RESERVED[name.toLowerCase()];
    if (reserved) {
      problems.push({ key, message: `is a protocol parameter edgegate sets itself (${reserved}); remove it` });
      continue;
    }
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0) {
      problems.push({ key, message: 'must not be an empty list' });
      continue;
    }
    const strings: string[] = [];
    for (const item of values) {
      const text = typeof item === 'string' ? item : typeof item === 'number' || typeof item === 'boolean' ? String(item) : null;
      if (text === null || text.length === 0 || text.length > MAX_VALUE || /[\x00-\x1f\x7f]/.test(text)) {
        problems.push({ key, message: `expected a non-empty string of at most ${MAX_VALUE} characters without control characters, or a list of them` });
        strings.length = 0;
        break;
      }
      strings.push(text);
    }
    if (strings.length === 0) continue;
    const problem = checkValue(name, strings);
    if (problem) {
      problems.push({ key, message: problem });
      continue;
    }
    for (const text of strings) params.push([name, text]);
  }
  return problems.length > 0 ? { problems } : { params };
}

function checkValue(name: string, values: string[]): string | null {
  switch (name) {
    case 'prompt': {
      if (values.length > 1) return 'expected a single value such as "select_account" or "login consent"';
      const prompts = values[0]!.split(' ').filter(Boolean);
      if (!prompts.every((p) => PROMPTS.has(p))) return `expected one or more of ${[...PROMPTS].filter((p) => p !== 'none').join(', ')}`;
      // A static prompt=none would make every sign-in fail at the IdP with login_required.
      if (prompts.includes('none')) return '"none" cannot be a default (silent re-authentication uses it by itself, see OIDC_SILENT_REAUTH)';
      return null;
    }
    case 'resource':
      // RFC 8707 2: an absolute URI without a fragment.
      for (const value of values) {
        let url: URL;
        try {
          url = new URL(value);
        } catch {
          return 'expected absolute URIs (RFC 8707), e.g. "https://api.example.com"';
        }
        if (url.hash || value.includes('#')) return 'must not contain a fragment (RFC 8707 2)';
      }
      return null;
    default:
      return values.length > 1 ? 'expected a single value (only resource may be given several times)' : null;
  }
}

function fail(key: string, message: string): { problems: ParamProblem[] } {
  return { problems: [{ key, message }] };
}

/** What a link to `/_auth/login` may ask for on top of the configured parameters. */
export interface LoginOptions {
  loginHint?: string;
  prompt?: string;
}

/**
 * `login_hint` and `prompt` from `/_auth/login?…`, validated and bounded: a string (the reason to
 * refuse anything else) that says what is wrong, or the options.
 */
export function loginOptions(query: URLSearchParams): LoginOptions | string {
  const options: LoginOptions = {};
  const hints = query.getAll('login_hint');
  if (hints.length > 1) return 'login_hint given more than once';
  const hint = hints[0];
  if (hint !== undefined && hint !== '') {
    if (hint.length > MAX_LOGIN_HINT) return `login_hint is longer than ${MAX_LOGIN_HINT} characters`;
    // Control characters and the Unicode line/paragraph separators have no place in a user name.
    if (/[\x00-\x1f\x7f\u2028\u2029]/.test(hint) || hint.trim() !== hint) return 'login_hint contains control characters or surrounding spaces';
    options.loginHint = hint;
  }
  const prompts = query.getAll('prompt');
  if (prompts.length > 1) return 'prompt given more than once';
  const prompt = prompts[0];
  if (prompt !== undefined && prompt !== '') {
    const values = prompt.split(' ').filter(Boolean);
    if (values.length === 0 || values.length > PROMPTS.size || !values.every((p) => PROMPTS.has(p))) {
      return `prompt must be made of ${[...PROMPTS].join(', ')}`;
    }
    // Core 3.1.2.1: "none" with any other value is an error at the IdP.
    if (values.includes('none') && values.length > 1) return 'prompt=none cannot be combined with other values';
    options.prompt = [...new Set(values)].join(' ');
  }
  return options;
}
