// Audit events (docs/operations.md "Log events"): `signed_in` and `signed_out` name the user, the IdP and how the
// session ended, pair by a one-way tag of the session id, and carry no token, cookie or session id;
// refusals name who was refused when that is known.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deliverLogoutToken } from '../support/backchannel';
import { API, SESSION_COOKIE, handleOf, idp, lifecycleGateway, signInWithIdpJar, signOutAtTheIdp } from '../support/lifecycle';
import { captureLogs, type CapturedLogs } from '../support/logs';

let logs: CapturedLogs;
beforeEach(async () => {
  await idp.reset();
  logs = captureLogs();
});
afterEach(() => logs.restore());

const events = (name: string) => logs.entries().filter((e) => e['event'] === name);

describe('audit events', () => {
  it('signed_in, then signed_out by the user, paired by a tag that is not the session id', async () => {
    const gw = lifecycleGateway();
    await signInWithIdpJar(gw, 'alice');
    const { id, secret } = handleOf(gw);
    const [signedIn] = events('signed_in');
    expect(signedIn).toMatchObject({ level: 'info', sub: 'alice', idp: 'default', session: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/) });
    expect((await gw.fetch('/_auth/logout', { method: 'POST', headers: API })).status).toBe(200);
    const [signedOut] = events('signed_out');
    expect(signedOut).toMatchObject({ how: 'user', reason: 'logout', sub: 'alice', session: signedIn!['session'] });
    const all = logs.lines.join('\n');
    for (const value of [id, secret, gw.jar.get(SESSION_COOKIE) ?? '']) if (value) expect(all).not.toContain(value);
  });

  it('signed_out by back-channel logout, one per session ended; a logout that matched nothing says so', async () => {
    const gw = lifecycleGateway();
    const idpJar = await signInWithIdpJar(gw, 'alice');
    await signOutAtTheIdp(idpJar);
    const [sent] = await idp.logoutTokens();
    const deliver = () => deliverLogoutToken(lifecycleGateway(), sent!.logoutToken);
    expect((await deliver()).status).toBe(200);
    expect(events('signed_out')).toEqual([expect.objectContaining({ how: 'back-channel', sub: 'alice' })]);
    expect(events('backchannel_logout')[0]).toMatchObject({ sessions_ended: 1 });
    expect(events('backchannel_logout')[0]).not.toHaveProperty('note');
  });

  it('a refusal names who was refused', async () => {
    const gw = lifecycleGateway({ ROUTES: JSON.stringify([{ path: '/admin/**', auth: 'session', allow: { groups: ['nobody-has-this'] } }]) });
    await signInWithIdpJar(gw, 'alice');
    expect((await gw.fetch('/admin/x', { headers: API })).status).toBe(403);
    expect(events('request_refused')).toEqual([expect.objectContaining({ code: 'forbidden', sub: 'alice', rule: 0, idp: 'default', via: 'session' })]);
  });
});
