// RFC 9207: the `iss` authorization response parameter names the issuer that answered. It must equal
// the configured issuer when present, and must be present when the issuer advertises
// `authorization_response_iss_parameter_supported` (otherwise an IdP mix-up goes unnoticed).
import { describe, expect, inject, it } from 'vitest';
import { createTestIssuer, signInWithScript, tokenRequestFor } from '../support/flows';
import { gateway, type Gateway } from '../support/gateway';
import { expectRefused } from '../support/assertions';

const rootIssuer = inject('testIssuerUrl');
const SESSION = '__Host-edgegate';

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
