// Helpers for the Shared Signals receiver tests (test/ssf, test/attacks), run inside workerd.
//
//   ssfGateway(overrides)          a lifecycle-IdP gateway (sessions carry the IdP's `sid`) receiving SETs from
//                                  the test transmitter (SSF_ISSUER)
//   setClaims(event, subId, over)  a well-formed SET payload: iss, aud, iat, jti, sub_id, one event
//   signSet(claims, script)        signed by the test transmitter (or with a wrong key, `none`, HS256)
//   deliver(gw, jwt)               RFC 8935 push to POST /_auth/ssf
//   transmitterStats()/reset()     how often the gateway fetched the transmitter's metadata and JWKS
import { inject } from 'vitest';
import type { SsfSignScript, SsfStats } from '../setup/protocol';
import { ORIGIN } from '../setup/constants';
import type { Gateway } from './gateway';
import { lifecycleGateway, lifecycleIssuer } from './lifecycle';

export const transmitter = inject('ssfTransmitterUrl');
export const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
export const CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';
export const SECEVENT_JWT = 'application/secevent+jwt';

/** A gateway at the lifecycle IdP with the SSF receiver on, trusting the test transmitter. */
export function ssfGateway(overrides: Record<string, unknown> = {}): Gateway {
  return lifecycleGateway({ SSF_ISSUER: transmitter, ...overrides });
}

/** RFC 9493 `iss_sub` for a user of the gateway's IdP. */
export const issSub = (sub: string, iss = lifecycleIssuer) => ({ format: 'iss_sub', iss, sub });

/** A SET as the transmitter would send it: one event, the subject as SSF 1.0's top-level `sub_id`. */
export function setClaims(event: string, subId: unknown, over: Record<string, unknown> = {}, payload: Record<string, unknown> = {}): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    iss: transmitter,
    aud: ORIGIN,
    iat: Math.floor(Date.now() / 1000),
    jti: crypto.randomUUID(),
    sub_id: subId,
    events: { [event]: { event_timestamp: Math.floor(Date.now() / 1000), ...payload } },
    ...over,
  };
  for (const [k, v] of Object.entries(over)) if (v === undefined) delete claims[k];
  return claims;
}

async function control<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${transmitter}/__test/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`SSF transmitter /__test/${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function signSet(claims: Record<string, unknown>, script: Omit<SsfSignScript, 'claims'> = {}): Promise<string> {
  return (await control<{ jwt: string }>('sign', { ...script, claims })).jwt;
}

export const transmitterStats = () => control<SsfStats>('stats');
export const resetTransmitter = () => control<{ ok: true }>('reset', {});

/** Push delivery (RFC 8935 2): the SET is the whole body. */
export function deliver(gw: Gateway, jwt: string, contentType = SECEVENT_JWT): Promise<Response> {
  return gw.fetch('/_auth/ssf', {
    method: 'POST',
    headers: { 'content-type': contentType, accept: 'application/json' },
    body: jwt,
    cookies: false,
    store: false,
  });
}

/** A 400 with the RFC 8935 2.3 error body; returns its `err`. */
export async function errOf(res: Response): Promise<string> {
  const body = (await res.json()) as { err?: unknown; description?: unknown };
  if (res.status !== 400 || typeof body.err !== 'string' || typeof body.description !== 'string') {
    throw new Error(`expected a 400 RFC 8935 error, got ${res.status} ${JSON.stringify(body)}`);
  }
  return body.err;
}
