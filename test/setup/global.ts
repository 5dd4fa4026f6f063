// Vitest globalSetup (runs in Node, once per `vitest run`): starts the servers the tests talk to over
// 127.0.0.1 and hands their URLs to the workerd side through `provide` → `inject`:
//   - the local OpenID Provider (scripts/idp.mjs, oidc-provider) with clients edgegate-test and
//     edgegate-test-post, twice: `idpIssuer` (ID token = sub only, profile claims via UserInfo; the
//     worker's default OIDC_ISSUER) and `idpIssuerFullClaims` (conformIdTokenClaims: false);
//   - the echo upstream (./upstream.ts);
//   - the scriptable test issuer for negative ID-token cases (./test-issuer.ts);
//   - the Shared Signals transmitter that signs Security Event Tokens (./ssf-transmitter.ts).
// vitest.config.ts reads the same values (cloudflareTest's `inject`) to fill the worker's bindings.
import type { TestProject } from 'vitest/node';
// @ts-ignore -- plain ESM script without type declarations
import { startIdp } from '../../scripts/idp.mjs';
import { CLIENT_ID, CLIENT_SECRET, POST_CLIENT_ID, POST_LOGOUT_REDIRECT_URI, REDIRECT_URI } from './constants';
import { API_CLIENT_ID, API_CLIENT_SECRET, API_RESOURCE_SERVERS } from './constants';
import { startTestIssuer } from './test-issuer';
import { startLifecycleIdp } from './lifecycle-idp';
import { startIdpsIdp } from './idps-idp';
import { startProtocolIdps } from './protocol-idp';
import { startUpstream } from './upstream';
import { startSsfTransmitter } from './ssf-transmitter';
// The ProvidedContext keys (idpIssuer, upstreamUrl, testIssuerUrl) are declared in ./protocol.ts.
import './protocol';

const baseClient = {
  client_secret: CLIENT_SECRET,
  redirect_uris: [REDIRECT_URI],
  post_logout_redirect_uris: [POST_LOGOUT_REDIRECT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
};

export const IDP_CLIENTS = [
  { ...baseClient, client_id: CLIENT_ID, token_endpoint_auth_method: 'client_secret_basic' },
  { ...baseClient, client_id: POST_CLIENT_ID, token_endpoint_auth_method: 'client_secret_post' },
];

type Closable = { close(): Promise<void> | void };

export default async function setup(project: TestProject) {
  const started: Closable[] = [];
  try {
    const idp = await startIdp({ port: 0, clients: IDP_CLIENTS });
    started.push(idp);
    // Same clients and users, but profile/email/groups claims in the ID token too (the default IdP
    // puts only `sub` & co. there and the rest in UserInfo): a gateway must handle both.
    const idpFullClaims = await startIdp({ port: 0, clients: IDP_CLIENTS, conformIdTokenClaims: false });
    started.push(idpFullClaims);
    // API bearer tokens (test/routes): JWT and opaque access tokens for the resource
    // API_RESOURCE via resource indicators, obtained by another client (API_CLIENT_ID), which the
    // gateway (edgegate-test) introspects. `/short` tokens live API_SHORT_TTL seconds.
    const idpApi = await startIdp({
      port: 0,
      clients: [...IDP_CLIENTS, { ...baseClient, client_id: API_CLIENT_ID, client_secret: API_CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_basic' }],
      resourceServers: API_RESOURCE_SERVERS,
      ttl: { AccessToken: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) => token.resourceServer?.accessTokenTTL ?? 3600 },
    });
    started.push(idpApi);
    // Token lifecycle (test/lifecycle): refresh with rotation, back-channel logout, revocation,
    // with token-endpoint faults and counters (./lifecycle-idp.ts).
    const idpLifecycle = await startLifecycleIdp();
    started.push(idpLifecycle);
    // Response types, response modes, client authentication, PAR, prompt=none (test/protocol).
    const protocolIdps = await startProtocolIdps();
    started.push(protocolIdps);
    // Several IdPs in front of one site (test/idps): two more oidc-providers, each with the gateway's
    // client registered at that IdP's own redirect URI (/_auth/callback/corp, /_auth/callback/partner),
    // captured back-channel logout (corp's tokens name the sid, partner's the sub alone) and a token
    // endpoint fault (./idps-idp.ts).
    const idpCorp = await startIdpsIdp('corp', { sid: true });
    started.push(idpCorp);
    const idpPartner = await startIdpsIdp('partner', { sid: false });
    started.push(idpPartner);
    const upstream = await startUpstream();
    started.push(upstream);
    const testIssuer = await startTestIssuer();
    started.push(testIssuer);
    // Shared Signals (test/ssf): transmitter metadata, JWKS and SETs signed on request.
    const ssfTransmitter = await startSsfTransmitter();
    started.push(ssfTransmitter);

    project.provide('idpIssuer', String(idp.issuer));
    project.provide('idpIssuerFullClaims', String(idpFullClaims.issuer));
    project.provide('idpIssuerApi', String(idpApi.issuer));
    project.provide('idpIssuerLifecycle', idpLifecycle.issuer);
    project.provide('upstreamUrl', upstream.url);
    project.provide('testIssuerUrl', testIssuer.url);
    project.provide('idpIssuerProtocol', protocolIdps.issuer);
    project.provide('idpIssuerPar', protocolIdps.parIssuer);
    project.provide('protocolClientKeys', protocolIdps.keys);
    project.provide('ssfTransmitterUrl', ssfTransmitter.url);
    project.provide('idpIssuerCorp', String(idpCorp.issuer));
    project.provide('idpIssuerPartner', String(idpPartner.issuer));
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.close()));
    throw err;
  }

  return async function teardown() {
    await Promise.allSettled(started.reverse().map((s) => s.close()));
  };
}
