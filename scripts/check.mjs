#!/usr/bin/env node
// npm run check -- [--config wrangler.toml] [--env NAME] [--as CLAIMS_JSON] [--ip IP] [--country CC] [--asn N] [SAMPLE…]
//
// Validates ROUTES from wrangler.toml with the worker's own parseRoutes (src/check/main.ts, bundled
// here with esbuild, so there is no second implementation to drift), warns about risky settings
// (API_AUDIENCE = OIDC_CLIENT_ID), then prints which rule each sample request matches and what it requires. SAMPLE: /admin/x · https://app.example.com/x ·
// "POST /api/x" (or POST /api/x as two arguments). With --as / --ip / --country / --asn, each sample is
// also decided by the worker's own decide() for that user (the claims of a session) and network, and
// the line `decision:` names the outcome and the condition that decided it.
// Exit codes: 0 rules valid, 1 rules invalid, 2 usage or file errors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parse as parseToml } from 'smol-toml';

const USAGE =
  'usage: npm run check -- [--config wrangler.toml] [--env NAME] [--as \'{"sub":"alice","groups":["staff"]}\'] [--ip 203.0.113.7] [--country DE] [--asn 13335] [/path | https://host/path | "METHOD /path"]…';
const ASKING = ['--as', '--ip', '--country', '--asn'];
const root = fileURLToPath(new URL('..', import.meta.url));

function fail(message) {
  console.error(`check: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { config: 'wrangler.toml', env: undefined, samples: [], asking: undefined };
  const asking = () => (options.asking ??= { network: {} });
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
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

/** [vars] as the worker would get them: wrangler does not inherit [vars] into [env.X]. */
function varsFrom(toml, envName) {
  if (envName === undefined) return toml.vars ?? {};
  const env = toml.env?.[envName];
  if (env === undefined) fail(`no [env.${envName}] in the config file`);
  return env.vars ?? {};
}

async function loadCheck() {
  const result = await build({
    entryPoints: [`${root}src/check/main.ts`],
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
let source;
try {
  source = readFileSync(options.config, 'utf8');
} catch (error) {
  fail(`cannot read ${options.config}: ${error.code ?? error.message}`);
}
let toml;
try {
  toml = parseToml(source);
} catch (error) {
  fail(`${options.config} is not valid TOML: ${error.message}`);
}
const vars = varsFrom(toml, options.env);
const { runCheck } = await loadCheck();
const output = runCheck({
  source: options.env === undefined ? options.config : `${options.config} [env.${options.env}]`,
  routes: vars.ROUTES,
  samples: options.samples,
  settings: vars,
  ...(options.asking ? { asking: options.asking } : {}),
});
(output.exitCode === 0 ? console.log : console.error)(output.text);
process.exitCode = output.exitCode;
