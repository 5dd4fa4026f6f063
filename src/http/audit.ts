import { toBase64Url, utf8 } from '../crypto/encoding';
import { log } from './log';

/**
 * Audit events: who signed in and how each session ended, for an operator's log search (Workers
 * Logs, Logpush). They name the user (`sub`, the IdP) — that is their point — but never a token and
 * never a session id: `session` is a short one-way tag of it, enough to pair a `signed_in` with its
 * `signed_out` and with nothing else.
 */

/** How a session ended, from the reason the lifecycle gives (lifecycle/end.ts `endSession`). */
export type SignedOutHow = 'user' | 'back-channel' | 'front-channel' | 'caep' | 'expiry' | 'refresh_refused' | 'replaced' | 'other';

export function signedOutHow(reason: string): SignedOutHow {
  if (reason === 'logout') return 'user';
  if (reason === 'backchannel_logout') return 'back-channel';
  if (reason === 'frontchannel_logout') return 'front-channel';
  if (reason.startsWith('ssf_')) return 'caep';
  if (reason === 'tokens_expired') return 'expiry';
  if (reason === 'invalid_grant' || reason === 'invalid_client' || reason === 'subject_changed' || reason === 'id_token_invalid') return 'refresh_refused';
  if (reason === 'replaced') return 'replaced';
  return 'other';
}

/** 16 characters of a domain-separated SHA-256 of the session id: pairs events, reveals nothing. */
export async function sessionTag(id: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', utf8.encode(`edgegate/audit/v1|${id}`));
  return toBase64Url(new Uint8Array(digest)).slice(0, 16);
}

export async function auditSignedIn(id: string, fields: { sub: string; idp: string; acr?: unknown; amr?: unknown }): Promise<void> {
  log('info', 'signed_in', {
    sub: fields.sub,
    idp: fields.idp,
    ...(typeof fields.acr === 'string' ? { acr: fields.acr } : {}),
    ...(Array.isArray(fields.amr) ? { amr: fields.amr.filter((m) => typeof m === 'string').slice(0, 16) } : {}),
    session: await sessionTag(id),
  });
}

export async function auditSignedOut(id: string, fields: { sub: string | undefined; idp: string | undefined; reason: string }): Promise<void> {
  log('info', 'signed_out', {
    how: signedOutHow(fields.reason),
    reason: fields.reason,
    ...(fields.sub ? { sub: fields.sub } : {}),
    ...(fields.idp ? { idp: fields.idp } : {}),
    session: await sessionTag(id),
  });
}
