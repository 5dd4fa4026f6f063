// `npm run init` → `npm run check`: the configuration init writes for every IdP kind (TOML and JSONC,
// one IdP and several) passes the check's preflight, which validates it with the worker's parseConfig;
// the preflight reads jsonc and .dev.vars as wrangler does, flags the shipped placeholders, and with
// --online asks the local IdP (scripts/idp.mjs) what it supports.
import { describe, expect, inject, it } from 'vitest';
import { environmentOf, localOverlay, parseConfigFile, type ConfigFormat } from '../../src/check/files';
import { preflight } from '../../src/check/preflight';
import { onlineReport } from '../../src/check/online';
import { CLIENT_ID } from '../setup/constants';
// @ts-ignore -- plain ESM module without type declarations
import { newSessionSecret, planInit, renderJsonc, renderToml, updateDevVars } from '../../scripts/lib/init-config.mjs';
// @ts-ignore -- plain ESM module without type declarations
import { KIND_NAMES } from '../../scripts/lib/idp-kinds.mjs';

const KV_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const ISSUERS: Record<string, string> = {
  okta: 'https://contoso.okta.com/oauth2/default',
  entra: 'https://login.microsoftonline.com/0b7e2c4a-1f6d-4f3a-9c1e-2a3b4c5d6e7f/v2.0',
  auth0: 'https://contoso.eu.auth0.com/',
  google: 'https://accounts.google.com',
  keycloak: 'https://sso.contoso.dev/realms/staff',
  'oidc-provider': 'http://127.0.0.1:9400',
  generic: 'https://id.contoso.dev',
};

/** What `npm run check` does with the files init wrote (scripts/check.mjs, minus the file system). */
function check(files: { config: string; format: ConfigFormat; devVars?: string; extra?: Record<string, string> }, envName?: string, samples: string[] = []) {
  const file = parseConfigFile(files.config, files.format);
  if ('problem' in file) throw new Error(file.problem);
  const name = files.format === 'toml' ? 'wrangler.toml' : 'wrangler.jsonc';
  const environment = environmentOf(file.config, name, envName);
  if ('problem' in environment) throw new Error(environment.problem);
  const overlay = localOverlay({ ...(files.devVars !== undefined ? { '.dev.vars': files.devVars } : {}), ...files.extra }, envName);
  return preflight({ environment, overlay, samples });
}

function init(answers: Record<string, unknown>) {
  const result = planInit({ main: 'src/index.ts', compatibilityDate: '2026-07-01', ...answers });
  if ('problems' in result) throw new Error(result.problems.join('; '));
  return result.plan;
}

describe('init writes a configuration check accepts', () => {
  for (const kind of KIND_NAMES as string[]) {
    for (const format of ['toml', 'jsonc'] as const) {
      it(`${kind} (${format})`, () => {
        const local = kind === 'oidc-provider';
        const plan = init({ idps: [{ kind, issuer: ISSUERS[kind], clientId: 'client-1' }], host: local ? 'localhost:8787' : 'app.contoso.dev', kvId: local ? undefined : KV_ID, origin: 'https://origin.contoso.dev' });
        const config = format === 'toml' ? renderToml(plan.config, ['written by a test']) : renderJsonc(plan.config, ['written by a test']);
        // The local run's .dev.vars: the generated SESSION_SECRET (and the client secret, put there by hand).
        const devVars = updateDevVars('', { SESSION_SECRET: newSessionSecret(), OIDC_CLIENT_SECRET: 'a-client-secret' });
        const result = check({ config, format, devVars }, undefined, ['/x']);
        expect(result.lines.join('\n')).toContain(': valid');
        expect(result.exitCode, result.lines.join('\n')).toBe(0);
        expect(result.config?.issuer).toBe(ISSUERS[kind]);
        if (local) expect(result.lines.join('\n')).toContain('fine for wrangler dev');
        if (kind === 'entra') expect(result.config?.userClaim).toBe('oid');
        if (kind === 'auth0') expect(result.config?.clientAuth).toBe('client_secret_post');
      });
    }
  }

  it('several IdPs as [[vars.IDPS]], with per-IdP secrets and callbacks', () => {
    const plan = init({
      idps: [
        { name: 'corp', kind: 'entra', issuer: ISSUERS['entra'], clientId: 'app-1' },
        { name: 'partners', kind: 'okta', issuer: ISSUERS['okta'], clientId: '0oa1' },
      ],
      host: 'app.contoso.dev',
      kvId: KV_ID,
    });
    expect(plan.idps.map((idp: { secret: string; callback: string }) => [idp.secret, idp.callback])).toEqual([
      ['OIDC_CLIENT_SECRET_CORP', '/_auth/callback/corp'],
      ['OIDC_CLIENT_SECRET_PARTNERS', '/_auth/callback/partners'],
    ]);
    const config = renderToml(plan.config);
    expect(config).toContain('[[vars.IDPS]]');
    const result = check({ config, format: 'toml', devVars: updateDevVars('', { SESSION_SECRET: newSessionSecret() }) });
    expect(result.exitCode, result.lines.join('\n')).toBe(0);
    expect(result.config?.idps.map((idp) => idp.name)).toEqual(['corp', 'partners']);
    // The client secrets are not in .dev.vars: named as what a deploy needs.
    expect(result.lines.join('\n')).toContain('OIDC_CLIENT_SECRET_CORP, OIDC_CLIENT_SECRET_PARTNERS');
  });

  it('refuses answers that cannot work, naming them', () => {
    const bad = planInit({ main: 'src/index.ts', compatibilityDate: '2026-07-01', host: 'app.contoso.dev', idps: [{ kind: 'entra', issuer: 'https://login.microsoftonline.com/common/v2.0', clientId: 'x' }] });
    expect(bad.problems.join('\n')).toContain('common, organizations and consumers name no issuer');
    const auth0 = planInit({ main: 'src/index.ts', compatibilityDate: '2026-07-01', host: 'app.contoso.dev', idps: [{ kind: 'auth0', issuer: 'https://contoso.eu.auth0.com', clientId: 'x' }] });
    expect(auth0.problems.join('\n')).toContain('trailing slash');
  });

  it('keeps the user\'s other .dev.vars lines and replaces SESSION_SECRET in place', () => {
    const before = '# mine\nAPI_TOKEN="x"\nSESSION_SECRET=old\nexport OTHER=1\n';
    const after = updateDevVars(before, { SESSION_SECRET: 'new-secret' });
    expect(after).toBe('# mine\nAPI_TOKEN="x"\nSESSION_SECRET="new-secret"\nexport OTHER=1\n');
    expect(newSessionSecret()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

const SHIPPED = `
name = "edgegate"
main = "src/index.ts"
workers_dev = false
[vars]
OIDC_ISSUER = "https://idp.example.com"
OIDC_CLIENT_ID = "edgegate"
[[kv_namespaces]]
binding = "SESSIONS"
id = "00000000000000000000000000000000"
`;

describe('check reads what wrangler reads', () => {
  it('flags the placeholders of the shipped configuration: example issuer, zero KV id, no routes', () => {
    const result = check({ config: SHIPPED, format: 'toml' }, undefined, ['/admin/x']);
    const text = result.lines.join('\n');
    expect(result.exitCode).toBe(1);
    // The ROUTES dry run still answers.
    expect(text).toContain('GET /admin/x\n  → no rule matches → default');
    expect(text).toMatch(/✗ OIDC_ISSUER: .*placeholder/);
    expect(text).toMatch(/✗ SESSIONS: the KV namespace id is the placeholder/);
    expect(text).toMatch(/✗ routes: none, and workers_dev = false/);
    expect(text).toContain('SESSION_SECRET, OIDC_CLIENT_SECRET');
  });

  it('reads wrangler.jsonc with comments and trailing commas like the same TOML', () => {
    const jsonc = `// a comment
{
  "name": "edgegate", /* another */ "main": "src/index.ts",
  "routes": [{ "pattern": "app.contoso.dev/*", "zone_name": "contoso.dev" },],
  "vars": {
    "OIDC_ISSUER": "https://id.contoso.dev", // "https://idp.example.com" in a comment is no setting
    "OIDC_CLIENT_ID": "edgegate",
    "ROUTES": [{ "path": "/admin/**", "auth": "session" },],
  },
  "kv_namespaces": [{ "binding": "SESSIONS", "id": "${KV_ID}" }],
}`;
    const result = check({ config: jsonc, format: 'jsonc', devVars: `SESSION_SECRET=${newSessionSecret()}\nOIDC_CLIENT_SECRET=s\n` }, undefined, ['/admin;x/y']);
    expect(result.exitCode, result.lines.join('\n')).toBe(0);
    expect(result.config?.routes).toHaveLength(1);
    expect(result.lines.join('\n')).toContain('400 Bad request');
  });

  it('overlays .dev.vars over vars (wrangler dev), and a secret in vars is an error', () => {
    const toml = `routes = ["app.contoso.dev/*"]\n[vars]\nOIDC_ISSUER = "https://id.contoso.dev"\nOIDC_CLIENT_ID = "edgegate"\nSESSION_IDLE_TTL = 3600\n[[kv_namespaces]]\nbinding = "SESSIONS"\nid = "${KV_ID}"\n`;
    const overridden = check({ config: toml, format: 'toml', devVars: 'SESSION_IDLE_TTL="not a number"\n' });
    expect(overridden.exitCode).toBe(1);
    expect(overridden.lines.join('\n')).toContain('SESSION_IDLE_TTL: expected a whole number');
    expect(overridden.lines.join('\n')).toContain('SESSION_IDLE_TTL: .dev.vars overrides the value in wrangler.toml');

    const leaked = check({ config: toml.replace('[vars]\n', '[vars]\nSESSION_SECRET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEF"\n'), format: 'toml' });
    expect(leaked.exitCode).toBe(1);
    expect(leaked.lines.join('\n')).toContain('SESSION_SECRET: is a secret but sits in vars');
  });

  it('--env NAME: its own vars only (not inherited, said so), .dev.vars.NAME before .dev.vars', () => {
    const toml = `routes = ["app.contoso.dev/*"]\n[vars]\nOIDC_ISSUER = "https://id.contoso.dev"\nOIDC_CLIENT_ID = "edgegate"\n[[kv_namespaces]]\nbinding = "SESSIONS"\nid = "${KV_ID}"\n[env.staging.vars]\nOIDC_CLIENT_ID = "edgegate-staging"\n[[env.staging.kv_namespaces]]\nbinding = "SESSIONS"\nid = "${KV_ID}"\n`;
    const staging = check({ config: toml, format: 'toml', devVars: 'OIDC_ISSUER=https://wrong.contoso.dev\n', extra: { '.dev.vars.staging': 'OIDC_ISSUER=https://staging.contoso.dev\n' } }, 'staging');
    const text = staging.lines.join('\n');
    expect(text).toContain('[env.staging] does not inherit vars');
    expect(staging.config?.issuer).toBe('https://staging.contoso.dev');
    expect(staging.config?.clientId).toBe('edgegate-staging');

    const missing = check({ config: toml, format: 'toml' }, 'staging');
    expect(missing.exitCode).toBe(1);
    expect(missing.lines.join('\n')).toContain('✗ OIDC_ISSUER: is required');
    expect(missing.lines.join('\n')).toContain('the top-level OIDC_ISSUER do not apply here');
  });
});

describe('check --online against the local IdP', () => {
  const local = (issuer: string) =>
    check({
      config: `[vars]\nOIDC_ISSUER = "${issuer}"\nOIDC_CLIENT_ID = "${CLIENT_ID}"\nDEV_ALLOW_HTTP = "true"\n[[kv_namespaces]]\nbinding = "SESSIONS"\nid = "${KV_ID}"\n`,
      format: 'toml',
      devVars: `SESSION_SECRET=${newSessionSecret()}\n`,
    });

  it('reports what the IdP supports beside what is configured', async () => {
    const result = local(inject('idpIssuer'));
    expect(result.exitCode, result.lines.join('\n')).toBe(0);
    const report = await onlineReport(result.config!, { standIns: result.standIns, host: 'app.contoso.dev' });
    const text = report.lines.join('\n');
    expect(report.ok, text).toBe(true);
    expect(text).toContain('✓ discovery: issuer matches exactly');
    expect(text).toContain('✓ client authentication: client_secret_basic');
    expect(text).toMatch(/✓ PAR: .*OIDC_USE_PAR = auto/);
    expect(text).toContain('back-channel logout supported');
    expect(text).toContain('end_session_endpoint');
    expect(text).toContain('revocation_endpoint');
    expect(text).toMatch(/✓ JWKS: \d+ signing key/);
  });

  it('fails, naming the IdP\'s own spelling, when the issuer differs by a trailing slash', async () => {
    const result = local(`${inject('idpIssuer')}/`);
    const report = await onlineReport(result.config!, { standIns: result.standIns });
    expect(report.ok).toBe(false);
    expect(report.lines.join('\n')).toContain('the identity provider calls itself');
  });
});
