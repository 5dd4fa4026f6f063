// `npm run init`'s pure part: answers in, a wrangler configuration (as data, TOML or JSONC text), the
// .dev.vars update and the values to register at each IdP out. No Node imports: tests run it inside
// workerd and hand the result to the check command's own parser and preflight.

import { IDP_KINDS, kindOf } from './idp-kinds.mjs';

/** The KV id wrangler.toml ships with: `npx wrangler kv namespace create SESSIONS` prints the real one. */
export const ZERO_KV_ID = '00000000000000000000000000000000';

/**
 * @typedef {object} IdpAnswer
 * @property {string} [name]  with several IdPs: lower-case letters, digits, `-`
 * @property {string} kind  a key of IDP_KINDS (or an alias kindOf knows)
 * @property {string} issuer
 * @property {string} clientId
 * @property {string} [displayName]
 * @property {string} [audience]  Auth0 API identifier (auth_params.audience)
 *
 * @typedef {object} InitAnswers
 * @property {IdpAnswer[]} idps  one = the OIDC_* settings; several = IDPS
 * @property {string} host  the site's host name (and port for a local run), e.g. app.example.com
 * @property {string} [origin]  UPSTREAM_URL; unset = the zone's own origin
 * @property {string} [zone]  zone_name of the route; default: the host without its first label
 * @property {string} [kvId]
 * @property {string} main  path of src/index.ts as seen from the configuration file
 * @property {string} compatibilityDate
 * @property {string} [name]  the Worker's name (edgegate)
 *
 * @typedef {object} InitPlan
 * @property {Record<string, unknown>} config  the wrangler configuration as data
 * @property {boolean} local  every issuer is an http loopback one: DEV_ALLOW_HTTP, no routes
 * @property {string} origin  https://<host> (http:// when local)
 * @property {{ name: string, kind: string, issuer: string, secret: string, callback: string }[]} idps
 * @property {string[]} notes
 */

/** @returns {{ plan: InitPlan } | { problems: string[] }} */
export function planInit(/** @type {InitAnswers} */ answers) {
  const problems = [];
  const notes = [];
  const several = answers.idps.length > 1;
  if (answers.idps.length === 0) problems.push('no identity provider given');

  const host = String(answers.host ?? '').trim().replace(/^https?:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  if (!/^[a-z0-9.-]+(:\d+)?$/.test(host) || host === '') problems.push(`host: "${answers.host ?? ''}" is not a host name such as app.example.com`);
  const hostname = host.replace(/:\d+$/, '');

  const idps = [];
  const entries = [];
  for (const [i, answer] of answers.idps.entries()) {
    const kind = kindOf(answer.kind ?? '');
    const label = several ? `IdP ${answer.name ?? i + 1}` : 'IdP';
    if (!kind) {
      problems.push(`${label}: unknown kind "${answer.kind}" (one of ${Object.keys(IDP_KINDS).join(', ')})`);
      continue;
    }
    const spec = IDP_KINDS[kind];
    const name = several ? String(answer.name ?? '') : 'default';
    if (several && !/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(name)) problems.push(`${label}: the name "${name}" must be lower-case letters, digits and -`);
    if (several && idps.some((idp) => idp.name === name)) problems.push(`${label}: the name "${name}" is given twice`);
    const issuer = String(answer.issuer ?? '').trim();
    let url;
    try {
      url = new URL(issuer);
    } catch {
      problems.push(`${label}: issuer "${issuer}" is not a URL (${kind}: ${spec.issuerExample})`);
      continue;
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) problems.push(`${label}: the issuer must be https:// (http only on a loopback address)`);
    const issuerProblem = spec.checkIssuer(issuer);
    if (issuerProblem) problems.push(`${label}: issuer ${issuer}: ${issuerProblem}`);
    const clientId = String(answer.clientId ?? '').trim();
    if (clientId === '') problems.push(`${label}: a client id is required (register the gateway at the IdP first; the values below say how)`);

    const settings = structuredClone(spec.settings);
    if (answer.audience) settings.auth_params = { ...(settings.auth_params ?? {}), audience: answer.audience };
    entries.push({ name, kind, issuer, clientId, settings, displayName: answer.displayName ?? spec.label.replace(/ \(.*$/, '') });
    idps.push({
      name,
      kind,
      issuer,
      secret: several ? `OIDC_CLIENT_SECRET_${name.toUpperCase().replace(/-/g, '_')}` : 'OIDC_CLIENT_SECRET',
      callback: several ? `/_auth/callback/${name}` : '/_auth/callback',
    });
  }
  if (several && new Set(entries.map((e) => e.issuer)).size !== entries.length) problems.push('each IdP needs its own issuer');

  let origin;
  if (answers.origin) {
    try {
      const upstream = new URL(answers.origin);
      if (!/^https?:$/.test(upstream.protocol) || upstream.search || upstream.hash) throw new Error();
      origin = upstream.href.replace(/\/$/, '');
    } catch {
      problems.push(`origin: "${answers.origin}" is not an http(s) URL without query (UPSTREAM_URL)`);
    }
  }
  if (problems.length > 0) return { problems };

  const local = entries.every((e) => new URL(e.issuer).protocol === 'http:') && isLoopback(hostname);
  if (entries.some((e) => new URL(e.issuer).protocol === 'http:') && !local) {
    return { problems: ['an http:// issuer works only for a local run: with a loopback host (localhost:8787) too'] };
  }

  /** @type {Record<string, unknown>} */
  const vars = {};
  if (several) {
    vars.IDPS = entries.map((e) => ({ name: e.name, display_name: e.displayName, issuer: e.issuer, client_id: e.clientId, ...e.settings }));
    const wanted = [...new Set(entries.map((e) => IDP_KINDS[e.kind].userClaim).filter(Boolean))];
    if (wanted.length > 0) notes.push(`USER_CLAIM is site-wide: left at sub with several IdPs (${wanted.join(', ')} would suit ${entries.filter((e) => IDP_KINDS[e.kind].userClaim).map((e) => e.name).join(', ')}); X-User-Idp tells the IdPs apart.`);
  } else {
    const [e] = entries;
    vars.OIDC_ISSUER = e.issuer;
    vars.OIDC_CLIENT_ID = e.clientId;
    for (const [key, value] of Object.entries(e.settings)) vars[`OIDC_${key.toUpperCase()}`] = value;
    if (IDP_KINDS[e.kind].userClaim) vars.USER_CLAIM = IDP_KINDS[e.kind].userClaim;
  }
  if (origin) vars.UPSTREAM_URL = origin;
  if (local) vars.DEV_ALLOW_HTTP = 'true';
  // Object order = file order: tables (OIDC_AUTH_PARAMS, IDPS) after the plain values.
  const ordered = Object.fromEntries(Object.entries(vars).sort(([, a], [, b]) => Number(typeof a === 'object') - Number(typeof b === 'object')));

  const zone = answers.zone ?? hostname.split('.').slice(hostname.split('.').length > 2 ? 1 : 0).join('.');
  /** @type {Record<string, unknown>} */
  const config = {
    name: answers.name ?? 'edgegate',
    main: answers.main,
    compatibility_date: answers.compatibilityDate,
    minify: true,
    keep_names: false,
    workers_dev: false,
    ...(local ? {} : { routes: [{ pattern: `${hostname}/*`, zone_name: zone }] }),
    observability: { enabled: true },
    vars: ordered,
    kv_namespaces: [{ binding: 'SESSIONS', id: answers.kvId ?? ZERO_KV_ID }],
    durable_objects: { bindings: [{ name: 'COORDINATOR', class_name: 'SessionCoordinator' }] },
    migrations: [{ tag: 'v1', new_sqlite_classes: ['SessionCoordinator'] }],
  };
  if (!local && !answers.zone) notes.push(`routes: zone_name "${zone}" is a guess from the host; pass --zone if your zone is another.`);
  return { plan: { config, local, origin: `${local ? 'http' : 'https'}://${host}`, idps, notes } };
}

/** What to register at each IdP, as lines to print. */
export function registrationLines(/** @type {InitPlan} */ plan) {
  const lines = [];
  for (const idp of plan.idps) {
    const spec = IDP_KINDS[idp.kind];
    const scopes = String((plan.idps.length > 1 ? plan.config.vars.IDPS.find((e) => e.name === idp.name) : { scopes: plan.config.vars.OIDC_SCOPES }).scopes);
    lines.push(`Register at ${spec.label}${plan.idps.length > 1 ? ` (IdP "${idp.name}")` : ''}, ${idp.issuer}:`);
    lines.push(`  where                     ${spec.where}`);
    lines.push(`  client type               web application / confidential client, authorization code flow with PKCE (S256)`);
    lines.push(`  redirect URI              ${plan.origin}${idp.callback}`);
    if (spec.endSession) lines.push(`  post-logout redirect URI  ${plan.origin}/_auth/signed-out`);
    if (spec.backchannel !== 'no') lines.push(`  back-channel logout URI   ${plan.origin}/_auth/backchannel-logout  (session required: on)${spec.backchannel === 'optional' ? ' — if the IdP offers it' : ''}`);
    if (spec.frontchannel) lines.push(`  front-channel logout URI  ${plan.origin}/_auth/frontchannel-logout  (session required: on)`);
    lines.push(`  grant types               authorization_code${scopes.includes('offline_access') || idp.kind === 'google' ? ', refresh_token' : ''}`);
    lines.push(`  scopes                    ${scopes}`);
    lines.push(`  claims                    sub, email and email_verified (profile: name, preferred_username); ID tokens signed with an asymmetric algorithm (RS256, ES256, …)`);
    lines.push(`  groups                    ${spec.groups}`);
    for (const note of spec.notes) lines.push(`  note: ${note}`);
    lines.push('');
  }
  return lines;
}

/** The production secrets, as commands to run. */
export function secretLines(/** @type {InitPlan} */ plan, /** @type {string | undefined} */ envFlag = undefined) {
  const env = envFlag ? ` --env ${envFlag}` : '';
  const lines = [];
  if (plan.config.kv_namespaces[0].id === ZERO_KV_ID) lines.push('npx wrangler kv namespace create SESSIONS        # put the printed id into [[kv_namespaces]]');
  lines.push(`openssl rand -base64 32 | npx wrangler secret put SESSION_SECRET${env}`);
  for (const idp of plan.idps) lines.push(`npx wrangler secret put ${idp.secret}${env}`);
  return lines;
}

// --- Files -----------------------------------------------------------------------------------------

/** TOML for the shapes above: scalars, lists, tables, lists of tables (`routes` inline, as wrangler's docs write it). */
export function renderToml(/** @type {Record<string, unknown>} */ config, /** @type {string[]} */ header = []) {
  const out = header.map((line) => `# ${line}`);
  writeTable(out, [], config);
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}

function writeTable(out, path, table) {
  const plain = Object.entries(table).filter(([key, value]) => !isTable(value) && !(isTableList(value) && key !== 'routes'));
  for (const [key, value] of plain) out.push(`${tomlKey(key)} = ${tomlValue(value)}`);
  for (const [key, value] of Object.entries(table)) {
    if (isTable(value)) {
      const hasPlain = Object.values(value).some((v) => !isTable(v) && !isTableList(v));
      if (hasPlain) out.push('', `[${[...path, key].map(tomlKey).join('.')}]`);
      writeTable(out, [...path, key], value);
    } else if (isTableList(value) && key !== 'routes') {
      for (const item of value) {
        out.push('', `[[${[...path, key].map(tomlKey).join('.')}]]`);
        writeTable(out, [...path, key], item);
      }
    }
  }
}

const isTable = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
const isTableList = (value) => Array.isArray(value) && value.length > 0 && value.every(isTable);
const tomlKey = (key) => (/^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key));

function tomlValue(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(', ')}]`;
  if (isTable(value)) return `{ ${Object.entries(value).map(([k, v]) => `${tomlKey(k)} = ${tomlValue(v)}`).join(', ')} }`;
  throw new Error(`cannot write ${typeof value} as TOML`);
}

/** JSONC: JSON with the header as comments. */
export function renderJsonc(/** @type {Record<string, unknown>} */ config, /** @type {string[]} */ header = []) {
  return `${header.map((line) => `// ${line}`).join('\n')}\n${JSON.stringify(config, null, 2)}\n`;
}

/**
 * `.dev.vars` with `values` set: a line of the same name is replaced in place, new ones are appended,
 * every other line (the user's) is kept as it was.
 */
export function updateDevVars(/** @type {string} */ text, /** @type {Record<string, string>} */ values) {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const left = new Map(Object.entries(values));
  const out = lines.map((line) => {
    const match = /^\s*(?:export\s+)?([\w.-]+)\s*=/.exec(line);
    if (!match || !left.has(match[1])) return line;
    const value = left.get(match[1]);
    left.delete(match[1]);
    return `${match[1]}=${JSON.stringify(value)}`;
  });
  for (const [key, value] of left) out.push(`${key}=${JSON.stringify(value)}`);
  return `${out.join('\n')}\n`;
}

/** 32 random bytes, base64url (43 characters): what config/index.ts wants of SESSION_SECRET. */
export function newSessionSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function isLoopback(hostname) {
  return hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === '[::1]' || hostname === '::1';
}
