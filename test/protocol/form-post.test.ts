// response_mode=form_post (OAuth 2.0 Form Post Response Mode): the IdP answers with an auto-submitted
// cross-site POST to /_auth/callback. Only the transaction cookie is SameSite=None; the session stays Lax.
import { describe, expect, it } from 'vitest';
import { setCookies } from '../support/cookies';
import { atIdp, CALLBACK, deliver, expectRefused, NAVIGATE, protocolGateway, redirectToIdp, signInThrough, upstreamIdentity } from './helpers';

const formPost = () => protocolGateway({ OIDC_RESPONSE_MODE: 'form_post' });

describe('response_mode=form_post', () => {
  it('asks for form_post and sets the transaction cookie SameSite=None; Secure (only it)', async () => {
    const gw = formPost();
    const { response, location } = await redirectToIdp(gw);
    expect(location.searchParams.get('response_mode')).toBe('form_post');
    expect(location.searchParams.get('response_type')).toBe('code');
    const [tx] = setCookies(response).filter((c) => c.name.startsWith('__Host-edgegate-tx-'));
    expect(tx).toMatchObject({ secure: true, httpOnly: true, path: '/', sameSite: 'None' });
  });

  it('signs in through a cross-site POST, answers 303 to rd, and the session cookie stays Lax', async () => {
    const gw = formPost();
    const { location } = await redirectToIdp(gw);
    const answer = await atIdp(location.href);
    expect(answer.method).toBe('POST');
    expect(answer.url).toBe(CALLBACK);
    const res = await deliver(gw, answer);
    expect(res.status, await res.clone().text()).toBe(303);
    expect(res.headers.get('location')).toBe('/home');
    const session = setCookies(res).find((c) => c.name === '__Host-edgegate');
    expect(session).toMatchObject({ sameSite: 'Lax', secure: true, httpOnly: true });
    const spent = setCookies(res).find((c) => c.name.startsWith('__Host-edgegate-tx-'));
    expect(spent).toMatchObject({ maxAge: 0, sameSite: 'None', secure: true });
    expect((await upstreamIdentity(gw))['x-user']).toBe('alice');
  });

  it('refuses the response as a GET when form_post was asked for (an ID token or code never rides in a URL)', async () => {
    const gw = formPost();
    const { location } = await redirectToIdp(gw);
    const answer = await atIdp(location.href);
    if (answer.method !== 'POST') throw new Error('expected a form_post answer');
    const asQuery = `${answer.url}?${answer.body}`;
    await expectRefused(gw, await gw.fetch(asQuery, { headers: NAVIGATE }), 400, 'callback_invalid');
  });

  it('refuses a POSTed response when the query mode is configured', async () => {
    const gw = protocolGateway();
    const { location } = await redirectToIdp(gw);
    const answer = await atIdp(location.href);
    if (answer.method !== 'GET') throw new Error('expected a query answer');
    const body = new URL(answer.url).searchParams;
    await expectRefused(gw, await deliver(gw, { method: 'POST', url: CALLBACK, body }), 400, 'callback_invalid');
  });

  it('refuses a replayed form_post: resubmitted by the browser (transaction spent)', async () => {
    const gw = formPost();
    expect((await signInThrough(gw)).status).toBe(303);
    const again = formPost();
    const { location } = await redirectToIdp(again);
    const answer = await atIdp(location.href);
    expect((await deliver(again, answer)).status).toBe(303);
    await expectRefusedStatus(await deliver(again, answer), 400, 'signin_state_invalid');
  });

  it('refuses a replayed form_post sent again with a captured transaction cookie', async () => {
    const gw = formPost();
    const { location } = await redirectToIdp(gw);
    const captured = gw.jar.header(CALLBACK);
    const answer = await atIdp(location.href);
    expect((await deliver(gw, answer)).status).toBe(303);
    if (answer.method !== 'POST') throw new Error('expected a form_post answer');
    const attacker = formPost();
    const replay = await attacker.fetch(answer.url, {
      method: 'POST',
      body: answer.body,
      headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', cookie: captured },
    });
    await expectRefused(attacker, replay, 400, 'callback_invalid');
  });

  it('refuses a body that is not a form, and one that is too large', async () => {
    const gw = formPost();
    await redirectToIdp(gw);
    const json = await gw.fetch('/_auth/callback', { method: 'POST', body: '{"state":"x"}', headers: { accept: 'text/html', 'content-type': 'application/json' } });
    expect(json.status).toBe(400);
    const huge = await gw.fetch('/_auth/callback', { method: 'POST', body: `state=${'a'.repeat(70_000)}`, headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' } });
    expect(huge.status).toBe(413);
  });

  it('keeps the transaction cookie Lax on a plain-HTTP loopback demo (same site as the IdP; None needs Secure)', async () => {
    const gw = formPost();
    const res = await gw.fetch('http://127.0.0.1/_auth/login?rd=%2F', { headers: NAVIGATE });
    expect(res.status).toBe(302);
    const [tx] = setCookies(res).filter((c) => c.name.startsWith('edgegate-tx-'));
    expect(tx).toMatchObject({ secure: false, sameSite: 'Lax' });
  });
});

async function expectRefusedStatus(res: Response, status: number, code: string): Promise<void> {
  const body = await res.text();
  expect(res.status, body.slice(0, 300)).toBe(status);
  expect(body).toContain(`Error ${code}`);
}
