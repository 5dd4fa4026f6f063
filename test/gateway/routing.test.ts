// The wiring's endpoint table (src/app.ts) as a client sees it: HEAD is GET without a body, an encoded
// spelling of a gateway endpoint is that endpoint, so is one with a trailing slash, `<idp>` takes one
// segment, a method an endpoint does not take is a 404 of the gateway, and a refusal thrown in a
// handler still gets the error page.
import { describe, expect, inject, it } from 'vitest';
import { gateway } from '../support/gateway';
import { signIn } from '../support/flows';
import { API, NAVIGATE } from './helpers';

describe('routing of gateway endpoints', () => {
  it('answers HEAD like GET, without a body', async () => {
    const gw = gateway();
    const get = await gw.fetch('/_auth/login?rd=%2F', { headers: NAVIGATE, store: false });
    const head = await gw.fetch('/_auth/login?rd=%2F', { method: 'HEAD', headers: NAVIGATE, store: false });
    expect(head.status).toBe(get.status);
    expect(new URL(head.headers.get('location')!).origin).toBe(inject('idpIssuer'));
    expect(await head.text()).toBe('');
  });

  it('forwards a signed-in HEAD to the upstream as HEAD, and returns no body', async () => {
    const gw = gateway();
    await signIn(gw);
    const res = await gw.fetch('/page', { method: 'HEAD', headers: API });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('routes an encoded spelling of an endpoint there, but not an extra segment', async () => {
    const gw = gateway();
    const encoded = await gw.fetch('/_auth/logi%6E?rd=%2F', { headers: NAVIGATE, store: false });
    expect(encoded.status).toBe(302);
    expect(new URL(encoded.headers.get('location')!).origin).toBe(inject('idpIssuer'));
    const slash = await gw.fetch('/_auth/login/?rd=%2F', { headers: NAVIGATE, store: false });
    expect(slash.status).toBe(302);
    expect(new URL(slash.headers.get('location')!).origin).toBe(inject('idpIssuer'));
    for (const path of ['/_auth/login/x', '/_auth/callback/a/b', '/_auth', '/_auth/', '/_auth/login//']) {
      const res = await gw.fetch(path, { headers: API, store: false });
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: string }).error, path).toBe('not_found');
    }
  });
});

describe('methods', () => {
  it('answers a method an endpoint does not take with the gateway 404, never the upstream', async () => {
    const gw = gateway();
    await signIn(gw);
    for (const [method, path] of [['POST', '/_auth/login'], ['PUT', '/_auth/callback'], ['DELETE', '/_auth/userinfo'], ['POST', '/_auth/jwks']] as const) {
      const res = await gw.fetch(path, { method, headers: API, store: false });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { error: string }).error).toBe('not_found');
    }
  });
});
