#!/usr/bin/env node
// npm run init -- [--kind KIND --issuer URL --client-id ID | --idp NAME=KIND,ISSUER,CLIENT_ID …] --host HOST
//                 [--origin URL] [--zone ZONE] [--kv-id ID] [--audience AUD] [--client-secret SECRET]
//                 [--format toml|jsonc] [--dir DIR] [--force] [--yes]
//
// Writes a working wrangler.toml (or wrangler.jsonc: --format jsonc, or when one exists), puts a fresh
// SESSION_SECRET into .dev.vars for local runs (keeping every other line there), and prints the
// `wrangler secret put` lines for production and the exact values to register at each IdP. Asks for
// what is missing only when run in a terminal; never overwrites a configuration file without --force.
// The pure part is scripts/lib/init-config.mjs (and scripts/lib/idp-kinds.mjs for the IdP kinds).
// Exit codes: 0 written, 1 invalid answers, 2 usage or file errors.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { IDP_KINDS, KIND_NAMES } from './lib/idp-kinds.mjs';
import { newSessionSecret, planInit, registrationLines, renderJsonc, renderToml, secretLines, updateDevVars } from './lib/init-config.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const USAGE = `usage: npm run init -- --kind ${KIND_NAMES.join('|')} --issuer URL --client-id ID --host app.example.com [--origin https://origin.example.com]
       npm run init -- --idp corp=entra,ISSUER,CLIENT_ID --idp partners=okta,ISSUER,CLIENT_ID --host app.example.com
options: --zone ZONE  --kv-id ID  --audience AUD (auth0)  --client-secret SECRET (into .dev.vars, local runs)
         --format toml|jsonc  --dir DIR  --force (replace an existing configuration file)  --yes (never ask)`;

function fail(message, code = 2) {
  console.error(`init: ${message}`);
  process.exit(code);
}

function parseArgs(argv) {
  const options = { idps: [], force: false, yes: false };
  const valued = { '--kind': 'kind', '--issuer': 'issuer', '--client-id': 'clientId', '--host': 'host', '--origin': 'origin', '--zone': 'zone', '--kv-id': 'kvId', '--audience': 'audience', '--client-secret': 'clientSecret', '--format': 'format', '--dir': 'dir', '--idp': 'idp' };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    if (arg.includes('=') && arg.startsWith('--')) [arg, value] = [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)];
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg === '--force') options.force = true;
    else if (arg === '--yes' || arg === '-y' || arg === '--non-interactive') options.yes = true;
    else if (valued[arg]) {
      value ??= argv[++i];
      if (value === undefined) fail(`${arg} needs a value\n${USAGE}`);
      if (arg === '--idp') {
        const match = /^([^=]+)=([^,]+),([^,]+),(.+)$/.exec(value);
        if (!match) fail(`--idp expects NAME=KIND,ISSUER,CLIENT_ID (got "${value}")`);
        options.idps.push({ name: match[1].trim(), kind: match[2].trim(), issuer: match[3].trim(), clientId: match[4].trim() });
      } else options[valued[arg]] = value;
    } else fail(`unknown argument ${arg}\n${USAGE}`);
  }
  if (options.format && options.format !== 'toml' && options.format !== 'jsonc') fail('--format is toml or jsonc');
  return options;
}

/** Missing answers, asked for in a terminal; elsewhere (CI, a pipe) they must be given as flags. */
async function ask(options) {
  const single = options.idps.length === 0;
  const interactive = process.stdin.isTTY && !options.yes;
  const missing = [...(single ? ['kind', 'issuer', 'clientId'] : []), 'host'].filter((key) => !options[key]);
  if (missing.length === 0) return;
  if (!interactive) fail(`missing ${missing.map((key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} (not a terminal, so nothing is asked)\n${USAGE}`);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  // Lines are read from the iterator, which buffers them: an answer typed (or pasted) ahead is kept.
  const lines = rl[Symbol.asyncIterator]();
  try {
    const question = async (text, fallback) => {
      process.stdout.write(fallback ? `${text} [${fallback}]: ` : `${text}: `);
      const line = await lines.next();
      if (line.done) fail('no answer (input ended)');
      return line.value.trim() || fallback || '';
    };
    if (single && !options.kind) {
      console.log(`Identity provider kinds: ${KIND_NAMES.map((k) => `${k} (${IDP_KINDS[k].label})`).join(', ')}`);
      options.kind = await question('IdP kind', 'oidc-provider');
    }
    const spec = IDP_KINDS[options.kind];
    if (single && !options.issuer) options.issuer = await question(`Issuer, exactly as the IdP's discovery document says${spec ? ` (e.g. ${spec.issuerExample})` : ''}`, options.kind === 'oidc-provider' ? 'http://127.0.0.1:9400' : options.kind === 'google' ? 'https://accounts.google.com' : undefined);
    if (single && !options.clientId) options.clientId = await question('Client id registered at the IdP (register with the values printed at the end; you can edit it later)', options.kind === 'oidc-provider' ? 'edgegate-demo' : undefined);
    if (!options.host) options.host = await question('The site\'s host name (the one users open)', options.issuer?.startsWith('http://') ? 'localhost:8787' : undefined);
    if (options.origin === undefined) options.origin = (await question('Origin to forward to (UPSTREAM_URL; empty = the zone\'s own origin)', '')) || undefined;
  } finally {
    rl.close();
  }
}

const options = parseArgs(process.argv.slice(2));
await ask(options);

const dir = resolve(options.dir ?? '.');
// wrangler reads the first of these that exists.
const existing = ['wrangler.json', 'wrangler.jsonc', 'wrangler.toml'].find((name) => existsSync(join(dir, name)));
const format = options.format ?? (existing && existing !== 'wrangler.toml' ? 'jsonc' : 'toml');
const fileName = format === 'jsonc' ? 'wrangler.jsonc' : 'wrangler.toml';
const target = join(dir, fileName);
if (existsSync(target) && !options.force) fail(`${relative(process.cwd(), target) || fileName} exists; pass --force to replace it (the old one is kept as ${fileName}.bak)`);
const shipped = existsSync(join(root, 'wrangler.toml')) ? readFileSync(join(root, 'wrangler.toml'), 'utf8') : '';

const result = planInit({
  idps: options.idps.length > 0 ? options.idps : [{ kind: options.kind, issuer: options.issuer, clientId: options.clientId, ...(options.audience ? { audience: options.audience } : {}) }],
  host: options.host,
  ...(options.origin ? { origin: options.origin } : {}),
  ...(options.zone ? { zone: options.zone } : {}),
  ...(options.kvId ? { kvId: options.kvId } : {}),
  main: relative(dir, join(root, 'src', 'index.ts')).split('\\').join('/'),
  compatibilityDate: /^compatibility_date\s*=\s*"([^"]+)"/m.exec(shipped)?.[1] ?? '2026-07-01',
});
if ('problems' in result) fail(`cannot write a configuration:\n  ${result.problems.join('\n  ')}`, 1);
const { plan } = result;

const header = [
  'edgegate — written by `npm run init`; every setting is described in docs/configuration.md.',
  'Secrets never go here: `npx wrangler secret put NAME` for production, .dev.vars for local runs.',
  'Check it with `npm run check` (and `npm run check -- --online` to ask the IdP).',
];
if (existsSync(target)) copyFileSync(target, `${target}.bak`);
writeFileSync(target, format === 'jsonc' ? renderJsonc(plan.config, header) : renderToml(plan.config, header));

const devVarsPath = join(dir, '.dev.vars');
const devVars = { SESSION_SECRET: newSessionSecret() };
if (options.clientSecret) devVars[plan.idps[0].secret] = options.clientSecret;
const before = existsSync(devVarsPath) ? readFileSync(devVarsPath, 'utf8') : '';
writeFileSync(devVarsPath, updateDevVars(before, devVars), { mode: 0o600 });

const shown = (path) => relative(process.cwd(), path) || path;
console.log(`wrote ${shown(target)}${existsSync(`${target}.bak`) && options.force ? ` (the previous one is ${shown(target)}.bak)` : ''}`);
console.log(`${shown(devVarsPath)}: ${Object.keys(devVars).join(', ')} set for local runs (${before ? 'your other lines kept' : 'new file'}; keep it out of git)`);
for (const note of plan.notes) console.log(`note: ${note}`);
const shadowing = ['wrangler.json', 'wrangler.jsonc', 'wrangler.toml'].find((name) => name !== fileName && existsSync(join(dir, name)));
if (shadowing) console.log(`note: ${shown(join(dir, shadowing))} is here too, and wrangler reads the first of wrangler.json, wrangler.jsonc, wrangler.toml: remove the one you do not use`);
console.log('');
console.log(plan.local ? 'Local run: add the client secret to .dev.vars, then `npx wrangler dev`:' : 'Secrets for production (never in the configuration file):');
if (plan.local) {
  for (const idp of plan.idps) if (!devVars[idp.secret]) console.log(`  echo '${idp.secret}="…"' >> ${shown(devVarsPath)}`);
} else {
  for (const line of secretLines(plan)) console.log(`  ${line}`);
  console.log(`  For local runs put ${plan.idps.map((idp) => idp.secret).join(', ')} into ${shown(devVarsPath)} too.`);
}
console.log('');
for (const line of registrationLines(plan)) console.log(line);
console.log(`Then: npm run check${options.dir ? ` -- --config ${shown(target)}` : ''}   (and with --online, once the IdP is reachable)`);
