import type { RequestContext } from '../context';
import { auditSignedOut } from '../http/audit';
import { log } from '../http/log';
import type { IndexEntry } from '../session/index-store';
import { emailVerified } from '../policy/identity';
import { sessionIndexFor } from './coordinated';
import type { Session } from '../session/model';
import type { SessionHandle } from '../session/store';
import { forgetSession } from './revocation';
import { withIdp } from '../config/idps';

/** The issuer of the IdP that signed a session in: its index entries are filed under it (one IdP's logout never finds another's sessions). */
function issuerOf(ctx: RequestContext, idp: string | undefined): string {
  return (withIdp(ctx.config, idp) ?? ctx.config).issuer;
}

function assumeVerified(ctx: RequestContext, idp: string | undefined): boolean {
  return (withIdp(ctx.config, idp) ?? ctx.config).assumeEmailVerified;
}

/**
 * How a session ends: registered at sign-in so that logout from the IdP can find it, ended one by one
 * (logout, refresh refused, lifetime over) or by the IdP's logout (its `sid`, its `sub`).
 */

function indexEntry(ctx: RequestContext, session: Session): IndexEntry {
  return { iss: issuerOf(ctx, session.idp), sub: session.sub, sid: session.sid, email: verifiedEmail(session.claims, assumeVerified(ctx, session.idp)) };
}

/**
 * The address a Shared Signals `email` subject may name this session by: only one the IdP says it
 * verified (Core 5.1 `email_verified`), lower-cased; anyone can type an unverified address into a profile.
 */
function verifiedEmail(claims: Record<string, unknown> | undefined, assumeVerified: boolean): string | undefined {
  const email = claims?.['email'];
  return claims && emailVerified(claims, assumeVerified) && typeof email === 'string' && email !== '' ? email.toLowerCase() : undefined;
}

/** Makes a new session findable by logout from the IdP (its `sid`, its `sub`, its verified email). Called at sign-in. */
export async function registerSession(ctx: RequestContext, handle: SessionHandle, session: Session): Promise<void> {
  const index = sessionIndexFor(ctx.config);
  await index.add(handle.id, indexEntry(ctx, session), session.expiresAt, ctx.now);
}

/**
 * Ends one session for good (session/store.ts `end`: KV tombstone and deletion; with the coordinator
 * also the object's mark, which every location sees within a second); index entries later.
 */
export async function endSession(
  ctx: RequestContext,
  id: string,
  session: { sub: string; sid?: string | undefined; email?: string | undefined; claims?: Record<string, unknown>; expiresAt?: number; idp?: string | undefined; iss?: string },
  reason = 'logout',
): Promise<void> {
  forgetSession(ctx, id);
  await ctx.store.end(id, session.expiresAt ?? ctx.now + ctx.config.maxTtl, ctx.now, reason);
  await auditSignedOut(id, { sub: session.sub || undefined, idp: session.idp ?? (session.sub ? 'default' : undefined), reason });
  const index = sessionIndexFor(ctx.config);
  ctx.waitUntil(
    index.remove(id, { iss: session.iss ?? issuerOf(ctx, session.idp), sub: session.sub, sid: session.sid, email: session.email ?? verifiedEmail(session.claims, assumeVerified(ctx, session.idp)) }).catch((error: unknown) => {
      log('warn', 'session_index_cleanup_failed', { detail: error instanceof Error ? error.message.slice(0, 200) : 'unknown' });
    }),
  );
}

/**
 * Logout initiated by the IdP (Back-Channel Logout 2.7, Front-Channel Logout 3) or by a Shared Signals
 * event (routes/ssf.ts): a `sid` ends the sessions of that IdP session (of that user, when `sub` or
 * `email` is given too); a `sub` alone ends all of the user's sessions; an `email` alone all sessions
 * whose verified email it is. Returns how many sessions were ended.
 */
export async function endIdpSessions(
  ctx: RequestContext,
  target: { sub?: string | undefined; sid?: string | undefined; email?: string | undefined },
  reason = 'idp_logout',
  /** The issuer of the IdP whose sessions end (the logout token's `iss`); only that IdP's sessions are found. */
  iss = ctx.config.issuer,
): Promise<number> {
  const index = sessionIndexFor(ctx.config);
  const email = target.email?.toLowerCase();
  const matches = (r: { sub: string; email?: string }) => (target.sub === undefined || r.sub === target.sub) && (email === undefined || r.email === email);
  let records;
  if (target.sid !== undefined) {
    records = (await index.bySid(iss, target.sid)).filter(matches);
  } else if (target.sub !== undefined) {
    records = (await index.bySub(iss, target.sub)).filter(matches);
  } else if (email !== undefined) {
    records = await index.byEmail(iss, email);
  } else {
    return 0;
  }
  await Promise.all(records.map((record) => endSession(ctx, record.id, { ...record, iss }, reason)));
  return records.length;
}
