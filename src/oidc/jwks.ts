import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { JWKSNoMatchingKey } from 'jose/errors';
import { GatewayError, ownCopy } from '../http/errors';
import { joinIdpCall, type Fetch } from './transport';
import { readTextLimited } from '../http/body';

/**
 * The IdP's published signing keys (`jwks_uri`), cached per isolate, for ID tokens, logout tokens and
 * bearer access tokens alike.
 *
 * This replaces jose's `createRemoteJWKSet`, whose numbers it keeps (refetch on an unknown `kid` at most
 * every 30 s, re-read at least every 10 min), because of how that behaves in Workers: it deliberately
 * shares no in-flight fetch between requests there, and its cooldown starts only when a fetch has
 * completed. Forty bearer or logout tokens with forty made-up `kid`s arriving together made forty JWKS
 * requests to the IdP (test/attacks/flood-unknown-kids.test.ts) — anyone on the internet could turn the
 * gateway into a request amplifier against its IdP. Here the cooldown counts from the *start* of a
 * refetch, and requests arriving while one is in flight wait for it (never longer than IDP_TIMEOUT)
 * instead of starting their own.
 *
 * The cooldown is for tokens anyone can send. An ID token the token endpoint answered comes from the
 * IdP itself over TLS (Core 3.1.3.7 step 6): its unknown `kid` means the IdP rotated its key, and
 * waiting out a cooldown an attacker's made-up `kid` started would fail every sign-in for up to 30 s
 * (OpenID RP certification rp-key-rotation-op-sign-key; test/attacks/block-sign-ins-after-key-rotation).
 * `keysForIdpAnswers` re-reads at once, still one read for concurrent requests; each such read costs
 * the IdP's own token request first, so it amplifies nothing.
 */
export const JWKS_COOLDOWN_MS = 30 * 1000;
export const JWKS_MAX_AGE_MS = 10 * 60 * 1000;
/** After a failed read, other requests do not try again for this long (the discovery cache does the same). */
const FAILURE_RETRY_MS = 5 * 1000;
/** A JWKS is a few KB; one this large is not a key set. */
const MAX_JWKS_BYTES = 512 * 1024;

export function remoteJwks(url: URL, fetch: Fetch, timeoutMs: number): JWTVerifyGetKey {
  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let fetchedAt = -Infinity;
  let startedAt = -Infinity;
  /** Completed reads: a request that missed before a read completed retries the new keys, it does not read again. */
  let generation = 0;
  let pending: Promise<void> | undefined;
  let failure: { at: number; error: unknown } | undefined;

  const reload = (): Promise<void> => {
    if (!pending) {
      if (failure && Date.now() - failure.at < FAILURE_RETRY_MS) return Promise.reject(failure.error).catch(ownCopy);
      startedAt = Date.now();
      pending = readKeySet(url, fetch).then(
        (jwks) => {
          local = createLocalJWKSet(jwks);
          fetchedAt = Date.now();
          generation++;
          failure = undefined;
        },
        (error: unknown) => {
          failure = { at: Date.now(), error };
          throw error;
        },
      );
      const settled = pending;
      void settled.catch(() => undefined).finally(() => {
        if (pending === settled) pending = undefined;
      });
    }
    return joinIdpCall(pending, timeoutMs, 'JWKS fetch');
  };

  const lookup =
    (cooldown: boolean): JWTVerifyGetKey =>
    async (header, token) => {
      if (!local || Date.now() - fetchedAt >= JWKS_MAX_AGE_MS) await reload();
      const seen = generation;
      try {
        return await local!(header, token);
      } catch (error) {
        if (!(error instanceof JWKSNoMatchingKey)) throw error;
        // An unknown kid may be a key rotation: re-read (once per cooldown for tokens anyone can send),
        // joining a re-read in flight, or just looking again when one completed since the miss.
        if (generation === seen) {
          if (!pending && cooldown && Date.now() - startedAt < JWKS_COOLDOWN_MS) throw error;
          await reload();
        }
        return local!(header, token);
      }
    };
  const getKey = lookup(true);
  idpAnswers.set(getKey, lookup(false));
  return getKey;
}

/** remoteJwks' key lookup → the same keys, re-read without cooldown (see above). */
const idpAnswers = new WeakMap<JWTVerifyGetKey, JWTVerifyGetKey>();

/**
 * The lookup for tokens the IdP answered directly over TLS (token endpoint ID tokens), never for
 * tokens that passed through a browser or arrive from anyone (front-channel ID tokens, bearer and
 * logout tokens). Any other key lookup is returned as it is.
 */
export function keysForIdpAnswers(jwks: JWTVerifyGetKey): JWTVerifyGetKey {
  return idpAnswers.get(jwks) ?? jwks;
}

async function readKeySet(url: URL, fetch: Fetch): Promise<JSONWebKeySet> {
  // Transport failures arrive as typed GatewayErrors (idp_unreachable / idp_timeout) from timedFetch.
  const response = await fetch(url, { headers: { accept: 'application/jwk-set+json, application/json' }, redirect: 'manual' });
  const bad = (detail: string) =>
    new GatewayError('idp_bad_response', 'The identity provider’s signing keys could not be read.', { detail: `JWKS ${url.origin}${url.pathname}: ${detail}` });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw bad(`HTTP ${response.status}`);
  }
  const text = await readTextLimited(response, MAX_JWKS_BYTES);
  if (text === null) throw bad(`larger than ${MAX_JWKS_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k))) throw bad('not a JWK Set');
  return json as JSONWebKeySet;
}

