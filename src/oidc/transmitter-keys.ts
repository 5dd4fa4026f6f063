import type { JWTVerifyGetKey } from 'jose';
import { isLoopbackHost } from '../config/hosts';
import { GatewayError, ownCopy } from '../http/errors';
import { readTextLimited } from '../http/body';
import { JWKS_MAX_AGE_MS, remoteJwks } from './jwks';
import { timedFetch } from './transport';

/**
 * The signing keys of a Shared Signals transmitter, for the SETs it pushes to /_auth/ssf: its `jwks_uri`
 * as configured (SSF_JWKS_URI), or as its metadata says (SSF 1.0 "Transmitter Configuration Discovery":
 * `/.well-known/ssf-configuration` inserted between host and path of its issuer, whose `issuer` member
 * must be that issuer exactly). The key set itself is the IdP's cache (oidc/jwks.ts) with its numbers:
 * an unknown `kid` re-reads at most every 30 s, joined by every request that arrives meanwhile, so a
 * flood of forged SETs cannot make the gateway hammer the transmitter.
 */
export interface TransmitterSettings {
  issuer: string;
  /** Configured key set; undefined = discover it. */
  jwksUri: URL | undefined;
  timeoutMs: number;
  /** DEV_ALLOW_HTTP in a loopback demo: a discovered `http://` jwks_uri on loopback is accepted. */
  devAllowHttp: boolean;
}

/** After a failed metadata read, other requests do not try again for this long (as the IdP's discovery). */
const FAILURE_RETRY_MS = 5 * 1000;
/** Transmitter metadata is a few hundred bytes. */
const MAX_METADATA_BYTES = 64 * 1024;

interface Discovery {
  at: number;
  failed: boolean;
  jwksUri: Promise<URL>;
}

const discovered = new Map<string, Discovery>();
const keySets = new Map<string, JWTVerifyGetKey>();

/** A key resolver for jose's `jwtVerify`; nothing is fetched until a SET needs a key. */
export function transmitterKeys(settings: TransmitterSettings): JWTVerifyGetKey {
  return async (header, token) => {
    const url = settings.jwksUri ?? (await discoverJwksUri(settings));
    let keys = keySets.get(url.href);
    if (!keys) {
      keys = remoteJwks(url, timedFetch(settings.timeoutMs), settings.timeoutMs);
      keySets.set(url.href, keys);
    }
    return keys(header, token);
  };
}

function discoverJwksUri(settings: TransmitterSettings): Promise<URL> {
  const now = Date.now();
  const cached = discovered.get(settings.issuer);
  if (cached && now - cached.at < (cached.failed ? FAILURE_RETRY_MS : JWKS_MAX_AGE_MS)) return cached.jwksUri.catch(ownCopy);
  const entry: Discovery = { at: now, failed: false, jwksUri: readMetadata(settings) };
  entry.jwksUri.catch(() => {
    entry.failed = true;
    entry.at = Date.now();
  });
  discovered.set(settings.issuer, entry);
  return entry.jwksUri.catch(ownCopy);
}

/** SSF 1.0: `https://tr.example.com/issuer1` → `https://tr.example.com/.well-known/ssf-configuration/issuer1`. */
export function metadataUrl(issuer: string): URL {
  const url = new URL(issuer);
  return new URL(`${url.origin}/.well-known/ssf-configuration${url.pathname.replace(/\/$/, '')}`);
}

async function readMetadata(settings: TransmitterSettings): Promise<URL> {
  const url = metadataUrl(settings.issuer);
  const bad = (detail: string) =>
    new GatewayError('idp_bad_response', 'The Shared Signals transmitter’s metadata could not be read.', { detail: `SSF metadata ${url.origin}${url.pathname}: ${detail}` });
  const response = await timedFetch(settings.timeoutMs)(url, { headers: { accept: 'application/json' }, redirect: 'manual' });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw bad(`HTTP ${response.status}`);
  }
  const text = await readTextLimited(response, MAX_METADATA_BYTES);
  if (text === null) throw bad(`larger than ${MAX_METADATA_BYTES} bytes`);
  let metadata: unknown;
  try {
    metadata = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw bad('not a JSON object');
  const { issuer, jwks_uri: jwksUri } = metadata as { issuer?: unknown; jwks_uri?: unknown };
  // "The issuer value returned MUST be identical to the Issuer URL that was directly used to retrieve
  // the configuration information": otherwise one transmitter could vouch keys for another.
  if (issuer !== settings.issuer) throw bad(`its issuer ${JSON.stringify(String(issuer).slice(0, 200))} is not SSF_ISSUER`);
  if (typeof jwksUri !== 'string') throw bad('no jwks_uri (set SSF_JWKS_URI if the transmitter publishes its keys elsewhere)');
  let keysUrl: URL;
  try {
    keysUrl = new URL(jwksUri);
  } catch {
    throw bad('jwks_uri is not a URL');
  }
  if (keysUrl.protocol !== 'https:' && !(settings.devAllowHttp && keysUrl.protocol === 'http:' && isLoopbackHost(keysUrl.hostname))) {
    throw bad('jwks_uri is not an https:// URL');
  }
  return keysUrl;
}
