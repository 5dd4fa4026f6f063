// What the browser gets when the IdP refuses or fails: an error response at the callback (RFC 6749
// 4.1.2.1) is a readable page, a token endpoint answering garbage is a 502, too slow a 504, unreachable
// a 503 — never a session, never the IdP's raw answer or a stack trace.
import { describe, expect, inject, it } from 'vitest';
import { CLIENT_SECRET } from '../setup/constants';
import { callback, createTestIssuer, signInWithScript, startSignIn, type CodeScript } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { expectRefused } from '../support/assertions';

const issuer = inject('testIssuerUrl');
const SESSION = '__Host-edgegate';
const TX_PREFIX = '__Host-edgegate-tx-';

const RAW = 'idp-internal-detail-that-must-not-be-shown';

async function tokenEndpointAnswers(script: CodeScript, config: Record<string, unknown> = {}) {
  const gw = gateway({ OIDC_ISSUER: issuer, ...config });
  return { gw, ...(await signInWithScript(gw, script)) };
}

/** The IdP redirects back with an error instead of a code. */
async function idpRedirectsWithError(params: Record<string, string>) {
  const gw = gateway({ OIDC_ISSUER: issuer });
  const started = await startSignIn(gw, '/reports?q=1');
  const res = await callback(gw, { state: started.state, iss: issuer, ...params });
  return { gw, res };
}

describe('error responses from the authorization endpoint', () => {
  it('shows a readable 403 page when the user denies consent (access_denied)', async () => {
    const { gw, res } = await idpRedirectsWithError({ error: 'access_denied', error_description: `User said no ${RAW}` });
    const page = await res.clone().text();
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page).toContain('Sign-in was denied');
    expect(page).toContain('access_denied');
    expect(page).toContain('href="/_auth/login?rd=%2Freports%3Fq%3D1"');
    await expectRefused(gw, res, 403, 'idp_denied', [RAW]);
    expect(gw.jar.names().filter((n) => n.startsWith(TX_PREFIX))).toEqual([]);
  });

  it('answers 502 when the IdP reports a server_error', async () => {
    const { gw, res } = await idpRedirectsWithError({ error: 'server_error', error_description: RAW });
    await expectRefused(gw, res, 502, 'idp_error', [RAW]);
  });

  it('does not reflect markup injected through the error parameter', async () => {
    const { gw, res } = await idpRedirectsWithError({ error: '<script>alert(1)</script>', error_description: '<img src=x onerror=alert(2)>' });
    const page = await res.clone().text();
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img');
    await expectRefused(gw, res, 502, 'idp_error');
  });

  it('refuses an error response forged without state', async () => {
    const gw = gateway({ OIDC_ISSUER: issuer });
    await startSignIn(gw);
    const res = await callback(gw, { error: 'access_denied', iss: issuer });
    await expectRefused(gw, res, 400, 'signin_state_invalid');
  });
});

describe('token endpoint failures', () => {
  it('answers 502 when the token endpoint fails with a 500 HTML page', async () => {
    const { gw, callbackResponse, code } = await tokenEndpointAnswers({ tokenStatus: 500, tokenBody: `<html><pre>${RAW}</pre></html>`, tokenContentType: 'text/html' });
    await expectRefused(gw, callbackResponse, 502, 'idp_bad_response', [code, RAW, CLIENT_SECRET]);
  });

  it('answers 502 when the token endpoint answers 200 with something that is not JSON', async () => {
    const { gw, callbackResponse, code } = await tokenEndpointAnswers({ tokenStatus: 200, tokenBody: `garbage ${RAW}`, tokenContentType: 'application/json' });
    await expectRefused(gw, callbackResponse, 502, 'idp_bad_response', [code, RAW]);
  });

  it('answers 502 when the token response lacks access_token and token_type', async () => {
    const { gw, callbackResponse, code } = await tokenEndpointAnswers({ tokenResponse: { access_token: null, token_type: null } });
    await expectRefused(gw, callbackResponse, 502, 'idp_bad_response', [code]);
  });

  it('answers 502 when the token endpoint refuses the client (invalid_client)', async () => {
    const { gw, callbackResponse, code } = await tokenEndpointAnswers({ tokenStatus: 401, tokenBody: { error: 'invalid_client', error_description: RAW } });
    await expectRefused(gw, callbackResponse, 502, 'idp_error', [code, RAW, CLIENT_SECRET]);
  });

  it('answers 400 with a sign-in-again page when the code is refused (invalid_grant)', async () => {
    const { gw, callbackResponse, code } = await tokenEndpointAnswers({ tokenStatus: 400, tokenBody: { error: 'invalid_grant', error_description: RAW } });
    expect(await callbackResponse.clone().text()).toContain('href="/_auth/login?rd=%2F"');
    await expectRefused(gw, callbackResponse, 400, 'callback_invalid', [code, RAW]);
  });

  it('answers 504 when the token endpoint is slower than IDP_TIMEOUT', async () => {
    const started = Date.now();
    const { gw, callbackResponse, code } = await tokenEndpointAnswers({ delayMs: 2000 }, { IDP_TIMEOUT: '1' });
    expect(Date.now() - started).toBeLessThan(1900);
    await expectRefused(gw, callbackResponse, 504, 'idp_timeout', [code]);
  });

  it('answers 503 when the token endpoint cannot be reached', async () => {
    const unreachable = await createTestIssuer(issuer, { token_endpoint: 'http://127.0.0.1:9/token' });
    const gw = gateway({ OIDC_ISSUER: unreachable });
    const { callbackResponse, code } = await signInWithScript(gw);
    await expectRefused(gw, callbackResponse, 503, 'idp_unreachable', [code]);
  });
});
