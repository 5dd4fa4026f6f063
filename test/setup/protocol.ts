// Shapes exchanged with the Node-side test servers (test issuer, echo upstream). Types only: imported
// from both runtimes (Node setup and workerd tests).

export type SignMode = 'RS256' | 'ES256' | 'none' | 'HS256-with-secret' | 'HS256-with-public-key' | 'wrong-key' | 'rotated';

export interface IdTokenScript {
  /** Merged over the default protected header ({ alg, kid, typ: 'JWT' }); `null` deletes a field. */
  header?: Record<string, unknown>;
  /** Merged over the default claims; `null` deletes a claim. */
  claims?: Record<string, unknown>;
  /** Default 'RS256'. 'wrong-key' = RS256 by a key NOT in the JWKS, with the published kid "rs-1".
   *  'HS256-with-secret' = HMAC with `secret` or else the client secret presented at the token endpoint.
   *  'HS256-with-public-key' = HMAC keyed with the RSA public key's SPKI PEM (or `publicKeyAs: 'jwk'`).
   *  'rotated' = RS256 by the newest key added with POST /control/rotate-keys, under its kid. */
  sign?: SignMode;
  secret?: string;
  publicKeyAs?: 'pem' | 'jwk';
  /** Add `at_hash` computed from the access token (a string here = that literal value). */
  atHash?: boolean | string;
}

export interface CodeScript {
  /** `null` = no id_token in the token response. */
  idToken?: IdTokenScript | null;
  /** Default: a random opaque string. */
  accessToken?: string;
  /** Extra / overriding token response fields; `null` deletes (e.g. { token_type: null }). */
  tokenResponse?: Record<string, unknown>;
  /** Answered by /userinfo for this access token (200 JSON, or `userinfoStatus`; a string is sent as
   *  `application/jwt`). Default: { sub } of the ID token. `null`: /userinfo answers 401 for this token. */
  userinfo?: unknown;
  userinfoStatus?: number;
  /** Answer the token request with this status/body instead (e.g. 400 invalid_grant, 500, garbage). */
  tokenStatus?: number;
  tokenBody?: unknown;
  tokenContentType?: string;
  /** Wait before answering the token request (timeouts). */
  delayMs?: number;
  /** When set, the token endpoint checks code_verifier against it (S256) and answers invalid_grant on mismatch. */
  codeChallenge?: string;
  /** The token endpoint redeems this code as often as it is presented (an IdP that does not enforce RFC 6749 4.1.2's single use). */
  reusable?: boolean;
  /** When `tokenResponse.refresh_token` is set: what a refresh_token grant with it answers (once). */
  refresh?: CodeScript;
}

/** POST /control/sign at the test issuer: any JWT, signed as `sign` says (see IdTokenScript). */
export interface SignScript {
  /** Merged over the default protected header for `sign`; `null` deletes a field. */
  header?: Record<string, unknown>;
  /** The payload exactly as given (no defaults). */
  claims: Record<string, unknown>;
  sign?: SignMode;
  secret?: string;
  publicKeyAs?: 'pem' | 'jwk';
}

/** How one endpoint of a test-issuer tenant misbehaves (POST /control/faults, test/faults). */
export interface EndpointFault {
  /** Wait this long first (then answer normally, unless another field says otherwise). */
  delayMs?: number;
  /** Drop the connection without an answer. */
  reset?: boolean;
  /** Answer this status / body instead of the real answer. */
  status?: number;
  body?: string;
  contentType?: string;
}
export type EndpointFaults = Partial<Record<'discovery' | 'jwks' | 'token' | 'userinfo', EndpointFault>>;

/** What the token endpoint of an IdP with the test layer does next (test/setup/idp-controls.ts). */
export type TokenFault = 'pass' | 'down' | 'hang' | 'reset' | 'hold';

/** GET /__test/stats at the lifecycle IdP and the IdPs of test/idps (test/setup/idp-controls.ts). */
export interface IdpStats {
  /** Token endpoint requests that reached oidc-provider, by grant_type. */
  token: Record<string, number>;
  /** Token endpoint requests answered by a fault instead (down / hang / reset). */
  refused: number;
  revocation: number;
}

/** A back-channel logout request the lifecycle IdP (or an IdP of test/idps) made (captured, not sent). */
export interface CapturedLogoutToken {
  uri: string;
  logoutToken: string;
}

export interface TokenRequestRecord {
  code: string | null;
  refreshToken: string | null;
  issuer: string;
  method: string;
  authorization: string | null;
  contentType: string | null;
  body: string;
  params: Record<string, string>;
  /** Decoded client authentication: basic = Authorization: Basic, post = client_secret in body. */
  client: { method: 'client_secret_basic' | 'client_secret_post' | 'client_assertion' | 'none'; id: string | null; secret: string | null };
  at: number;
}

export interface EchoBody {
  method: string;
  url: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[]>;
  rawHeaders: string[];
  body: string;
}


/** The private_key_jwt client's keys at the protocol IdPs: private JWKs (JSON) and PKCS#8 PEMs for OIDC_CLIENT_KEY. */
export interface ProtocolClientKeys {
  rsaJwk: string;
  rsaPem: string;
  ecJwk: string;
  ecPem: string;
  rsaPkcs1Pem: string;
  rsaPublicJwk: string;
}

/** POST /__test/sign at the SSF transmitter (test/setup/ssf-transmitter.ts). */
export interface SsfSignScript {
  /** The SET's claims exactly as given (no defaults). */
  claims: Record<string, unknown>;
  /** Merged over { alg, kid, typ: 'secevent+jwt' }; `null` deletes a field. */
  header?: Record<string, unknown>;
  /** 'ES256' [default] · 'RS256' · 'wrong-key' (unpublished key, published kid) · 'none' · 'HS256' (keyed with the public JWK). */
  sign?: 'ES256' | 'RS256' | 'wrong-key' | 'none' | 'HS256';
}

/** GET /__test/stats at the SSF transmitter: fetches of its metadata and JWKS since the last reset. */
export interface SsfStats {
  configuration: number;
  jwks: number;
}

// What test/setup/global.ts provides; read with `inject(key)` from 'vitest' (tests) or cloudflareTest's `inject`.
declare module 'vitest' {
  export interface ProvidedContext {
    /** Issuer URL of the local oidc-provider (http://127.0.0.1:<port>). */
    idpIssuer: string;
    /** The same IdP setup with conformIdTokenClaims: false (profile/email/groups in the ID token). */
    idpIssuerFullClaims: string;
    /** Another oidc-provider with resource servers (constants.ts API_RESOURCE_SERVERS) and the API client. */
    idpIssuerApi: string;
    /** oidc-provider for token-lifecycle tests, with fault injection and back-channel capture (lifecycle-idp.ts). */
    idpIssuerLifecycle: string;
    /** Echo upstream origin (http://127.0.0.1:<port>). */
    upstreamUrl: string;
    /** Root issuer URL of the scriptable test issuer (http://127.0.0.1:<port>). */
    testIssuerUrl: string;
    /** oidc-provider with the test/protocol clients (constants.ts PROTOCOL_CLIENTS; protocol-idp.ts). */
    idpIssuerProtocol: string;
    /** The same, but every authorization request must be pushed (RFC 9126 require_pushed_authorization_requests). */
    idpIssuerPar: string;
    /** The private_key_jwt client's keys (fresh per run). */
    protocolClientKeys: ProtocolClientKeys;
    /** Issuer (origin) of the Shared Signals test transmitter (ssf-transmitter.ts). */
    ssfTransmitterUrl: string;
    /** Two oidc-providers as two IdPs of one site (test/idps): the gateway's client at /_auth/callback/corp and /_auth/callback/partner. */
    idpIssuerCorp: string;
    idpIssuerPartner: string;
  }
}
