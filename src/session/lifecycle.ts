import type { RequestContext } from '../routes/context';
import type { Current } from '../routes/session';

/**
 * Keeps a loaded session's tokens usable before it is used for a request: refresh near expiry,
 * end it when the IdP says so. (Token lifecycle: to be completed — currently the identity.)
 */
export async function keepFresh(_ctx: RequestContext, current: Current): Promise<Current | null> {
  return current;
}
