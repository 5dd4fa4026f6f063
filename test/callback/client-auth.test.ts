// Client authentication at the token endpoint: client_secret_basic by default (the secret only in the
// Authorization header, form-urlencoded per RFC 6749 2.3.1), client_secret_post when configured.
import { describe, expect, inject, it } from 'vitest';
import { CLIENT_ID, CLIENT_SECRET } from '../setup/constants';
import { createTestIssuer, signInWithScript, tokenRequestFor } from '../support/flows';
import { gateway } from '../support/gateway';

const issuer = inject('testIssuerUrl');

async function tokenRequestOfSignIn(config: Record<string, unknown>) {
  const gw = gateway({ OIDC_ISSUER: issuer, ...config });
  const { callbackResponse, code } = await signInWithScript(gw);
  expect(callbackResponse.status, await callbackResponse.clone().text()).toBe(303);
  return tokenRequestFor(issuer, code);
}

describe('client authentication', () => {
  it('uses client_secret_basic by default, with no secret in the body', async () => {
    const record = await tokenRequestOfSignIn({});
    expect(record.client).toEqual({ method: 'client_secret_basic', id: CLIENT_ID, secret: CLIENT_SECRET });
    expect(record.authorization).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
    expect(record.params.client_secret).toBeUndefined();
    expect(record.body).not.toContain(CLIENT_SECRET);
    expect(record.contentType).toMatch(/^application\/x-www-form-urlencoded/);
  });

  it('form-urlencodes id and secret before Basic encoding (RFC 6749 2.3.1)', async () => {
    const secret = 'p:ss%w rd+/&=é-0123456789abcdef';
    const record = await tokenRequestOfSignIn({ OIDC_CLIENT_SECRET: secret });
    expect(record.client).toEqual({ method: 'client_secret_basic', id: CLIENT_ID, secret });
    const decoded = atob(record.authorization!.slice('Basic '.length));
    expect(decoded).not.toContain(secret);
  });

  it('uses client_secret_post when OIDC_CLIENT_AUTH says so, with no Authorization header', async () => {
    const record = await tokenRequestOfSignIn({ OIDC_CLIENT_AUTH: 'client_secret_post' });
    expect(record.client).toEqual({ method: 'client_secret_post', id: CLIENT_ID, secret: CLIENT_SECRET });
    expect(record.authorization).toBeNull();
    expect(record.params.client_id).toBe(CLIENT_ID);
  });

  it('reports a configuration error when the issuer does not offer the configured method', async () => {
    const basicOnly = await createTestIssuer(issuer, { token_endpoint_auth_methods_supported: ['client_secret_basic'] });
    const gw = gateway({ OIDC_ISSUER: basicOnly, OIDC_CLIENT_AUTH: 'client_secret_post' });
    const res = await gw.fetch('/_auth/login?rd=%2F', { headers: { accept: 'text/html' } });
    const body = await res.text();
    expect(res.status).toBe(500);
    expect(body).toContain('OIDC_CLIENT_AUTH');
    expect(body).not.toContain(CLIENT_SECRET);
  });
});
