// RFC 9207: the `iss` authorization response parameter names the issuer that answered. It must equal
// the configured issuer when present, and must be present when the issuer advertises
// `authorization_response_iss_parameter_supported` (otherwise an IdP mix-up goes unnoticed).
import { describe, expect, inject, it } from 'vitest';
import { setCookies } from '../support/cookies';
import { createTestIssuer, signInWithScript, tokenRequestFor } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';

const rootIssuer = inject('testIssuerUrl');
const SESSION = '__Host-edgegate';

/** The refusal as a browser sees it: status + code on a page that leaks nothing, no session, still signed out. */
async function expectRefused(gw: Gateway, res: Response, status: number, code: string, secrets: string[] = []) {
  const body = await res.text();
  expect(res.status, body.slice(0, 300)).toBe(status);
  expect(body).toContain(`Error ${code}`);
  for (const secret of secrets) expect(body).not.toContain(secret);
  expect(body).not.toMatch(/eyJ[\w-]{8,}\./); // no JWT
  expect(body).not.toMatch(/\n\s+at \S+/); // no stack trace
  for (const c of setCookies(res).filter((c) => c.name === SESSION)) expect(c.maxAge === 0 || c.value === '').toBe(true);
  expect(gw.jar.get(SESSION)).toBeUndefined();
  const next = await gw.fetch('/private', { headers: { accept: 'text/html' }, store: false });
  expect(next.status).toBe(302);
  expect(next.headers.get('location')).toMatch(new RegExp(`^${String(gw.env.OIDC_ISSUER)}/authorize\\?`));
}

/** The code must not have been redeemed: the check happens before the token request. */
async function expectNotRedeemed(issuer: string, code: string) {
  await expect(tokenRequestFor(issuer, code)).rejects.toThrow(/404/);
}

describe('iss response parameter (RFC 9207), issuer advertises it', () => {
  it('signs in when iss equals the issuer (baseline)', async () => {
    const gw = gateway({ OIDC_ISSUER: rootIssuer });
    const { callbackResponse } = await signInWithScript(gw);
    expect(callbackResponse.status).toBe(303);
    expect(gw.jar.get(SESSION)).toBeTruthy();
  });

  it('refuses a response whose iss names another issuer (mix-up)', async () => {
    const other = await createTestIssuer(rootIssuer);
    const gw = gateway({ OIDC_ISSUER: rootIssuer });
    const { callbackResponse, code } = await signInWithScript(gw, {}, { callbackParams: { iss: other } });
    await expectRefused(gw, callbackResponse, 400, 'callback_invalid', [code]);
    await expectNotRedeemed(rootIssuer, code);
  });

  it('refuses a response whose iss is the issuer with characters appended', async () => {
    const gw = gateway({ OIDC_ISSUER: rootIssuer });
    const { callbackResponse, code } = await signInWithScript(gw, {}, { callbackParams: { iss: `${rootIssuer}x` } });
    await expectRefused(gw, callbackResponse, 400, 'callback_invalid', [code]);
    await expectNotRedeemed(rootIssuer, code);
  });

  it('refuses a response whose iss is the issuer with a trailing slash', async () => {
    const gw = gateway({ OIDC_ISSUER: rootIssuer });
    const { callbackResponse, code } = await signInWithScript(gw, {}, { callbackParams: { iss: `${rootIssuer}/` } });
    await expectRefused(gw, callbackResponse, 400, 'callback_invalid', [code]);
    await expectNotRedeemed(rootIssuer, code);
  });

  it('refuses a response from which the attacker stripped iss', async () => {
    const gw = gateway({ OIDC_ISSUER: rootIssuer });
    const { callbackResponse, code } = await signInWithScript(gw, {}, { callbackParams: { iss: undefined } });
    await expectRefused(gw, callbackResponse, 400, 'callback_invalid', [code]);
    await expectNotRedeemed(rootIssuer, code);
  });
});

describe('iss response parameter, issuer does not advertise it', () => {
  it('signs in when iss is absent', async () => {
    const issuer = await createTestIssuer(rootIssuer, { authorization_response_iss_parameter_supported: null });
    const gw = gateway({ OIDC_ISSUER: issuer });
    const { callbackResponse } = await signInWithScript(gw, {}, { callbackParams: { iss: undefined } });
    expect(callbackResponse.status).toBe(303);
    expect(gw.jar.get(SESSION)).toBeTruthy();
    expect((await gw.fetch('/private', { headers: { accept: 'text/html' } })).status).toBe(200);
  });

  it('still refuses an iss naming another issuer', async () => {
    const issuer = await createTestIssuer(rootIssuer, { authorization_response_iss_parameter_supported: false });
    const gw = gateway({ OIDC_ISSUER: issuer });
    const { callbackResponse, code } = await signInWithScript(gw, {}, { callbackParams: { iss: rootIssuer } });
    await expectRefused(gw, callbackResponse, 400, 'callback_invalid', [code]);
    await expectNotRedeemed(rootIssuer, code);
  });
});
