import * as oauth from 'oauth4webapi';
import type { Config } from '../config';
import { GatewayError } from '../http/errors';
import { identityClaims, tokenExpiry, unverifiedClaims, type Session } from '../session/model';
import { fetchUserInfo, needsUserInfo } from './userinfo';
import { verifyIdToken } from './id-token';
import { idpResponseError, type Provider } from './provider';
import { dpopHandle, onceMoreOnNonce, requireBoundTokens, withProof } from './dpop-client';

/**
 * The refresh token grant (RFC 6749 6, Core 12) as a plain function over a session: request, validate,
 * re-read UserInfo, and say what happened. It neither reads nor writes the session store; the caller
 * (lifecycle/fresh.ts) decides what each outcome means for the session.
 */
export interface RefreshedTokens {
  /** The new ID token, or the previous one when the refresh response carried none. */
  idToken: string;
  accessToken: string;
  /** The rotated refresh token, or the previous one when the IdP does not rotate. */
  refreshToken: string | undefined;
  accessTokenExpiresAt: number | undefined;
  claims: Record<string, unknown>;
}

/** Only these end a session: the IdP said the grant is gone, refused us, or answered about someone else. */
export type RejectReason = 'invalid_grant' | 'invalid_client' | 'subject_changed' | 'id_token_invalid';

export type RefreshResult =
  | { outcome: 'refreshed'; tokens: RefreshedTokens; warning?: string }
  | { outcome: 'rejected'; reason: RejectReason; detail: string }
  /** Timeouts, network errors, 5xx, 429, answers that do not parse: try again later, log nobody out. */
  | { outcome: 'unavailable'; error: GatewayError };

/**
 * The steps of one refresh over some storage, as the lifecycle's algorithm (lifecycle/refresh.ts) uses
 * them: the isolate supplies them over KV (KV-only mode), the coordinator's object over its own storage.
 */
export interface RefreshSteps {
  /** Epoch seconds. */
  now: number;
  /** The session as stored now (the newest copy this runner can see), or null when it ended. */
  reload(): Promise<Session | null>;
  /** The refresh token grant (`refreshSession`), with unexpected errors as "unavailable". */
  redeem(session: Session): Promise<RefreshResult>;
  /** Stores the refreshed session unless it ended meanwhile; false = it had ended, nothing was written. */
  save(session: Session): Promise<boolean>;
  /** Ends the session for good (the IdP refused the grant). */
  end(reason: string): Promise<void>;
}

export type RefreshOutcome =
  /** `shared`: someone else had refreshed it already; no redemption here. */
  | { kind: 'fresh'; session: Session; shared: boolean }
  | { kind: 'ended'; reason: string }
  | { kind: 'unavailable'; error: GatewayError };

/** Claims that describe the sign-in, not the user: a refresh never changes them (Core 12.2: `auth_time` is the original's). */
const AUTHENTICATION_CLAIMS = ['acr', 'amr', 'auth_time'] as const;

export async function refreshSession(provider: Provider, config: Config, session: Session, now: number): Promise<RefreshResult> {
  if (!session.refreshToken) return { outcome: 'rejected', reason: 'invalid_grant', detail: 'no refresh token' };

  // A session signed in with OIDC_DPOP keeps its tokens bound: every refresh (here or in the
  // coordinator's object, which hands over the same session) carries a proof by the session's own key,
  // and a new key is never made here. The session decides, not the configuration of the moment.
  let dpop: oauth.DPoPHandle | undefined;
  try {
    dpop = session.dpopKey ? await dpopHandle(provider, session.dpopKey) : undefined;
  } catch (error) {
    return unavailable(new GatewayError('internal', 'Something went wrong in the gateway. Please try again.', { detail: 'the session’s DPoP key could not be imported', cause: error }));
  }
  let redeemed = await redeem(provider, session.refreshToken, dpop);
  // RFC 9449 8: once more with the nonce the IdP just sent (a use_dpop_nonce refusal spends no token).
  if ('error' in redeemed && dpop && oauth.isDPoPNonceError(redeemed.error)) redeemed = await redeem(provider, session.refreshToken, dpop);
  if (!('tokens' in redeemed)) return redeemed.result;
  const { tokens } = redeemed;
  if (dpop) {
    try {
      // RFC 9449 5: still bound after the refresh, or the IdP dropped the binding behind our back.
      requireBoundTokens(tokens, 'token endpoint (refresh)');
    } catch (error) {
      return unavailable(error as GatewayError);
    }
  }

  const previous = unverifiedClaims(session.idToken);
  let idClaims: Record<string, unknown> | undefined;
  if (tokens.id_token) {
    try {
      // Straight from the token endpoint: an unknown `kid` (the IdP just rotated its keys) re-reads the JWKS at once.
      // Judged by the clock after the IdP answered (as at sign-in, oidc/callback.ts), not the request's start.
      idClaims = await verifyIdToken(provider, config, tokens.id_token, { now: Math.max(now, Math.floor(Date.now() / 1000)), fromTokenEndpoint: true });
    } catch (error) {
      const gatewayError = error as GatewayError;
      // The keys could not be read (JWKS down, slow, 5xx or garbage: oidc/jwks.ts) — the IdP's outage, not a
      // bad token; it used to end the session (test/faults/idp-down.test.ts).
      if (gatewayError.code === 'idp_timeout' || gatewayError.code === 'idp_unreachable' || gatewayError.code === 'idp_bad_response') return unavailable(gatewayError);
      return { outcome: 'rejected', reason: 'id_token_invalid', detail: gatewayError.detail ?? 'refreshed ID token rejected' };
    }
    // Core 12.2: same issuer, same subject, same audience as the ID token of the sign-in.
    if (idClaims['sub'] !== session.sub) {
      return { outcome: 'rejected', reason: 'subject_changed', detail: 'refreshed ID token names another subject' };
    }
    if (previous['iss'] !== undefined && idClaims['iss'] !== previous['iss']) {
      return { outcome: 'rejected', reason: 'id_token_invalid', detail: 'refreshed ID token has another iss' };
    }
    if (previous['aud'] !== undefined && !sameAudience(idClaims['aud'], previous['aud'])) {
      return { outcome: 'rejected', reason: 'id_token_invalid', detail: 'refreshed ID token has another aud' };
    }
    // Core 12.2 says it SHOULD NOT carry a nonce; one that differs from the sign-in's is not ours.
    if (idClaims['nonce'] !== undefined && idClaims['nonce'] !== previous['nonce']) {
      return { outcome: 'rejected', reason: 'id_token_invalid', detail: 'refreshed ID token has another nonce' };
    }
  }

  // Claims stay current: UserInfo is re-read whenever sign-in needed it (same rule as oidc/callback.ts).
  const usesUserInfo = provider.as.userinfo_endpoint !== undefined && needsUserInfo(config.scopes, previous);
  let userinfo: Record<string, unknown> | undefined;
  let warning: string | undefined;
  if (usesUserInfo) {
    const read = await readUserInfo(provider, tokens.access_token, dpop);
    if ('claims' in read) {
      if (read.claims['sub'] !== session.sub) {
        return { outcome: 'rejected', reason: 'subject_changed', detail: 'UserInfo names another subject after refresh' };
      }
      userinfo = read.claims;
    } else {
      // The tokens are good; only the profile could not be re-read. Keep the last known claims.
      warning = `UserInfo not re-read after refresh: ${read.detail}`;
    }
  }

  let claims: Record<string, unknown>;
  if (userinfo) claims = identityClaims(idClaims ?? previous, userinfo);
  else if (usesUserInfo) claims = { ...session.claims, ...(idClaims ? identityClaims(idClaims) : {}) };
  else claims = idClaims ? identityClaims(idClaims) : { ...session.claims };
  for (const name of AUTHENTICATION_CLAIMS) {
    if (session.claims[name] === undefined) delete claims[name];
    else claims[name] = session.claims[name];
  }

  const refreshed: RefreshedTokens = {
    idToken: tokens.id_token ?? session.idToken,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? session.refreshToken,
    accessTokenExpiresAt: expiryOf(tokens, idClaims, session, now),
    claims,
  };
  return warning === undefined ? { outcome: 'refreshed', tokens: refreshed } : { outcome: 'refreshed', tokens: refreshed, warning };
}

/**
 * `expires_in` when given (RFC 6749 5.1 only RECOMMENDS it); else the new ID token's `exp`; else the
 * previous tokens' lifetime again — never "already expired", which would refresh on every request.
 */
function expiryOf(tokens: oauth.TokenEndpointResponse, idClaims: Record<string, unknown> | undefined, session: Session, now: number): number | undefined {
  if (typeof tokens.expires_in === 'number') return now + tokens.expires_in;
  if (typeof idClaims?.['exp'] === 'number') return idClaims['exp'];
  const previousExpiry = tokenExpiry(session);
  if (previousExpiry === undefined) return undefined;
  return now + Math.max(60, previousExpiry - (session.tokensAt ?? session.createdAt));
}

/** One refresh token grant request and its validation; `error` is kept to tell a nonce refusal apart. */
async function redeem(provider: Provider, refreshToken: string, dpop: oauth.DPoPHandle | undefined): Promise<{ tokens: oauth.TokenEndpointResponse } | { result: RefreshResult; error?: unknown }> {
  const { as, client, clientAuth } = provider;
  let response: Response;
  try {
    response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, withProof(provider, dpop));
  } catch (error) {
    return { result: unavailable(idpResponseError(error, 'token endpoint (refresh)')) };
  }
  if (response.status >= 500 || response.status === 429) {
    await response.body?.cancel();
    return {
      result: unavailable(
        new GatewayError('idp_error', 'The identity provider cannot renew your session right now. Please try again shortly.', {
          detail: `token endpoint (refresh) answered HTTP ${response.status}`,
        }),
      ),
    };
  }
  try {
    return { tokens: await oauth.processRefreshTokenResponse(as, client, response) };
  } catch (error) {
    return { result: classifyTokenError(error), error };
  }
}

function sameAudience(a: unknown, b: unknown): boolean {
  const list = (x: unknown) => (Array.isArray(x) ? x.map(String) : [String(x)]).sort();
  const [x, y] = [list(a), list(b)];
  return x.length === y.length && x.every((value, i) => value === y[i]);
}

/** UserInfo after a refresh: the subject is compared by the caller, a different one ends the session rather than failing a read. */
async function readUserInfo(provider: Provider, accessToken: string, dpop: oauth.DPoPHandle | undefined): Promise<{ claims: Record<string, unknown> } | { detail: string }> {
  try {
    return { claims: await fetchUserInfo(provider, accessToken, oauth.skipSubjectCheck, dpop) };
  } catch (error) {
    const { code, detail, message } = error as GatewayError;
    return { detail: `${code}: ${(detail ?? message).slice(0, 200)}` };
  }
}

function classifyTokenError(error: unknown): RefreshResult {
  if (error instanceof GatewayError) return unavailable(error);
  if (error instanceof oauth.ResponseBodyError) {
    const code = /^[\x20-\x7e]{1,64}$/.test(error.error) ? error.error : 'invalid_error_code';
    if (code === 'invalid_grant') return { outcome: 'rejected', reason: 'invalid_grant', detail: `token endpoint: invalid_grant (HTTP ${error.status})` };
    if (code === 'invalid_client') return { outcome: 'rejected', reason: 'invalid_client', detail: `token endpoint: invalid_client (HTTP ${error.status})` };
    return unavailable(
      new GatewayError('idp_error', 'The identity provider refused to renew your session.', {
        detail: `token endpoint (refresh): ${code} (HTTP ${error.status})`,
        cause: error,
      }),
    );
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError && error.status === 401) {
    // RFC 6749 5.2: a 401 from the token endpoint is client authentication failing.
    return { outcome: 'rejected', reason: 'invalid_client', detail: 'token endpoint: HTTP 401 challenge' };
  }
  const code = (error as { code?: string })?.code;
  if (code === oauth.JWT_CLAIM_COMPARISON || code === oauth.JWT_TIMESTAMP_CHECK || (code === oauth.INVALID_RESPONSE && /JWT|ID Token/i.test((error as Error).message))) {
    return { outcome: 'rejected', reason: 'id_token_invalid', detail: `refreshed ID token rejected: ${code}: ${(error as Error).message.slice(0, 200)}` };
  }
  return unavailable(idpResponseError(error, 'token endpoint (refresh)'));
}

function unavailable(error: GatewayError): RefreshResult {
  return { outcome: 'unavailable', error };
}
