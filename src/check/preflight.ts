import { parseConfig, PLACEHOLDER_ISSUER, type Config, type ConfigProblem } from '../config';
import { isLoopbackHost } from '../config/hosts';
import { runCheck, settingWarnings, type Asking } from './main';
import type { WorkerEnvironment } from './files';

/**
 * `npm run check`'s preflight: every setting of one environment validated by the worker's own
 * parseConfig (config/index.ts), with the bindings the file declares, the local overlay wrangler
 * applies (.dev.vars), secrets that live outside the files named, and the placeholders a fresh
 * checkout ships with flagged. Then the ROUTES dry run (./main.ts) for the samples.
 */

export interface PreflightInput {
  environment: WorkerEnvironment;
  /** `.dev.vars` (or `.env`) values, and which files they came from. */
  overlay: { from: string[]; vars: Record<string, string> };
  samples?: string[];
  asking?: Asking;
}

export interface PreflightResult {
  exitCode: 0 | 1;
  lines: string[];
  /** The parsed configuration (secrets not in the files are stand-ins), for the online checks. */
  config?: Config;
  /** Secrets replaced by stand-ins: the online checks do not use what they would authenticate. */
  standIns: string[];
}

/** The example values shipped in wrangler.toml and the docs. */
export const PLACEHOLDER_KV_ID = '00000000000000000000000000000000';

/** A stand-in of the right shape for a secret the files cannot hold; never a real value. */
const STAND_IN_SECRET = 'stand-in:check-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789';
const SECRET_KEYS = /^(SESSION_SECRET|OIDC_CLIENT_SECRET(_[A-Z0-9_]+)?|OIDC_CLIENT_KEY(_[A-Z0-9_]+)?|ASSERTION_KEY)$/;

export function preflight(input: PreflightInput): PreflightResult {
  const { environment: env, overlay } = input;
  const errors: string[] = [];
  const warnings: string[] = [];
  const notes: string[] = [...env.notes];
  const source = overlay.from.length > 0 ? `${env.label} + ${overlay.from.join(', ')}` : env.label;

  // wrangler dev: the local files override vars of the same name (their values are strings).
  const settings: Record<string, unknown> = { ...env.vars, ...overlay.vars };
  for (const key of Object.keys(overlay.vars)) {
    if (key in env.vars && !SECRET_KEYS.test(key)) notes.push(`${key}: ${overlay.from.join(', ')} overrides the value in ${env.label} (local runs only; a deploy uses the file's)`);
  }
  for (const key of Object.keys(env.vars)) {
    if (SECRET_KEYS.test(key)) errors.push(`${key}: is a secret but sits in vars of ${env.label}, where anyone with the repository reads it; remove it and \`npx wrangler secret put ${key}\``);
  }

  const bindings: Record<string, unknown> = {};
  const sessions = env.kv.find((kv) => kv.binding === 'SESSIONS');
  if (sessions) bindings['SESSIONS'] = { get() {}, put() {} };
  const coordinator = env.durableObjects.find((d) => d.name === 'COORDINATOR');
  if (coordinator) {
    if (coordinator.className !== 'SessionCoordinator') errors.push(`COORDINATOR: binds class "${coordinator.className ?? '(none)'}"; the gateway exports SessionCoordinator`);
    bindings['COORDINATOR'] = { idFromName() {}, get() {} };
  }

  // Secrets are set with `wrangler secret put`, so a file rarely holds them: a stand-in lets every
  // other setting be validated, and the secret is listed as one the deployment needs.
  const standIns: string[] = [];
  const secretsNeeded = new Set<string>();
  const withStandIns = (keys: string[]) => {
    for (const key of keys) if (settings[key] === undefined) (settings[key] = STAND_IN_SECRET), standIns.push(key);
  };
  withStandIns(['SESSION_SECRET']);
  let parsed = quietly(() => parseConfig({ ...settings, ...bindings }));
  if ('problems' in parsed.value) {
    const missing = parsed.value.problems.filter(isMissingSecret).map((p) => p.key);
    if (missing.length > 0) {
      withStandIns(missing);
      parsed = quietly(() => parseConfig({ ...settings, ...bindings }));
    }
  }
  for (const key of standIns) secretsNeeded.add(key);
  warnings.push(...parsed.logged);

  const problems: ConfigProblem[] = 'problems' in parsed.value ? parsed.value.problems : [];
  for (const problem of problems) errors.push(`${problem.key}: ${problem.message}`);
  const config = 'config' in parsed.value ? parsed.value.config : undefined;
  const local = config ? config.devAllowHttp : isLocal(settings);

  // Placeholders: valid in form, so parseConfig accepts them, but nobody can sign in with them.
  for (const [key, issuer] of issuersOf(settings)) {
    // parseConfig may name it already (then once is enough).
    if (issuer.replace(/\/$/, '') === PLACEHOLDER_ISSUER && !errors.some((e) => e.startsWith(`${key}:`))) errors.push(`${key}: is the example issuer ${PLACEHOLDER_ISSUER}, a placeholder: set your IdP's issuer (npm run init)`);
  }
  const deployOnly = (message: string) => (local ? notes.push(`${message} (fine for wrangler dev with this loopback IdP; a deploy needs it)`) : errors.push(message));
  if (!sessions) {
    // parseConfig names it already.
  } else if (sessions.id === undefined || sessions.id === PLACEHOLDER_KV_ID) {
    deployOnly(`SESSIONS: the KV namespace id is ${sessions.id === undefined ? 'missing' : 'the placeholder 000…0'}: \`npx wrangler kv namespace create SESSIONS\` prints the one to put in ${env.label}`);
  }
  if (env.workersDev === false && env.routes.length === 0) {
    deployOnly(`routes: none, and workers_dev = false: the Worker would be reachable nowhere; add routes = [{ pattern = "<host>/*", zone_name = "<zone>" }]`);
  }
  for (const route of env.routes) {
    const pattern = typeof route === 'string' ? route : (route as { pattern?: unknown })?.pattern;
    if (typeof pattern === 'string' && /(^|\.)example\.(com|org|net)(\/|:|$)/i.test(pattern)) errors.push(`routes: "${pattern}" is an example host, a placeholder`);
  }
  if (typeof settings['UPSTREAM_URL'] === 'string' && /^https?:\/\/([^/]*\.)?example\.(com|org|net)(\/|:|$)/i.test(settings['UPSTREAM_URL'])) {
    errors.push(`UPSTREAM_URL: ${settings['UPSTREAM_URL']} is an example host, a placeholder`);
  }
  for (const warning of settingWarnings(settings)) warnings.push(warning);

  const lines: string[] = [`${source}: ${config && errors.length === 0 ? 'valid' : `${errors.length} problem${errors.length === 1 ? '' : 's'}`}`];
  if (config) {
    for (const idp of config.idps) lines.push(`  IdP ${idp.name}: ${idp.issuer} · client ${idp.clientId} · ${idp.clientAuth} · ${idp.responseType}${idp.responseMode === 'form_post' ? ' (form_post)' : ''}`);
    lines.push(`  sessions: ${config.coordinator ? 'KV + COORDINATOR (one refresh per session, logout everywhere within 1 s)' : 'KV only'}${local ? ' · local (DEV_ALLOW_HTTP, loopback IdP)' : ''}`);
  }
  for (const error of errors) lines.push(`  ✗ ${error}`);
  for (const warning of warnings) lines.push(`  warning: ${warning}`);
  if (secretsNeeded.size > 0) {
    const where = overlay.from.length > 0 ? overlay.from.join(', ') : '.dev.vars';
    lines.push(`  secrets not in ${where} (a deploy needs them: npx wrangler secret put NAME${env.label.includes('[env.') ? ' --env ' + env.label.replace(/.*\[env\.(.*)\]$/, '$1') : ''}): ${[...secretsNeeded].join(', ')}`);
  }
  for (const note of notes) lines.push(`  note: ${note}`);

  let exitCode: 0 | 1 = errors.length > 0 || !config ? 1 : 0;
  // The rules and the samples, also while another setting is wrong (a placeholder issuer must not hide
  // what ROUTES do); not when ROUTES themselves are invalid, which the problems above name already.
  if (config || !problems.some((p) => p.key.startsWith('ROUTES'))) {
    const routes = runCheck({ source: env.label, routes: settings['ROUTES'], samples: input.samples ?? [], settings, ...(config ? { idps: config.idps } : {}), ...(input.asking ? { asking: input.asking } : {}) });
    lines.push('', ...routes.text.split('\n').filter((line) => !line.startsWith('  warning: ')));
    if (routes.exitCode !== 0) exitCode = 1;
  }
  return { exitCode, lines, ...(config ? { config } : {}), standIns };
}

function isMissingSecret(problem: ConfigProblem): boolean {
  return SECRET_KEYS.test(problem.key) && /^is required/.test(problem.message);
}

/** Every issuer configured: OIDC_ISSUER, or each IDPS entry's. */
function issuersOf(settings: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  if (typeof settings['OIDC_ISSUER'] === 'string') out.push(['OIDC_ISSUER', settings['OIDC_ISSUER']]);
  let idps = settings['IDPS'];
  if (typeof idps === 'string') {
    try {
      idps = JSON.parse(idps);
    } catch {
      idps = undefined;
    }
  }
  if (Array.isArray(idps)) {
    for (const idp of idps as Record<string, unknown>[]) if (typeof idp?.['issuer'] === 'string') out.push([`IDPS[${String(idp['name'])}].issuer`, idp['issuer']]);
  }
  return out;
}

/** A loopback demo: DEV_ALLOW_HTTP with every issuer on loopback (as config/index.ts decides it). */
function isLocal(settings: Record<string, unknown>): boolean {
  const issuers = issuersOf(settings);
  return String(settings['DEV_ALLOW_HTTP']) === 'true' && issuers.length > 0 && issuers.every(([, issuer]) => {
    try {
      return isLoopbackHost(new URL(issuer).hostname);
    } catch {
      return false;
    }
  });
}

/**
 * parseConfig logs what it tolerates (DEV_ALLOW_HTTP ignored, a plain-http upstream) as JSON lines for
 * Workers Logs; here they become warnings of the report instead.
 */
function quietly<T>(run: () => T): { value: T; logged: string[] } {
  const logged: string[] = [];
  const saved = { log: console.log, warn: console.warn, error: console.error };
  const capture = (line: unknown) => {
    try {
      const event = JSON.parse(String(line)) as { event?: string; reason?: string };
      logged.push(event.reason ?? event.event ?? String(line));
    } catch {
      logged.push(String(line));
    }
  };
  console.log = console.warn = console.error = capture;
  try {
    return { value: run(), logged };
  } finally {
    Object.assign(console, saved);
  }
}
