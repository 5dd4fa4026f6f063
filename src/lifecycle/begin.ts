import type { RequestContext } from '../context';
import type { Session } from '../session/model';
import type { SessionHandle } from '../session/store';
import { auditSignedIn } from '../http/audit';
import { registerSession } from './end';

/**
 * A session's start, after a completed sign-in: a new id (a session id planted before sign-in is
 * worthless after it), stored, and findable by logout from the IdP from now on.
 */
export async function beginSession(ctx: RequestContext, session: Session): Promise<SessionHandle> {
  const handle = ctx.store.newHandle();
  await ctx.store.create(handle, session, ctx.config.idleTtl, ctx.now);
  await registerSession(ctx, handle, session);
  await auditSignedIn(handle.id, { sub: session.sub, idp: session.idp ?? 'default', acr: session.claims['acr'], amr: session.claims['amr'] });
  return handle;
}
