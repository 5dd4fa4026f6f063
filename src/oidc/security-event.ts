import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { JOSEAlgNotAllowed, JWKSMultipleMatchingKeys, JWKSNoMatchingKey, JWSSignatureVerificationFailed, JWTClaimValidationFailed, JWTExpired } from 'jose/errors';
import { ASYMMETRIC_ALGS } from '../config/schema';
import { GatewayError, errorName } from '../http/errors';

/**
 * Security Event Token validation (RFC 8417, as profiled by OpenID Shared Signals Framework 1.0) for
 * push delivery (RFC 8935), and the CAEP 1.0 events the gateway acts on. A refusal is a
 * `SecurityEventError` whose code is the RFC 8935 2.3 `err` the receiver answers with:
 *
 *   invalid_request        not a SET we can read: not a signed JWT, `typ` not `secevent+jwt`, `iat`/`jti`/
 *                          `events` missing or wrong, a subject the event's definition does not allow
 *   invalid_key            signed, but not by a key of the transmitter (unknown kid, bad signature), or
 *                          with an algorithm we never accept (HS*: the transmitter's public key is no secret)
 *   authentication_failed  not signed at all (`alg: none`): nothing authenticates the transmitter
 *   invalid_issuer         `iss` is not SSF_ISSUER
 *   invalid_audience       `aud` does not name this receiver
 *
 * Failing to *fetch* the keys is not the SET's fault: that is a GatewayError (the transmitter retries).
 */
export type SetErrorCode = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'authentication_failed' | 'access_denied';

export class SecurityEventError extends Error {
  readonly code: SetErrorCode;

  constructor(code: SetErrorCode, message: string) {
    super(message);
    this.name = 'SecurityEventError';
    this.code = code;
  }
}

export const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
export const CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';

/** The CAEP events that end sessions (CAEP 1.0 3.1, 3.3). Any other event type is acknowledged and ignored. */
const ENDING_EVENTS: Record<string, EndingEvent> = {
  [SESSION_REVOKED]: 'session-revoked',
  [CREDENTIAL_CHANGE]: 'credential-change',
};
export type EndingEvent = 'session-revoked' | 'credential-change';

/**
 * How old a SET may be (`iat`), in seconds. A transmitter retries a delivery that failed (RFC 8935 2.4),
 * so a revocation may arrive late after an outage of this receiver; accepting it late ends the session
 * late instead of never. The `jti` of every accepted SET is remembered this long (plus clock skew), so
 * no SET can be acted on twice.
 */
export const MAX_SET_AGE = 24 * 60 * 60;
/** Identifiers are opaque strings; anything this long is not an identifier. */
const MAX_ID_LENGTH = 1024;
/** RFC 8417 2.2: a SET describes one logical event; a handful of URIs for it is plenty. */
const MAX_EVENTS = 8;
/** Principals one SET may name (e.g. an `aliases` subject): bounded work per request. */
const MAX_TARGETS = 16;

/** Sessions to end: all keys given must match (a `sid` of that `sub`, ...); see lifecycle/end.ts. */
export interface SessionTarget {
  /** `iss_sub` subjects: the issuer of the IdP whose user `sub` is (one of `idpIssuer`). */
  iss?: string;
  sub?: string;
  sid?: string;
  email?: string;
}

export interface SecurityEvent {
  iss: string;
  jti: string;
  iat: number;
  /** The events that end sessions, each with the principals it names that belong to the gateway's IdP. */
  ending: { event: EndingEvent; targets: SessionTarget[] }[];
  /** Event type URIs this receiver does not act on (RFC 8417 2.2: ignored, yet acknowledged). */
  ignored: string[];
}

export interface SetExpectations {
  /** SSF_ISSUER. */
  issuer: string;
  /** SSF_AUDIENCE, or the origin the SET was posted to. */
  audience: string;
  /** OIDC_ISSUER: an `iss_sub` subject names one of our users only when its `iss` is this. */
  /** The issuers of this site's IdPs: `iss_sub` subjects of another issuer name nobody here. */
  idpIssuer: string | readonly string[];
  clockSkew: number;
}

const ACCEPTED_TYP = new Set(['secevent+jwt', 'application/secevent+jwt']);

export async function verifySecurityEvent(jwt: string, keys: JWTVerifyGetKey, expect: SetExpectations, now: number): Promise<SecurityEvent> {
  const parts = jwt.split('.');
  if (parts.length === 5) throw new SecurityEventError('invalid_request', 'encrypted SETs are not supported; the transmitter must send signed SETs');
  if (parts.length !== 3) throw new SecurityEventError('invalid_request', 'the body is not a compact JWS');

  let header: Record<string, unknown>;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(jwt) as Record<string, unknown>;
    unverified = decodeJwt(jwt);
  } catch {
    throw new SecurityEventError('invalid_request', 'the SET does not decode');
  }
  // Unsigned: no key could authenticate the transmitter. Checked first, so that `none` is never handed on.
  if (typeof header['alg'] !== 'string' || header['alg'].toLowerCase() === 'none') {
    throw new SecurityEventError('authentication_failed', 'the SET is not signed');
  }
  // SSF 1.0 "Explicit Typing of SETs" (RFC 8417 2.3): an ID token or logout token is never a SET.
  if (typeof header['typ'] !== 'string' || !ACCEPTED_TYP.has(header['typ'].toLowerCase())) {
    throw new SecurityEventError('invalid_request', 'typ must be secevent+jwt');
  }
  // Asymmetric only: HS256 keyed with a public key is the algorithm-confusion forgery.
  if (!(ASYMMETRIC_ALGS as readonly string[]).includes(header['alg'])) {
    throw new SecurityEventError('invalid_key', `algorithm ${header['alg'].slice(0, 20)} is not accepted`);
  }
  // A SET from anyone else is refused before its keys are looked up: strangers make us fetch nothing.
  if (unverified.iss !== expect.issuer) throw new SecurityEventError('invalid_issuer', 'iss is not the configured transmitter');

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(jwt, keys, {
      issuer: expect.issuer,
      audience: expect.audience,
      algorithms: [...ASYMMETRIC_ALGS],
      clockTolerance: expect.clockSkew,
      currentDate: new Date(now * 1000),
      requiredClaims: ['iss', 'aud', 'iat', 'jti', 'events'],
    }));
  } catch (error) {
    throw joseError(error);
  }

  const iat = payload.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new SecurityEventError('invalid_request', 'iat is missing');
  if (iat > now + expect.clockSkew) throw new SecurityEventError('invalid_request', 'iat is in the future');
  if (iat < now - MAX_SET_AGE - expect.clockSkew) throw new SecurityEventError('invalid_request', `the SET is older than ${MAX_SET_AGE} s (iat)`);
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_ID_LENGTH) throw new SecurityEventError('invalid_request', 'jti is missing or not a string');
  // SSF 1.0: "The JWT sub claim MUST NOT be present" in a SET; one that has it is some other kind of JWT.
  if (payload.sub !== undefined) throw new SecurityEventError('invalid_request', 'a SET must not have a sub claim (the subject is sub_id or the event’s subject)');

  // RFC 8417 2.2: `events` is an object of event type URI → JSON object.
  const events = payload['events'];
  if (!isObject(events) || Object.keys(events).length === 0) throw new SecurityEventError('invalid_request', 'events must be a non-empty JSON object');
  if (Object.keys(events).length > MAX_EVENTS) throw new SecurityEventError('invalid_request', `more than ${MAX_EVENTS} events`);

  const ending: SecurityEvent['ending'] = [];
  const ignored: string[] = [];
  for (const [type, event] of Object.entries(events)) {
    if (!isObject(event)) throw new SecurityEventError('invalid_request', 'every event must be a JSON object');
    const kind = Object.hasOwn(ENDING_EVENTS, type) ? ENDING_EVENTS[type] : undefined;
    if (kind === undefined) {
      ignored.push(type.slice(0, 200));
      continue;
    }
    // SSF 1.0 puts the subject in the top-level `sub_id` (RFC 9493 3); CAEP events of earlier drafts
    // carry it as the event's `subject`. Both are read; when both are there, both are acted on.
    const subjects = [payload['sub_id'], event['subject']].filter((s) => s !== undefined);
    if (subjects.length === 0) throw new SecurityEventError('invalid_request', `${kind} names no subject (sub_id)`);
    const targets = subjects.flatMap((s) => targetsOf(s, expect.idpIssuer));
    if (targets.length > MAX_TARGETS) throw new SecurityEventError('invalid_request', `the subject names more than ${MAX_TARGETS} principals`);
    ending.push({ event: kind, targets });
  }
  return { iss: payload.iss!, jti, iat, ending, ignored };
}

/**
 * The gateway's sessions a subject identifier (RFC 9493, SSF 1.0 3) names. Malformed → invalid_request;
 * well-formed but about someone else (another issuer's `iss_sub`, a phone number, a device) → none.
 *
 *   iss_sub   with `iss` = OIDC_ISSUER  → the user's sessions (by `sub`)
 *   email                               → sessions whose verified email it is
 *   opaque                              → the sessions of that IdP session (`sid`)
 *   aliases                             → each identifier in it
 *   complex   `user` and/or `session`   → those sessions; with both, only sessions matching both. Other
 *             members (device, tenant, application, ...) cannot be matched by the gateway: ending every
 *             session of the user is the safe superset of "that user on that device".
 */
function targetsOf(subject: unknown, idpIssuer: string | readonly string[], nested = false): SessionTarget[] {
  if (!isObject(subject)) throw new SecurityEventError('invalid_request', 'a subject identifier must be a JSON object');
  const format = subject['format'];
  switch (format) {
    case 'iss_sub': {
      const iss = id(subject['iss'], 'iss');
      const sub = id(subject['sub'], 'sub');
      return (typeof idpIssuer === 'string' ? iss === idpIssuer : idpIssuer.includes(iss)) ? [{ sub, iss }] : [];
    }
    case 'email':
      return [{ email: id(subject['email'], 'email').toLowerCase() }];
    case 'opaque':
      return [{ sid: id(subject['id'], 'id') }];
    case 'aliases': {
      // RFC 9493 3.2.6: an aliases identifier must not contain another.
      const identifiers = subject['identifiers'];
      if (nested || !Array.isArray(identifiers) || identifiers.length === 0 || identifiers.length > MAX_TARGETS) {
        throw new SecurityEventError('invalid_request', 'aliases must hold a short list of identifiers');
      }
      return identifiers.flatMap((i) => targetsOf(i, idpIssuer, true));
    }
    case 'complex':
      return nested ? [] : complexTargets(subject, idpIssuer);
    default:
      if (typeof format !== 'string') throw new SecurityEventError('invalid_request', 'a subject identifier needs a format');
      return [];
  }
}

function complexTargets(subject: Record<string, unknown>, idpIssuer: string | readonly string[]): SessionTarget[] {
  // Users are matched by `iss_sub` or `email`; a user in another format is a member we cannot match.
  const member = subject['user'];
  const userFormat = isObject(member) ? member['format'] : undefined;
  const user = userFormat === 'iss_sub' || userFormat === 'email' ? targetsOf(member, idpIssuer, true) : undefined;
  const session = subject['session'];
  const sid = isObject(session) && session['format'] === 'opaque' ? id(session['id'], 'session id') : undefined;
  // A user who is not ours (another issuer) means the whole subject is not ours.
  if (user !== undefined && user.length === 0) return [];
  if (sid === undefined) return user ?? [];
  return user === undefined ? [{ sid }] : user.map((t) => ({ ...t, sid }));
}

function id(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new SecurityEventError('invalid_request', `subject ${name} is not a non-empty string`);
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** jose's error classes → RFC 8935 codes. Keys that cannot be fetched are an outage, not a bad SET. */
function joseError(error: unknown): SecurityEventError | GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof JOSEAlgNotAllowed) return new SecurityEventError('invalid_key', 'algorithm not accepted');
  if (error instanceof JWKSNoMatchingKey || error instanceof JWKSMultipleMatchingKeys) {
    return new SecurityEventError('invalid_key', 'no single key of the transmitter matches the SET');
  }
  if (error instanceof JWSSignatureVerificationFailed) return new SecurityEventError('invalid_key', 'signature verification failed');
  if (error instanceof JWTExpired) return new SecurityEventError('invalid_request', 'the SET has expired (exp)');
  if (error instanceof JWTClaimValidationFailed) {
    if (error.claim === 'iss') return new SecurityEventError('invalid_issuer', 'iss is not the configured transmitter');
    if (error.claim === 'aud') return new SecurityEventError('invalid_audience', 'aud does not name this receiver');
    return new SecurityEventError('invalid_request', `${error.claim}: ${error.reason}`);
  }
  return new SecurityEventError('invalid_request', error instanceof Error ? `${errorName(error)}: ${error.message.slice(0, 120)}` : 'unreadable SET');
}
