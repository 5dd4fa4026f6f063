// Several identity providers in front of one site: sign-in through each, the chooser, home-realm
// discovery, and a rule that names its IdPs (docs/protocols.md "Several identity providers").
import { describe, expect, it } from 'vitest';
import { CLIENT_ID, CLIENT_SECRET } from '../setup/constants';
import { createTestIssuer } from '../support/flows';
import { CORP, PARTNER, corpIssuer, evilIssuer, idpsGateway, partnerIssuer, signInAt, startAt, userHeadersOf } from './helpers';
import { configProblems } from '../support/config-errors';

const ROUTES = [
  { path: '/corp/**', auth: 'session', idps: ['corp'] },
  { path: '/**', auth: 'session' },
];

describe('sign-in through each IdP', () => {
  it('corp and partner each sign in at their own issuer and redirect URI, and the upstream learns which', async () => {
    for (const [idp, issuer] of [['corp', corpIssuer], ['partner', partnerIssuer]] as const) {
      const gw = idpsGateway([CORP, PARTNER], { ROUTES });
      const authorize = await startAt(gw, idp);
      expect(authorize.origin).toBe(new URL(issuer).origin);
      expect(authorize.searchParams.get('redirect_uri')).toBe(`https://localhost/_auth/callback/${idp}`);
      await signInAt(gw, idp, 'bob');
      const seen = await userHeadersOf(gw, '/page');
      expect(seen.status).toBe(200);
      expect(seen.headers['x-user']).toBe('bob');
      expect(seen.headers['x-user-idp']).toBe(idp);
    }
  });

  it('USER_IDP_QUALIFIED names the user with the IdP: equal subs from two IdPs stay two users', async () => {
    const gw = idpsGateway([CORP, PARTNER], { ROUTES, USER_IDP_QUALIFIED: 'true' });
    await signInAt(gw, 'partner', 'alice');
    expect((await userHeadersOf(gw, '/page')).headers['x-user']).toBe('partner:alice');
  });

  it('an unknown idp in the sign-in link is refused', async () => {
    const gw = idpsGateway([CORP, PARTNER]);
    expect((await gw.fetch('/_auth/login?idp=nope&rd=/', { headers: { accept: 'text/html' } })).status).toBe(400);
  });

  it('the callback of an IdP that is not configured is not found', async () => {
    const gw = idpsGateway([CORP, PARTNER]);
    expect((await gw.fetch('/_auth/callback/nope?code=x&state=y')).status).toBe(404);
    // Without an IdP named default, the plain callback completes nothing either.
    expect((await gw.fetch('/_auth/callback?code=x&state=y')).status).toBe(404);
  });
});

describe('choosing an IdP', () => {
  it('a navigation where several IdPs may sign in gets the chooser; the last choice comes first', async () => {
    const gw = idpsGateway([CORP, PARTNER], { ROUTES });
    const page = await gw.fetch('/reports?x=1', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Corp SSO');
    expect(html).toContain('Partner login');
    expect(html).toContain(`href="/_auth/login?idp=partner&amp;rd=${encodeURIComponent('/reports?x=1')}"`);
    expect(html).toContain('<label for="email">');
    expect(html.indexOf('Corp SSO')).toBeLessThan(html.indexOf('Partner login'));

    // Choosing partner remembers it; the next chooser offers it first.
    await startAt(gw, 'partner', '/reports');
    const again = await (await gw.fetch('/reports', { headers: { accept: 'text/html' } })).text();
    expect(again.indexOf('Partner login')).toBeLessThan(again.indexOf('Corp SSO'));
    expect(again).toContain('(last used)');
  });

  it('"sign in as someone else" (prompt=login) keeps its prompt through the chooser: links and email form', async () => {
    const gw = idpsGateway([CORP, PARTNER], { ROUTES });
    const page = await gw.fetch('/_auth/login?rd=%2Freports&prompt=login', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`href="/_auth/login?idp=partner&amp;rd=${encodeURIComponent('/reports')}&amp;prompt=login"`);
    expect(html).toContain('<input type="hidden" name="prompt" value="login">');
    // The link the chooser offers reaches the IdP with prompt=login.
    const chosen = await gw.fetch(`/_auth/login?idp=partner&rd=${encodeURIComponent('/reports')}&prompt=login`, { headers: { accept: 'text/html' } });
    expect(chosen.status).toBe(302);
    expect(new URL(chosen.headers.get('location')!).searchParams.get('prompt')).toBe('login');
    // Without a prompt, none is added.
    expect(await (await gw.fetch('/_auth/login?rd=%2Freports', { headers: { accept: 'text/html' } })).text()).not.toContain('prompt');
  });

  it('a rule naming one IdP goes straight to it, without the chooser', async () => {
    const gw = idpsGateway([CORP, PARTNER], { ROUTES });
    const res = await gw.fetch('/corp/wiki', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!).origin).toBe(new URL(corpIssuer).origin);
  });

  it('an email domain hint (login_hint, or the address typed on the chooser) skips the chooser', async () => {
    const gw = idpsGateway([CORP, PARTNER], { ROUTES });
    const res = await gw.fetch(`/_auth/login?rd=/&login_hint=${encodeURIComponent('dan@Contractor.example')}`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(302);
    const authorize = new URL(res.headers.get('location')!);
    expect(authorize.origin).toBe(new URL(partnerIssuer).origin);
    expect(authorize.searchParams.get('login_hint')).toBe('dan@Contractor.example');

    // A domain no IdP claims: the chooser again, saying so.
    const unknown = await gw.fetch(`/_auth/login?rd=/&login_hint=${encodeURIComponent('eve@elsewhere.example')}`, { headers: { accept: 'text/html' } });
    expect(unknown.status).toBe(200);
    expect(await unknown.text()).toContain('role="alert"');

    // A hint for an IdP the path's rule does not allow does not lead there.
    const refused = await gw.fetch(`/_auth/login?rd=/corp/x&login_hint=${encodeURIComponent('dan@contractor.example')}`, { headers: { accept: 'text/html' } });
    expect(new URL(refused.headers.get('location')!).origin).toBe(new URL(corpIssuer).origin);
  });
});

describe('a rule for one IdP', () => {
  it('refuses a session from another IdP: 403 for programs, sign-in with the allowed IdP for navigations', async () => {
    const gw = idpsGateway([CORP, PARTNER], { ROUTES });
    await signInAt(gw, 'partner', 'alice');
    expect((await userHeadersOf(gw, '/page')).status).toBe(200);

    const api = await gw.fetch('/corp/data', { headers: { accept: 'application/json' } });
    expect(api.status).toBe(403);
    const nav = await gw.fetch('/corp/data', { headers: { accept: 'text/html' } });
    expect(nav.status).toBe(302);
    expect(new URL(nav.headers.get('location')!).origin).toBe(new URL(corpIssuer).origin);

    // Once signed in with corp, the same path opens.
    await signInAt(gw, 'corp', 'alice', '/corp/data');
    const seen = await userHeadersOf(gw, '/corp/data');
    expect(seen.status).toBe(200);
    expect(seen.headers['x-user-idp']).toBe('corp');
  });
});

describe('configuration', () => {
  async function problems(overrides: Record<string, unknown>, idps: Record<string, unknown>[] = [CORP, PARTNER]): Promise<string> {
    // JSON-quoted, as the assertions below were written against the JSON body.
    return JSON.stringify(await configProblems(() => idpsGateway(idps, overrides).fetch('/', { headers: { accept: 'application/json' } })));
  }

  it('names the IdP and the key', async () => {
    const missing = await problems({}, [CORP, { ...PARTNER, issuer: undefined }]);
    expect(missing).toMatch(/IDPS\[partner\]\.issuer: is required/);
    expect(missing).not.toMatch(/names no identity provider/);
    expect(await problems({ OIDC_CLIENT_SECRET_PARTNER: undefined })).toMatch(/OIDC_CLIENT_SECRET_PARTNER: is required for IDPS\[partner\]\.client_auth = client_secret_basic/);
    expect(await problems({}, [CORP, { ...PARTNER, response_type: 'id_token', response_mode: 'query' }])).toMatch(/IDPS\[partner\]\.response_mode: must be form_post/);
    expect(await problems({}, [CORP, { ...PARTNER, colour: 'red' }])).toMatch(/IDPS\[partner\]\.colour: is not an IDPS key/);
    expect(await problems({}, [CORP, { ...PARTNER, name: 'corp' }])).toMatch(/IDPS\[corp\]\.name: is used by another IdP/);
    expect(await problems({}, [CORP, { ...PARTNER, issuer: corpIssuer }])).toMatch(/IDPS\[partner\]\.issuer: is also the issuer of IdP \\"corp\\"/);
    expect(await problems({ OIDC_CLIENT_SECRET_PARNTER: CLIENT_SECRET })).toMatch(/OIDC_CLIENT_SECRET_PARNTER: names no identity provider/);
    expect(await problems({ OIDC_ISSUER: corpIssuer })).toMatch(/OIDC_ISSUER: cannot be used together with IDPS/);
    expect(await problems({ ROUTES: [{ path: '/**', auth: 'session', idps: ['crop'] }] })).toMatch(/ROUTES\[0\]\.idps: names \\"crop\\"/);
  });

  it('a setting the IdP\'s metadata shows unusable is named by the IdP\'s key', async () => {
    // Found only when the IdP is first met: its discovery document (a test issuer tenant) says what it supports.
    async function signInAtOdd(metadata: Record<string, unknown>, settings: Record<string, unknown>): Promise<string> {
      const odd = { name: 'odd', issuer: await createTestIssuer(evilIssuer, metadata), client_id: CLIENT_ID, ...settings };
      const res = await idpsGateway([CORP, odd]).fetch('/_auth/login?idp=odd&rd=/', { headers: { accept: 'application/json' } });
      expect(res.status).toBe(500);
      return JSON.stringify(await res.json());
    }
    const mode = await signInAtOdd({ response_modes_supported: ['query'] }, { response_mode: 'form_post' });
    expect(mode).toMatch(/IDPS\[odd\]\.response_mode: is form_post, but the identity provider supports only query/);
    expect(mode).not.toMatch(/OIDC_RESPONSE_MODE/);
    const auth = await signInAtOdd({ token_endpoint_auth_methods_supported: ['private_key_jwt'] }, {});
    expect(auth).toMatch(/IDPS\[odd\]\.client_auth: is client_secret_basic, but the identity provider supports only private_key_jwt/);
    expect(auth).not.toMatch(/OIDC_CLIENT_AUTH/);
  });
});
