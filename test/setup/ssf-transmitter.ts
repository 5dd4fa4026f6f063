// A Shared Signals transmitter for the SSF receiver tests (runs in Node, started by test/setup/global.ts).
// It publishes what a real transmitter publishes and signs Security Event Tokens (RFC 8417) on request;
// the tests deliver them to the gateway's /_auth/ssf themselves (the gateway is not reachable from Node).
//
//   GET  /.well-known/ssf-configuration[/<path>]   SSF 1.0 transmitter metadata for the issuer
//        `<origin>[/<path>]` (the well-known segment goes between host and path, as in RFC 8414), with
//        `jwks_uri` = <origin>/jwks. The path `/mismatch` answers with another `issuer` (mix-up test).
//   GET  /jwks                 the public keys: ES256 kid "ssf-es-1" and RS256 kid "ssf-rs-1"
//   POST /__test/sign          body: SsfSignScript → { jwt }: the claims exactly as given, header
//                              { alg, kid, typ: 'secevent+jwt' } merged with `header` (`null` deletes),
//                              signed as `sign` says: 'ES256' (default), 'RS256', 'wrong-key' (ES256 by a key
//                              NOT published, under the published kid), 'none' (unsigned), 'HS256' (HMAC
//                              keyed with the published ES256 key's JWK JSON: algorithm confusion)
//   GET  /__test/stats         { configuration, jwks }: how often each was fetched since the last reset
//   POST /__test/reset         zero the counters
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { SsfSignScript, SsfStats } from './protocol';

export interface RunningSsfTransmitter {
  /** The transmitter's issuer (its origin, no path). */
  url: string;
  close(): Promise<void>;
}

const b64u = (data: string | Uint8Array) => Buffer.from(data).toString('base64url');

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startSsfTransmitter(): Promise<RunningSsfTransmitter> {
  const es = await generateKeyPair('ES256', { extractable: true });
  const rs = await generateKeyPair('RS256', { extractable: true });
  const wrong = await generateKeyPair('ES256', { extractable: true });
  const esPublic: JWK = { ...(await exportJWK(es.publicKey)), kid: 'ssf-es-1', alg: 'ES256', use: 'sig' };
  const rsPublic: JWK = { ...(await exportJWK(rs.publicKey)), kid: 'ssf-rs-1', alg: 'RS256', use: 'sig' };
  const stats: SsfStats = { configuration: 0, jwks: 0 };

  async function sign(script: SsfSignScript): Promise<string> {
    const mode = script.sign ?? 'ES256';
    const alg = mode === 'wrong-key' ? 'ES256' : mode;
    const base: Record<string, unknown> = { alg, typ: 'secevent+jwt' };
    if (mode === 'ES256' || mode === 'wrong-key' || mode === 'HS256') base['kid'] = 'ssf-es-1';
    if (mode === 'RS256') base['kid'] = 'ssf-rs-1';
    const header = { ...base };
    for (const [k, v] of Object.entries(script.header ?? {})) {
      if (v === null) delete header[k];
      else header[k] = v;
    }
    if (mode === 'none') return `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(script.claims))}.`;
    if (mode === 'HS256') {
      const secret = new TextEncoder().encode(JSON.stringify(esPublic));
      return new SignJWT(script.claims).setProtectedHeader(header as { alg: string }).sign(secret);
    }
    const key: CryptoKey = mode === 'RS256' ? rs.privateKey : mode === 'wrong-key' ? wrong.privateKey : es.privateKey;
    return new SignJWT(script.claims).setProtectedHeader(header as { alg: string }).sign(key);
  }

  let origin = '';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method === 'GET' && path.startsWith('/.well-known/ssf-configuration')) {
        stats.configuration++;
        const suffix = path.slice('/.well-known/ssf-configuration'.length);
        const issuer = suffix === '/mismatch' ? `${origin}/other` : `${origin}${suffix}`;
        return json(res, 200, {
          spec_version: '1_0',
          issuer,
          jwks_uri: `${origin}/jwks`,
          delivery_methods_supported: ['urn:ietf:rfc:8935'],
        });
      }
      if (req.method === 'GET' && path === '/jwks') {
        stats.jwks++;
        return json(res, 200, { keys: [esPublic, rsPublic] });
      }
      if (req.method === 'POST' && path === '/__test/sign') {
        const script = JSON.parse(await readBody(req)) as SsfSignScript;
        return json(res, 200, { jwt: await sign(script) });
      }
      if (req.method === 'GET' && path === '/__test/stats') return json(res, 200, stats);
      if (req.method === 'POST' && path === '/__test/reset') {
        stats.configuration = 0;
        stats.jwks = 0;
        return json(res, 200, { ok: true });
      }
      return json(res, 404, { error: 'not_found' });
    })().catch((error: unknown) => json(res, 500, { error: String(error) }));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
