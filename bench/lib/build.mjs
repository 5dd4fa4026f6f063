// Bundles the bench workers with esbuild the way wrangler does for workerd (ESM, `workerd`/`worker`/
// `browser` export conditions), so plain Miniflare can load them without wrangler in the loop.

import { build } from 'esbuild';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The workers the bench runs, by name → entry (relative to the repository root). */
export const WORKERS = {
  // The production entry, untouched: what the end-to-end throughput runs measure.
  gateway: 'src/index.ts',
  // A bare pass-through to the same upstream: the yardstick.
  passthrough: 'bench/workers/passthrough.ts',
  // The closest peer (@hono/oidc-auth) in front of the same pass-through.
  peer: 'bench/workers/peer.ts',
  // The gateway behind a counting KV binding and waitUntil tracking (counts only, never timed).
  counted: 'bench/workers/counted.ts',
  // Cold start only: the production gateway on an in-memory KV seeded from a JSON var (no KV simulator).
  memoryGateway: 'bench/workers/memory-gateway.ts',
  // The gateway and the pass-through in one isolate, with a stub KV and a stub upstream (CPU cost).
  inprocess: 'bench/workers/inprocess.ts',
  // The same subjects as a plain module for Node (per-call timings with a µs clock).
  subjects: 'bench/workers/subjects.ts',
};

/** How wrangler bundles for workerd (ESM, workerd/worker/browser export conditions, runtime modules external). */
export const WORKERD_BUILD = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'neutral',
  conditions: ['workerd', 'worker', 'browser'],
  mainFields: ['browser', 'module', 'main'],
  external: ['cloudflare:*', 'node:*'],
  logLevel: 'error',
};

/**
 * @param {string} root  repository root
 * @param {string} outDir
 * @returns {Promise<Record<keyof typeof WORKERS, string>>} name → bundled file
 */
export async function buildWorkers(root, outDir) {
  await mkdir(outDir, { recursive: true });
  /** @type {Record<string, string>} */
  const out = {};
  await Promise.all(
    Object.entries(WORKERS).map(async ([name, entry]) => {
      const outfile = join(outDir, `${name}.mjs`);
      await build({
        entryPoints: [join(root, entry)],
        outfile,
        // Paths in the bundle's `// src/…` module comments are relative to this (see lib/profile.mjs).
        absWorkingDir: root,
        ...WORKERD_BUILD,
        // Node cannot load `cloudflare:workers`; the Node-side subjects get a stand-in (see the shim).
        ...(name === 'subjects' ? { alias: { 'cloudflare:workers': join(root, 'bench/workers/cloudflare-workers-shim.ts') } } : {}),
      });
      out[name] = outfile;
    }),
  );
  return /** @type {Record<keyof typeof WORKERS, string>} */ (out);
}

/**
 * Which packages the production bundle's bytes come from, minified (esbuild metafile), largest first,
 * and the whole bundle's minified + gzipped size. `alias` builds a what-if variant (e.g. hono/tiny → hono)
 * without touching src/; `external` leaves packages out (what src/ alone weighs).
 *
 * Each library part also has `gzipBytes`: what it adds to the gzipped bundle (gzip -9 of the bundle
 * minus gzip -9 of the same build with that package left out). Gzip is not additive, so this is the
 * honest per-library number: minified bytes overstate a library whose code compresses well. src/
 * folders have no such number (leaving one out would also drop the libraries only it imports).
 * @param {string} root
 * @param {Record<string, string>} [alias]
 * @param {string[]} [external]
 * @returns {Promise<{ parts: { name: string, bytes: number, gzipBytes?: number }[], minifiedBytes: number, gzipBytes: number }>}
 */
export async function bundleComposition(root, alias = {}, external = []) {
  const bundle = async (/** @type {string[]} */ leftOut, metafile = false) => {
    const result = await build({
      entryPoints: [join(root, WORKERS.gateway)],
      absWorkingDir: root,
      write: false,
      metafile,
      minify: true,
      alias,
      outfile: 'composition.mjs',
      ...WORKERD_BUILD,
      external: [...WORKERD_BUILD.external, ...external, ...leftOut],
    });
    const code = result.outputFiles[0].contents;
    return { metafile: result.metafile, minifiedBytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
  };
  const whole = await bundle([], true);
  /** @type {Map<string, number>} */
  const byPackage = new Map();
  for (const output of Object.values(whole.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const name = match ? match[1] : input.startsWith('src/') ? `src/${input.split('/')[1]}` : input;
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  const parts = await Promise.all(
    [...byPackage].map(async ([name, bytes]) => {
      if (name.startsWith('src/') || name.startsWith('.')) return { name, bytes };
      const without = await bundle([name, `${name}/*`]);
      return { name, bytes, gzipBytes: whole.gzipBytes - without.gzipBytes };
    }),
  );
  return { parts: parts.sort((a, b) => b.bytes - a.bytes), minifiedBytes: whole.minifiedBytes, gzipBytes: whole.gzipBytes };
}

/**
 * The peer's worker (bench/workers/peer.ts) as one minified bundle, like `bundleComposition` measures
 * the gateway: esbuild minified, gzip -9.
 * @param {string} root
 * @returns {Promise<{ minifiedBytes: number, gzipBytes: number }>}
 */
export async function peerBundleSize(root) {
  const result = await build({ entryPoints: [join(root, WORKERS.peer)], absWorkingDir: root, write: false, minify: true, outfile: 'peer.mjs', ...WORKERD_BUILD });
  const code = result.outputFiles[0].contents;
  return { minifiedBytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
}

/**
 * Minified single-file bundles for the cold-start probe in Node (lib/cold-node.mjs): the gateway as it
 * ships, the pass-through, the peer, and config validation alone. Minified like a deployment, so parse
 * and compile time are those of the bytes an isolate loads.
 * @param {string} root
 * @param {string} outDir
 * @returns {Promise<{ gateway: string, passthrough: string, peer: string, config: string }>}
 */
export async function buildColdBundles(root, outDir) {
  await mkdir(outDir, { recursive: true });
  const common = { absWorkingDir: root, ...WORKERD_BUILD, minify: true, alias: { 'cloudflare:workers': join(root, 'bench/workers/cloudflare-workers-shim.ts') } };
  const out = { gateway: join(outDir, 'cold-gateway.mjs'), passthrough: join(outDir, 'cold-passthrough.mjs'), peer: join(outDir, 'cold-peer.mjs'), config: join(outDir, 'cold-config.mjs') };
  await Promise.all([
    build({ ...common, entryPoints: [join(root, WORKERS.gateway)], outfile: out.gateway }),
    build({ ...common, entryPoints: [join(root, WORKERS.passthrough)], outfile: out.passthrough }),
    build({ ...common, entryPoints: [join(root, WORKERS.peer)], outfile: out.peer }),
    build({ ...common, stdin: { contents: "export { parseConfig } from './src/config';", resolveDir: root, loader: 'ts' }, outfile: out.config }),
  ]);
  return out;
}
