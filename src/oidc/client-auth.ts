import * as oauth from 'oauth4webapi';
import { importJWK, importPKCS8, type JWK } from 'jose';
import type { Config } from '../config';
import { GatewayError } from '../http/errors';

/**
 * How the gateway authenticates at the token endpoint. Checked against the IdP's advertised
 * methods, so a mismatch is a clear configuration error at the first request rather than an
 * `invalid_client` on every sign-in.
 */
export async function clientAuthentication(config: Config, as: oauth.AuthorizationServer): Promise<oauth.ClientAuth> {
  // RFC 8414 2: absent means client_secret_basic only.
  const supported = as.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  if (!supported.includes(config.clientAuth)) {
    throw configProblem(
      'OIDC_CLIENT_AUTH',
      `is ${config.clientAuth}, but the identity provider supports only ${supported.join(', ')}`,
    );
  }
  switch (config.clientAuth) {
    case 'client_secret_basic':
      return oauth.ClientSecretBasic(config.clientSecret!);
    case 'client_secret_post':
      return oauth.ClientSecretPost(config.clientSecret!);
    case 'client_secret_jwt':
      return oauth.ClientSecretJwt(config.clientSecret!);
    case 'private_key_jwt':
      return oauth.PrivateKeyJwt(await importClientKey(config.clientKey!));
    case 'none':
      return oauth.None();
  }
}

async function importClientKey(material: string): Promise<oauth.PrivateKey> {
  try {
    if (material.startsWith('{')) {
      const jwk = JSON.parse(material) as JWK;
      if (!jwk.d) throw new Error('not a private key');
      const alg = jwk.alg ?? defaultAlg(jwk);
      const key = (await importJWK(jwk, alg)) as CryptoKey;
      return jwk.kid ? { key, kid: jwk.kid } : { key };
    }
    // PEM carries no algorithm; RSA keys are by far the most common registration.
    for (const alg of ['RS256', 'ES256', 'EdDSA']) {
      try {
        return { key: await importPKCS8(material, alg) };
      } catch {
        // try the next key type
      }
    }
    throw new Error('unsupported key');
  } catch {
    throw configProblem('OIDC_CLIENT_KEY', 'is not a usable private key (expected a private JWK or a PKCS#8 PEM)');
  }
}

function defaultAlg(jwk: JWK): string {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC') return jwk.crv === 'P-384' ? 'ES384' : jwk.crv === 'P-521' ? 'ES512' : 'ES256';
  return 'EdDSA';
}

export function configProblem(key: string, message: string): GatewayError {
  return new GatewayError('config_invalid', `The gateway's configuration is invalid, so it refuses all requests. ${key}: ${message}`, {
    detail: `${key}: ${message}`,
  });
}
