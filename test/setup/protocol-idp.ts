// The local IdPs for test/protocol (runs in Node, started by ./global.ts): oidc-provider with one client
// per token-endpoint authentication method, each registered for every response type the gateway
// offers (`code`, `code id_token`, `id_token`), twice: `idpIssuerProtocol` (PAR offered) and
// `idpIssuerPar` (PAR required for every request, advertised as require_pushed_authorization_requests).
//
// private_key_jwt needs the client's public keys at the IdP (`jwks`) and the private key at the
// gateway (OIDC_CLIENT_KEY): fresh key pairs per run, handed to the tests as JWK and PKCS#8 PEM.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
// @ts-ignore -- plain ESM script without type declarations
import { startIdp } from '../../scripts/idp.mjs';
import { CLIENT_SECRET, PROTOCOL_CLIENTS, PROTOCOL_ORIGIN } from './constants';
import type { ProtocolClientKeys } from './protocol';

export interface RunningProtocolIdps {
  issuer: string;
  parIssuer: string;
  keys: ProtocolClientKeys;
  close(): Promise<void>;
}

function privateJwk(key: KeyObject, alg: string, kid: string): string {
  return JSON.stringify({ ...key.export({ format: 'jwk' }), alg, kid });
}

function publicJwk(key: KeyObject, alg: string, kid: string): Record<string, unknown> {
  return { ...key.export({ format: 'jwk' }), alg, kid, use: 'sig' };
}

function pem(key: KeyObject): string {
  return String(key.export({ format: 'pem', type: 'pkcs8' }));
}

export async function startProtocolIdps(): Promise<RunningProtocolIdps> {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys: ProtocolClientKeys = {
    rsaJwk: privateJwk(rsa.privateKey, 'RS256', 'gw-rsa'),
    rsaPem: pem(rsa.privateKey),
    ecJwk: privateJwk(ec.privateKey, 'ES256', 'gw-ec'),
    ecPem: pem(ec.privateKey),
    // PKCS#1: what `openssl genrsa` used to write; the gateway names the problem.
    rsaPkcs1Pem: String(rsa.privateKey.export({ format: 'pem', type: 'pkcs1' })),
    rsaPublicJwk: JSON.stringify(publicJwk(rsa.publicKey, 'RS256', 'gw-rsa')),
  };

  const base = {
    redirect_uris: [`${PROTOCOL_ORIGIN}/_auth/callback`],
    post_logout_redirect_uris: [`${PROTOCOL_ORIGIN}/_auth/signed-out`],
    // `implicit` lets the client receive ID tokens from the authorization endpoint (hybrid and id_token).
    grant_types: ['authorization_code', 'refresh_token', 'implicit'],
    response_types: ['code', 'code id_token', 'id_token'],
  };
  const clients = [
    { ...base, client_id: PROTOCOL_CLIENTS.basic, client_secret: CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_basic' },
    { ...base, client_id: PROTOCOL_CLIENTS.post, client_secret: CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_post' },
    { ...base, client_id: PROTOCOL_CLIENTS.secretJwt, client_secret: CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_jwt' },
    {
      ...base,
      client_id: PROTOCOL_CLIENTS.keyJwt,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [publicJwk(rsa.publicKey, 'RS256', 'gw-rsa'), publicJwk(ec.publicKey, 'ES256', 'gw-ec')] },
    },
    { ...base, client_id: PROTOCOL_CLIENTS.public, token_endpoint_auth_method: 'none' },
  ];

  const started: { close(): Promise<void> }[] = [];
  try {
    const idp = await startIdp({ port: 0, clients });
    started.push(idp);
    const par = await startIdp({ port: 0, clients, requirePar: true });
    started.push(par);
    return {
      issuer: String(idp.issuer),
      parIssuer: String(par.issuer),
      keys,
      close: async () => {
        await Promise.allSettled(started.map((s) => s.close()));
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.close()));
    throw error;
  }
}
