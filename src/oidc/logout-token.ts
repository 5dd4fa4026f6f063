import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { JOSEAlgNotAllowed, JWKSMultipleMatchingKeys, JWKSNoMatchingKey, JWSSignatureVerificationFailed, JWTClaimValidationFailed, JWTExpired } from 'jose/errors';
import type { Config } from '../config';
import { GatewayError, errorName } from '../http/errors';
import type { Provider } from './provider';

/**
 * Logout Token validation, OpenID Connect Back-Channel Logout 1.0 section 2.6, step by step. Every
 * refusal is a `LogoutTokenError` with a code from this closed list, so the receiver can answer 400
 * with a precise reason and tests can name the attack they perform.
 */
export type LogoutTokenErrorCode =
  | 'malformed'
  | 'encrypted'
  | 'typ'
  | 'alg'
  | 'key'
  | 'signature'
  | 'iss'
  | 'aud'
  | 'azp'
  | 'iat'
  | 'exp'
  | 'jti'
  | 'events'
  | 'subject'
  | 'nonce'
  // Well-formed and valid, but its `jti` was already acted on (section 2.6 step 7).
  | 'replayed';

export class LogoutTokenError extends Error {
  readonly code: LogoutTokenErrorCode;

  constructor(code: LogoutTokenErrorCode, message: string) {
    super(message);
    this.name = 'LogoutTokenError';
    this.code = code;
  }
}

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface LogoutClaims {
  iss: string;
  sub: string | undefined;
  sid: string | undefined;
  jti: string;
  exp: number;
}

/**
 * Section 2.4 RECOMMENDS `typ: logout+jwt`. Older IdPs (Keycloak before 25, several others) send the
 * generic `JWT`, which is accepted: what keeps an ID token or access token from passing as a logout
 * token is the `events` member and the absent `nonce` (section 4.1), checked below for every token.
 * Any other declared type is some other kind of JWT and is refused.
 */
const ACCEPTED_TYP = new Set(['logout+jwt', 'application/logout+jwt', 'jwt']);

/** Identifiers are opaque strings; anything this long is not an identifier. */
const MAX_ID_LENGTH = 1024;

export async function verifyLogoutToken(provider: Provider, config: Config, token: string, now: number): Promise<LogoutClaims> {
  const parts = token.split('.');
  // Step 1: encrypted logout tokens would need a client decryption key, which edgegate does not register.
  if (parts.length === 5) throw new LogoutTokenError('encrypted', 'encrypted logout tokens are not supported (register the client without logout token encryption)');
  if (parts.length !== 3) throw new LogoutTokenError('malformed', 'not a compact JWS');

  let typ: unknown;
  try {
    typ = decodeProtectedHeader(token).typ;
  } catch {
    throw new LogoutTokenError('malformed', 'the protected header does not decode');
  }
  if (typ !== undefined && (typeof typ !== 'string' || !ACCEPTED_TYP.has(typ.toLowerCase()))) {
    throw new LogoutTokenError('typ', `typ ${JSON.stringify(String(typ).slice(0, 40))} is not logout+jwt`);
  }

  // Steps 2-3: signature with the IdP's keys and the pinned (asymmetric) algorithms; iss, aud, iat, exp
  // as for an ID token.
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, provider.jwks, {
      issuer: provider.as.issuer,
      audience: config.clientId,
      algorithms: provider.idTokenAlgs,
      clockTolerance: config.clockSkew,
      currentDate: new Date(now * 1000),
      requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti'],
    }));
  } catch (error) {
    throw joseError(error);
  }

  if (typeof payload.iat !== 'number' || payload.iat > now + config.clockSkew) throw new LogoutTokenError('iat', 'iat is in the future');
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (audiences.length > 1 && payload['azp'] === undefined) throw new LogoutTokenError('azp', 'several audiences without azp');
  if (payload['azp'] !== undefined && payload['azp'] !== config.clientId) throw new LogoutTokenError('azp', 'azp is not this client');

  // Step 4: sub and/or sid.
  const sub = optionalId(payload.sub, 'sub');
  const sid = optionalId(payload['sid'], 'sid');
  if (sub === undefined && sid === undefined) throw new LogoutTokenError('subject', 'neither sub nor sid');

  // Step 5: the back-channel logout event, whose value is a JSON object.
  const events = payload['events'];
  if (!isObject(events)) throw new LogoutTokenError('events', 'events claim is missing or not an object');
  if (!Object.hasOwn(events, BACKCHANNEL_LOGOUT_EVENT)) throw new LogoutTokenError('events', 'events claim lacks the back-channel logout event');
  if (!isObject(events[BACKCHANNEL_LOGOUT_EVENT])) throw new LogoutTokenError('events', 'the back-channel logout event is not a JSON object');

  // Step 6: a nonce would make it an ID token (section 4.1: the two must not be confusable).
  if (payload['nonce'] !== undefined) throw new LogoutTokenError('nonce', 'logout tokens must not contain a nonce');

  const jti = optionalId(payload.jti, 'jti');
  if (jti === undefined) throw new LogoutTokenError('jti', 'jti is missing');

  return { iss: payload.iss!, sub, sid, jti, exp: payload.exp! };
}

function optionalId(value: unknown, name: 'sub' | 'sid' | 'jti'): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new LogoutTokenError(name === 'jti' ? 'jti' : 'subject', `${name} is not a non-empty string`);
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** jose's error classes → our codes. A key set that cannot be fetched is the IdP's outage, not a bad token. */
function joseError(error: unknown): LogoutTokenError | GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof JOSEAlgNotAllowed) return new LogoutTokenError('alg', 'algorithm not allowed');
  if (error instanceof JWKSNoMatchingKey || error instanceof JWKSMultipleMatchingKeys) {
    return new LogoutTokenError('key', 'no single key of the issuer matches the token');
  }
  if (error instanceof JWSSignatureVerificationFailed) return new LogoutTokenError('signature', 'signature verification failed');
  if (error instanceof JWTExpired) return new LogoutTokenError('exp', 'the logout token has expired');
  if (error instanceof JWTClaimValidationFailed) {
    const claim = error.claim;
    if (claim === 'iss' || claim === 'aud' || claim === 'iat' || claim === 'exp' || claim === 'jti') {
      return new LogoutTokenError(claim, `${claim}: ${error.reason}`);
    }
    return new LogoutTokenError('malformed', `${claim}: ${error.reason}`);
  }
  return new LogoutTokenError('malformed', error instanceof Error ? `${errorName(error)}: ${error.message.slice(0, 120)}` : 'unreadable token');
}
