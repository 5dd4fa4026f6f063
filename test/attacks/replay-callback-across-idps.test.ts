// A captured authorization response (callback URL and transaction cookie) replayed at another IdP's
// redirect URI: the transaction is bound to the IdP it started at, and single-use, so no session.
import { describe, expect, it } from 'vitest';
import { CORP, PARTNER, callbackFrom, idpsGateway, startAt } from '../idps/helpers';

describe('replaying a sign-in response across IdPs', () => {
  it('is refused at the other IdP’s callback, before and after the real one completed', async () => {
    const gw = idpsGateway([CORP, PARTNER]);
    const callback = await callbackFrom(await startAt(gw, 'corp'));
    const captured = gw.jar.header(callback.href)!;
    const atPartner = new URL(`/_auth/callback/partner${callback.search}`, callback).href;

    const before = await gw.fetch(atPartner, { headers: { accept: 'application/json', cookie: captured }, store: false });
    expect(before.status).toBe(400);

    // The browser's own answer: one sign-in at corp.
    expect((await gw.fetch(callback.href, { headers: { accept: 'text/html', cookie: captured } })).status).toBe(303);

    for (const url of [atPartner, callback.href]) {
      const replay = await gw.fetch(url, { headers: { accept: 'application/json', cookie: captured }, store: false });
      expect(replay.status).toBe(400);
      expect(replay.headers.getSetCookie().some((c) => /^(__Host-)?edgegate=[^;]/.test(c) && !/Max-Age=0/i.test(c))).toBe(false);
    }
  });
});
