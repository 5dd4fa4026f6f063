import * as oauth from 'oauth4webapi';
import { importJWK, type JWK } from 'jose';
import type { Config } from '../config';
import { configProblem, GatewayError } from '../http/errors';
import { settingKey } from '../config/idps';

/**
 * How the gateway authenticates at the token endpoint (and the PAR, revocation and introspection
 * endpoints, RFC 9126 2 / RFC 7009 2.1 / RFC 7662 2.1): the method is checked against the IdP's
 * advertised ones, so a mismatch is a clear configuration error at the first request rather than an
 * `invalid_client` on every sign-in.
 *
 * The JWT methods (RFC 7523 3, Core 9) are oauth4webapi's: `iss` = `sub` = client id, `aud` = the
 * issuer identifier (as RFC 7523bis and RFC 9126 2 recommend, rather than the token endpoint URL), a
 * fresh random `jti`, `iat`/`nbf` now and `exp` 60 s later. Entra ID and ADFS document the token
 * endpoint as the only `aud` they accept: OIDC_CLIENT_ASSERTION_AUD = token_endpoint.
 */
export async function clientAuthentication(config: Config, as: oauth.AuthorizationServer): Promise<oauth.ClientAuth> {
  // RFC 8414 2: absent means client_secret_basic only. `none` (a public client, PKCE only) is not
  // held against the list: Entra ID, Auth0 and Keycloak register public clients without listing it.
  const supported = as.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  if (config.clientAuth !== 'none' && !supported.includes(config.clientAuth)) {
    throw configProblem(
      settingKey(config, 'OIDC_CLIENT_AUTH'),
      `is ${config.clientAuth}, but the identity provider supports only ${supported.join(', ')}`,
    );
  }
  switch (config.clientAuth) {
    case 'client_secret_basic':
      return oauth.ClientSecretBasic(config.clientSecret!);
    case 'client_secret_post':
      return oauth.ClientSecretPost(config.clientSecret!);
    case 'client_secret_jwt':
      assertionAlgAdvertised(as, 'HS256', settingKey(config, 'OIDC_CLIENT_AUTH'));
      return oauth.ClientSecretJwt(config.clientSecret!, { [oauth.modifyAssertion]: (_h, payload) => assertionAudience(config, as, payload) });
    case 'private_key_jwt': {
      const clientKey = settingKey(config, 'OIDC_CLIENT_KEY');
      const { key, alg, header } = await importClientKey(config.clientKey!, as, clientKey);
      assertionAlgAdvertised(as, alg, clientKey);
      return oauth.PrivateKeyJwt(key, {
        [oauth.modifyAssertion]: (h, payload) => {
          // oauth4webapi names Ed25519 keys "Ed25519" (RFC 9864); most IdPs still know only "EdDSA".
          h.alg = alg;
          Object.assign(h, header);
          assertionAudience(config, as, payload);
        },
      });
    }
    case 'none':
      return oauth.None();
  }
}

function assertionAudience(config: Config, as: oauth.AuthorizationServer, payload: Record<string, unknown>): void {
  if (config.clientAssertionAud === 'token_endpoint' && as.token_endpoint) payload['aud'] = as.token_endpoint;
}

/** RFC 8414 2: when the IdP lists the algorithms it accepts for client assertions, ours must be one. */
function assertionAlgAdvertised(as: oauth.AuthorizationServer, alg: string, key: string): void {
  const algs = as.token_endpoint_auth_signing_alg_values_supported;
  if (Array.isArray(algs) && !algs.includes(alg) && !(alg === 'EdDSA' && algs.includes('Ed25519'))) {
    throw configProblem(key, `signs client assertions with ${alg}, but the identity provider accepts only ${algs.join(', ')}`);
  }
}

interface ClientKey {
  key: oauth.PrivateKey;
  alg: string;
  /** Header parameters copied from the JWK: `kid`, and `x5t`/`x5t#S256` (Entra ID identifies the key by certificate thumbprint). */
  header: Record<string, string>;
}

/**
 * A PKCS#8 PEM's algorithm, tried in this order: RSA keys are by far the most common registration; PS256
 * only where the IdP does not take RS256. WebCrypto refuses a key of another type or curve, so the first
 * import that succeeds names the key. (The same table and import jose's importPKCS8 uses for these algs.)
 */
const PEM_ALGS: Record<string, SubtleCryptoImportKeyAlgorithm> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  ES384: { name: 'ECDSA', namedCurve: 'P-384' },
  ES512: { name: 'ECDSA', namedCurve: 'P-521' },
  EdDSA: { name: 'Ed25519' },
};

async function importClientKey(material: string, as: oauth.AuthorizationServer, settingName: string): Promise<ClientKey> {
  // `.dev.vars` and some secret stores keep a PEM on one line with literal "\n".
  const text = material.trim().replace(/\\n/g, '\n');
  try {
    if (text.startsWith('{')) {
      const jwk = JSON.parse(text) as JWK;
      if (!jwk.d) throw new Error('not a private key');
      const alg = jwk.alg ?? defaultAlg(jwk, as);
      const key = (await importJWK(jwk, alg)) as CryptoKey;
      const header: Record<string, string> = {};
      if (jwk.kid) header['kid'] = jwk.kid;
      if (typeof jwk.x5t === 'string') header['x5t'] = jwk.x5t;
      if (typeof jwk['x5t#S256'] === 'string') header['x5t#S256'] = jwk['x5t#S256'];
      return { key: { key }, alg, header };
    }
    const accepted = as.token_endpoint_auth_signing_alg_values_supported;
    const known = Object.keys(PEM_ALGS);
    const algs = Array.isArray(accepted) ? [...known.filter((a) => accepted.includes(a)), ...known] : known;
    const der = Uint8Array.from(atob(text.replace(/-----(?:BEGIN|END) PRIVATE KEY-----|\s/g, '')), (c) => c.charCodeAt(0));
    for (const alg of new Set(algs)) {
      try {
        return { key: { key: await crypto.subtle.importKey('pkcs8', der, PEM_ALGS[alg]!, false, ['sign']) }, alg, header: {} };
      } catch {
        // another key type: try the next algorithm
      }
    }
    throw new Error('unsupported key');
  } catch {
    throw configProblem(settingName, 'is not a usable private key (expected a private RSA, EC or Ed25519 JWK, or a PKCS#8 PEM)');
  }
}

function defaultAlg(jwk: JWK, as: oauth.AuthorizationServer): string {
  if (jwk.kty === 'RSA') {
    const accepted = as.token_endpoint_auth_signing_alg_values_supported;
    return Array.isArray(accepted) && !accepted.includes('RS256') && accepted.includes('PS256') ? 'PS256' : 'RS256';
  }
  if (jwk.kty === 'EC') return jwk.crv === 'P-384' ? 'ES384' : jwk.crv === 'P-521' ? 'ES512' : 'ES256';
  return 'EdDSA';
}

