import type { AuthParams } from './auth-params';
import type { ParUse, ResponseMode, ResponseType, Settings } from './schema';

/**
 * Which OpenID Connect flow the gateway runs, from `OIDC_RESPONSE_TYPE`, `OIDC_RESPONSE_MODE`,
 * `OIDC_USE_PAR`, `OIDC_SILENT_REAUTH` and `OIDC_AUTH_PARAMS`: checked on their own when the
 * configuration is read, and against the IdP's metadata when a sign-in starts.
 */
export interface ProtocolSettings {
  responseType: ResponseType;
  /** Resolved: `query` for the code flow unless configured, `form_post` otherwise. */
  responseMode: ResponseMode;
  usePar: ParUse;
  /** Try `prompt=none` first when a session ended (docs/protocols.md "Silent re-authentication"). */
  silentReauth: boolean;
  /** OIDC_AUTH_PARAMS, validated; added to every authorization request. */
  authParams: AuthParams;
  /** `aud` of client assertions: the issuer identifier (RFC 7523bis, RFC 9126 2), or the token endpoint (Entra ID, ADFS). */
  clientAssertionAud: 'issuer' | 'token_endpoint';
}

interface Problem {
  key: string;
  message: string;
}

type ProtocolInput = Pick<
  Settings,
  'OIDC_RESPONSE_TYPE' | 'OIDC_RESPONSE_MODE' | 'OIDC_USE_PAR' | 'OIDC_SILENT_REAUTH' | 'OIDC_SCOPES' | 'OIDC_CLIENT_AUTH' | 'OIDC_CLIENT_KEY' | 'OIDC_CLIENT_ASSERTION_AUD'
>;

/** The settings that shape the authorization request, and what is wrong with their combination. */
export function protocolSettings(s: ProtocolInput, authParams: AuthParams): { settings: ProtocolSettings; problems: Problem[] } {
  const problems: Problem[] = [];
  const responseType = s.OIDC_RESPONSE_TYPE;
  const responseMode = s.OIDC_RESPONSE_MODE ?? (responseType === 'code' ? 'query' : 'form_post');
  if (responseType !== 'code' && responseMode !== 'form_post') {
    // OAuth 2.0 Multiple Response Types 5: a response with an ID token must not use the query (it
    // would sit in logs, history and Referer); the fragment never reaches a server. form_post it is.
    problems.push({ key: 'OIDC_RESPONSE_MODE', message: `must be form_post with OIDC_RESPONSE_TYPE = "${responseType}": an ID token never travels in a URL` });
  }
  if (responseType === 'id_token' && s.OIDC_SCOPES.includes('offline_access')) {
    problems.push({ key: 'OIDC_SCOPES', message: 'offline_access needs a flow with a code (OIDC_RESPONSE_TYPE = "code" or "code id_token"); "id_token" gets no refresh token' });
  }
  if (s.OIDC_CLIENT_AUTH === 'private_key_jwt' && s.OIDC_CLIENT_KEY) {
    const problem = clientKeyShapeProblem(s.OIDC_CLIENT_KEY);
    if (problem) problems.push({ key: 'OIDC_CLIENT_KEY', message: problem });
  }
  return {
    settings: {
      responseType,
      responseMode,
      usePar: s.OIDC_USE_PAR,
      silentReauth: s.OIDC_SILENT_REAUTH,
      authParams,
      clientAssertionAud: s.OIDC_CLIENT_ASSERTION_AUD,
    },
    problems,
  };
}

/**
 * What can be told about OIDC_CLIENT_KEY without importing it (that is async, at the first sign-in):
 * the usual wrong files — a public key, a PKCS#1 or SEC1 PEM, a certificate.
 */
function clientKeyShapeProblem(material: string): string | null {
  const text = material.trim();
  if (text.startsWith('{')) {
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return 'is not valid JSON (expected a private JWK or a PKCS#8 PEM)';
    }
    if (jwk['kty'] === 'oct') return 'is a shared secret; private_key_jwt needs an RSA, EC or OKP private key (or use client_secret_jwt)';
    if (typeof jwk['d'] !== 'string') return 'is a public key; private_key_jwt needs the private JWK (with "d"); register the public part at the IdP';
    return null;
  }
  if (/-----BEGIN (RSA|EC) PRIVATE KEY-----/.test(text)) {
    return 'is a PKCS#1/SEC1 PEM; convert it to PKCS#8: openssl pkcs8 -topk8 -nocrypt -in key.pem';
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) return 'is an encrypted PEM; store it unencrypted (it is a Worker secret)';
  if (/-----BEGIN (CERTIFICATE|PUBLIC KEY)-----/.test(text)) return 'is a certificate or public key; private_key_jwt needs the private key';
  if (!/-----BEGIN PRIVATE KEY-----/.test(text)) return 'expected a private JWK (JSON) or a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)';
  return null;
}

