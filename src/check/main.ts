import { parseRoutes, type PathCase, type RouteRule } from '../policy/rules';
import { decide, type Principal, type Verdict } from '../policy/decide';
import type { NetworkFacts } from '../policy/conditions';
import { idpsOfRule, idpsOfSettings, unknownRuleIdps, type IdpSummary } from '../config/idps';
import { describeIdps, ruleHeading, ruleRequirements } from './describe';
import { judgeSample, parseSample } from './sample';

export { parseSample } from './sample';

/**
 * The `check` command's logic, bundled by scripts/check.mjs for Node: validate ROUTES with the same
 * `parseRoutes` the worker runs, then show which rule each sample request meets and what it requires.
 * Returns text and an exit code; the script does the file reading and printing.
 */

export interface CheckInput {
  /** Where ROUTES came from, for the first line (e.g. `wrangler.toml [env.production]`). */
  source: string;
  routes: unknown;
  /** `/admin/x`, `https://host/path`, `POST /api/x`, `POST https://host/path`. */
  samples: string[];
  /** The other `[vars]` of the same environment, for warnings about risky combinations. */
  settings?: Record<string, unknown>;
  /** `--as`, `--ip`, `--country`, `--asn`: who asks and from where; each sample is then decided as the worker would. */
  asking?: Asking;
  /**
   * The IdPs (the worker's parsed `config.idps`); each sample then shows which may sign in there.
   * Without them they are read from `settings` (config/idps.ts idpsOfSettings).
   */
  idps?: readonly IdpSummary[];
}

/** A sample request's asker: the claims of a signed-in session (none = anonymous) and the network facts. */
export interface Asking {
  claims?: Record<string, unknown>;
  network: NetworkFacts;
  /** The IdP that signed the session in; with several and none given, the first the rule allows. */
  idp?: string;
}

export interface CheckOutput {
  exitCode: 0 | 1;
  text: string;
}

export function runCheck(input: CheckInput): CheckOutput {
  const parsed = parseRoutes(input.routes);
  if ('problems' in parsed) {
    const lines = [`${input.source}: ROUTES is invalid (${parsed.problems.length} problem${parsed.problems.length > 1 ? 's' : ''}); the worker would refuse every request:`];
    for (const problem of parsed.problems) lines.push(`  ${problem.key}: ${problem.message}`);
    return { exitCode: 1, text: lines.join('\n') };
  }

  const { rules } = parsed;
  const idps = input.idps ?? idpsOfSettings(input.settings ?? {});
  // The worker refuses to start when a rule names an IdP it does not have (config/index.ts): the same check.
  const unknown = idps ? unknownRuleIdps(rules, idps) : [];
  if (unknown.length > 0) {
    const lines = [`${input.source}: ROUTES names identity providers that are not configured; the worker would refuse every request:`];
    for (const problem of unknown) lines.push(`  ${problem.key}: ${problem.message}`);
    return { exitCode: 1, text: lines.join('\n') };
  }
  const lines: string[] = [];
  if (rules.length === 0) {
    lines.push(`${input.source}: no ROUTES; every path requires a signed-in session.`);
  } else {
    lines.push(`${input.source}: ${rules.length} route rule${rules.length > 1 ? 's' : ''}, valid. First match wins; no match = session required.`);
    for (const rule of rules) lines.push(`  ${ruleHeading(rule)} → ${rule.auth}`);
  }
  if (rules.some((rule) => rule.host !== undefined) && input.samples.some((sample) => !/https?:\/\//i.test(sample))) {
    lines.push('  (samples given as a bare path skip rules with a host: give https://host/path to test those)');
  }
  for (const warning of settingWarnings(input.settings ?? {})) lines.push(`  warning: ${warning}`);
  const pathCase = input.settings?.['PATH_CASE'] === 'insensitive' ? 'insensitive' : 'sensitive';
  const decideWith = input.asking ? { asking: input.asking, settings: input.settings ?? {} } : undefined;
  for (const sample of input.samples) lines.push('', ...explainSample(rules, sample, pathCase, decideWith, idps));
  return { exitCode: 0, text: lines.join('\n') };
}

/** Settings that are valid but probably not what the operator wants. */
export function settingWarnings(settings: Record<string, unknown>): string[] {
  const warnings: string[] = [];
  const audience = typeof settings['API_AUDIENCE'] === 'string' ? settings['API_AUDIENCE'].trim() : undefined;
  const clientId = typeof settings['OIDC_CLIENT_ID'] === 'string' ? settings['OIDC_CLIENT_ID'].trim() : undefined;
  if (audience && audience === clientId) {
    warnings.push(
      'API_AUDIENCE equals OIDC_CLIENT_ID: api rules accept any access token issued for the gateway\'s own client. ' +
        'ID tokens are refused, but give the API an audience of its own (a resource indicator, an Entra ID Application ID URI, a Keycloak audience mapper).',
    );
  }
  return warnings;
}

export function explainSample(
  rules: readonly RouteRule[],
  sample: string,
  pathCase: PathCase = 'sensitive',
  decideWith?: { asking: Asking; settings: Record<string, unknown> },
  idps: readonly IdpSummary[] = [],
): string[] {
  const request = parseSample(sample);
  if (typeof request === 'string') return [`${sample}`, `  ✗ ${request}`];
  const shown = `${request.method} ${request.host ? `https://${request.host}` : ''}${request.rawPath}`;

  // The worker's own judgement of the same URL: every reading of the request must fall under one rule
  // (policy/readings.ts judgeUrl, through ./sample.ts).
  const judged = judgeSample(rules, request, pathCase);
  if (judged.kind === 'gateway') return [shown, '  → gateway endpoint (/_auth/…): answered by the gateway, not subject to ROUTES'];
  if (judged.kind === 'invalid') return [shown, `  → 400 Bad request: ${judged.detail}`];
  const { path, rule } = judged;

  const lines = [path === request.rawPath ? shown : `${shown}  (normalized: ${path})`];
  lines.push(`  → ${ruleHeading(rule)}`);
  for (const line of [...ruleRequirements(rule), ...describeIdps(rule, idps)]) lines.push(`    ${line}`);
  if (decideWith) {
    // With several IdPs a session is always some IdP's: the one asked for, or the first the rule allows.
    const several = idps.some((idp) => idp.fromIdps);
    const idp = decideWith.asking.idp ?? (several ? idpsOfRule(idps, rule.idps)[0]?.name : undefined);
    const asking = idp === undefined ? decideWith.asking : { ...decideWith.asking, idp };
    const as = several && decideWith.asking.claims && idp !== undefined ? ` (a session from ${idp})` : '';
    lines.push(`  decision${as}: ${verdictText(rule, decideSample(rule, request.method, asking, decideWith.settings))}`);
  }
  return lines;
}

/**
 * The worker's own decision (policy/decide.ts) for a browser page request by `asking`: a session with
 * these claims (treated as the verified claims a sign-in produced), or nobody.
 */
export function decideSample(rule: RouteRule, method: string, asking: Asking, settings: Record<string, unknown> = {}): Verdict {
  const claims = asking.claims ? (Object.assign(Object.create(null), asking.claims) as Record<string, unknown>) : undefined;
  const principal: Principal | null = claims
    ? { via: 'session', sub: typeof claims['sub'] === 'string' ? claims['sub'] : '(no sub)', claims, ...(asking.idp !== undefined ? { idp: asking.idp } : {}) }
    : null;
  const skew = Number(settings['CLOCK_SKEW'] ?? 30);
  const navigation = (method === 'GET' || method === 'HEAD') && rule.auth !== 'api';
  return decide(rule, principal, { preflight: false, navigation, network: asking.network }, Math.floor(Date.now() / 1000), Number.isFinite(skew) ? skew : 30, {
    assumeEmailVerified: settings['OIDC_ASSUME_EMAIL_VERIFIED'] === 'true' || settings['OIDC_ASSUME_EMAIL_VERIFIED'] === true,
  });
}

function verdictText(rule: RouteRule, verdict: Verdict): string {
  const where = rule.index < 0 ? 'default rule' : `ROUTES[${rule.index}]`;
  switch (verdict.action) {
    case 'forward':
      return `forward to the upstream (${rule.auth === 'public' ? 'public rule' : 'every condition holds'})`;
    case 'sign-in':
      return `sign in first (302 to the identity provider)${verdict.stepUp ? ', step-up' : ''}`;
    case 'unauthenticated':
      return `401 ${verdict.stepUp ? 'step_up_required' : 'unauthenticated'}`;
    case 'forbidden':
      return `403 forbidden by ${where} ${verdict.condition}: ${verdict.denied ? `not available ${verdict.missing}` : `requires ${verdict.missing}`}`;
    case 'insufficient-scope':
      return `403 insufficient_scope (${verdict.scopes.join(' ')})`;
  }
}
