#!/usr/bin/env node
// npm run check -- [--config wrangler.toml|wrangler.jsonc] [--env NAME] [--online] [--as CLAIMS_JSON] [--ip IP] [--country CC] [--asn N] [SAMPLE…]
//
// The preflight before a deploy (and in CI): reads wrangler.jsonc, wrangler.json or wrangler.toml (the
// first that exists, as wrangler does) and the environment --env names, overlays .dev.vars like
// `wrangler dev` does, validates every setting with the worker's own parseConfig, flags placeholders
// (the example issuer, the zero KV id, no routes with workers_dev = false) and names the secrets a
// deploy needs. With --online it fetches each IdP's discovery and JWKS with the worker's own code and
// reports what the IdP supports against what is configured. All of it lives in src/check/ (bundled
// here with esbuild, so there is no second implementation to drift).
//
// Then it prints which rule each sample request matches and what it requires. SAMPLE: /admin/x ·
// https://app.example.com/x · "POST /api/x" (or POST /api/x as two arguments). With --as / --ip /
// --country / --asn, each sample is also decided by the worker's own decide() for that user (the claims
// of a session) and network, and the line `decision:` names the outcome and the condition that decided it.
// Exit codes: 0 ready, 1 a problem (invalid setting, placeholder, IdP mismatch), 2 usage or file errors.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const USAGE =
  'usage: npm run check -- [--config wrangler.toml|wrangler.jsonc] [--env NAME] [--online] [--as \'{"sub":"alice","groups":["staff"]}\'] [--ip 203.0.113.7] [--country DE] [--asn 13335] [/path | https://host/path | "METHOD /path"]…';
const ASKING = ['--as', '--ip', '--country', '--asn'];
const root = fileURLToPath(new URL('..', import.meta.url));

function fail(message) {
  console.error(`check: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { config: undefined, env: undefined, online: false, samples: [], asking: undefined };
  const asking = () => (options.asking ??= { network: {} });
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === '--online') {
      options.online = true;
    } else if (arg === '--config' || arg === '-c' || arg === '--env' || arg === '-e') {
      const value = argv[++i];
      if (value === undefined) fail(`${arg} needs a value\n${USAGE}`);
      options[arg.startsWith('--c') || arg === '-c' ? 'config' : 'env'] = value;
    } else if (ASKING.includes(arg.split('=')[0])) {
      const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, argv[++i]];
      if (inline === undefined) fail(`${name} needs a value\n${USAGE}`);
      if (name === '--as') {
        let claims;
        try {
          claims = JSON.parse(inline);
        } catch (error) {
          fail(`--as expects the session's claims as a JSON object: ${error.message}`);
        }
        if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) fail('--as expects a JSON object such as {"sub":"alice","groups":["staff"]}');
        asking().claims = claims;
      } else if (name === '--ip') {
        asking().network.ip = inline;
      } else if (name === '--country') {
        asking().network.country = inline;
      } else {
        if (!/^[0-9]+$/.test(inline)) fail('--asn expects an AS number such as 13335');
        asking().network.asn = Number(inline);
      }
    } else if (arg.startsWith('--config=')) {
      options.config = arg.slice('--config='.length);
    } else if (arg.startsWith('--env=')) {
      options.env = arg.slice('--env='.length);
    } else if (arg.startsWith('-') && arg !== '-') {
      fail(`unknown option ${arg}\n${USAGE}`);
    } else if (/^[A-Z]+$/.test(arg) && argv[i + 1] !== undefined && !argv[i + 1].startsWith('-')) {
      options.samples.push(`${arg} ${argv[++i]}`); // `GET /x` given as two arguments
    } else {
      options.samples.push(arg);
    }
  }
  return options;
}

async function loadCheck() {
  const result = await build({
    entryPoints: [`${root}src/check/cli.ts`],
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'node22',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].text;
  return import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
}

const options = parseArgs(process.argv.slice(2));
const check = await loadCheck();
const configPath = options.config ?? check.CONFIG_FILES.find((name) => existsSync(name)) ?? 'wrangler.toml';
let source;
try {
  source = readFileSync(configPath, 'utf8');
} catch (error) {
  fail(`cannot read ${configPath}: ${error.code ?? error.message}`);
}
const file = check.parseConfigFile(source, check.formatOf(configPath));
if ('problem' in file) fail(`${configPath} ${file.problem}`);
const environment = check.environmentOf(file.config, basename(configPath), options.env);
if ('problem' in environment) fail(environment.problem);

// wrangler dev reads .dev.vars (or .env) beside the configuration file.
const overlayFiles = {};
for (const name of check.overlayFileNames(options.env)) {
  const path = join(dirname(configPath), name);
  if (existsSync(path)) overlayFiles[name] = readFileSync(path, 'utf8');
}
const result = check.preflight({
  environment,
  overlay: check.localOverlay(overlayFiles, options.env),
  samples: options.samples,
  ...(options.asking ? { asking: options.asking } : {}),
});
const lines = [...result.lines];
let exitCode = result.exitCode;
if (options.online) {
  lines.push('');
  if (!result.config) {
    lines.push('--online: skipped, the settings above are invalid');
  } else {
    const host = hostOf(environment.routes);
    const online = await check.onlineReport(result.config, { standIns: result.standIns, ...(host ? { host } : {}) });
    lines.push(...online.lines);
    if (!online.ok) exitCode = 1;
  }
}
(exitCode === 0 ? console.log : console.error)(lines.join('\n'));
process.exitCode = exitCode;

/** The site's host name from the first route pattern (`app.example.com/*`), for the URIs to register. */
function hostOf(routes) {
  const first = routes[0];
  const pattern = typeof first === 'string' ? first : first?.pattern;
  return typeof pattern === 'string' ? pattern.replace(/^https?:\/\//, '').replace(/[/:].*$/, '').replace(/^\*\.?/, '') || undefined : undefined;
}
