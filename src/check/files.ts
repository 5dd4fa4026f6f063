import { parse as parseToml } from 'smol-toml';

/**
 * Reading a Worker's configuration as wrangler does, for the `check` command: `wrangler.toml` or
 * `wrangler.jsonc`/`wrangler.json`, an `[env.NAME]` section, and the local `.dev.vars` overlay. Pure
 * (text in, data out): scripts/check.mjs reads the files, tests hand over strings.
 */

export type ConfigFormat = 'toml' | 'jsonc';

/** The file names wrangler looks for, in its order: JSON, then JSONC, then TOML. */
export const CONFIG_FILES = ['wrangler.json', 'wrangler.jsonc', 'wrangler.toml'] as const;

export function formatOf(fileName: string): ConfigFormat {
  return /\.toml$/i.test(fileName) ? 'toml' : 'jsonc';
}

/** A wrangler configuration file's content, or why it cannot be read. */
export function parseConfigFile(text: string, format: ConfigFormat): { config: Record<string, unknown> } | { problem: string } {
  try {
    const value = format === 'toml' ? parseToml(text) : JSON.parse(stripJsonc(text));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'expected an object at the top level' };
    return { config: value as Record<string, unknown> };
  } catch (error) {
    return { problem: `is not valid ${format === 'toml' ? 'TOML' : 'JSONC'}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * JSON with comments (`//`, `/* *\/`) and trailing commas, as wrangler reads `wrangler.jsonc`: comments
 * become spaces and trailing commas go, outside strings only.
 */
export function stripJsonc(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      const start = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      out += ' ';
    } else if (ch === ',') {
      let j = i + 1;
      // Skip whitespace and comments to see whether the comma is trailing.
      for (;;) {
        while (j < text.length && /\s/.test(text[j]!)) j++;
        if (text.startsWith('//', j)) while (j < text.length && text[j] !== '\n') j++;
        else if (text.startsWith('/*', j)) j = text.indexOf('*/', j + 2) < 0 ? text.length : text.indexOf('*/', j + 2) + 2;
        else break;
      }
      if (text[j] !== '}' && text[j] !== ']') out += ',';
      i++;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** What the Worker of one environment gets from the file. */
export interface WorkerEnvironment {
  /** `wrangler.toml` or `wrangler.toml [env.production]`. */
  label: string;
  /** `vars` of that environment. */
  vars: Record<string, unknown>;
  /** Binding names: KV namespaces with their ids, Durable Objects with their classes. */
  kv: { binding: string; id: string | undefined }[];
  durableObjects: { name: string; className: string | undefined }[];
  /** Inheritable keys: read from the environment, else the top level. */
  routes: unknown[];
  workersDev: boolean | undefined;
  /** What the operator should know about how the environment was assembled. */
  notes: string[];
}

/**
 * The environment `--env NAME` selects (none = the top level). `vars`, `kv_namespaces` and
 * `durable_objects` are not inherited by `[env.NAME]` (wrangler's non-inheritable keys); `routes`,
 * `route` and `workers_dev` are.
 */
export function environmentOf(config: Record<string, unknown>, fileName: string, envName?: string): WorkerEnvironment | { problem: string } {
  let section: Record<string, unknown> = config;
  const notes: string[] = [];
  if (envName !== undefined) {
    const env = (config['env'] as Record<string, unknown> | undefined)?.[envName];
    if (typeof env !== 'object' || env === null) return { problem: `${fileName} has no [env.${envName}] section` };
    section = env as Record<string, unknown>;
    const topVars = Object.keys((config['vars'] as Record<string, unknown> | undefined) ?? {});
    const ownVars = Object.keys((section['vars'] as Record<string, unknown> | undefined) ?? {});
    const missing = topVars.filter((key) => !ownVars.includes(key));
    notes.push(
      `[env.${envName}] does not inherit vars, kv_namespaces or durable_objects from the top level (wrangler's non-inheritable keys)` +
        (missing.length > 0 ? `: the top-level ${missing.join(', ')} do not apply here` : ''),
    );
  }
  const pick = (key: string) => (section[key] !== undefined ? section[key] : config[key]);
  const route = pick('route');
  const routes = [...(Array.isArray(pick('routes')) ? (pick('routes') as unknown[]) : []), ...(route !== undefined ? [route] : [])];
  const kvList = Array.isArray(section['kv_namespaces']) ? (section['kv_namespaces'] as Record<string, unknown>[]) : [];
  const doList = (section['durable_objects'] as { bindings?: unknown } | undefined)?.bindings;
  return {
    label: envName === undefined ? fileName : `${fileName} [env.${envName}]`,
    vars: { ...((section['vars'] as Record<string, unknown> | undefined) ?? {}) },
    kv: kvList.map((kv) => ({ binding: String(kv['binding']), id: typeof kv['id'] === 'string' ? kv['id'] : undefined })),
    durableObjects: (Array.isArray(doList) ? (doList as Record<string, unknown>[]) : []).map((d) => ({
      name: String(d['name']),
      className: typeof d['class_name'] === 'string' ? d['class_name'] : undefined,
    })),
    routes,
    workersDev: typeof pick('workers_dev') === 'boolean' ? (pick('workers_dev') as boolean) : undefined,
    notes,
  };
}

/**
 * The local overlay `wrangler dev` applies over `vars`: `.dev.vars.<env>` alone when it exists, else
 * `.dev.vars`; without either, the `.env` files, merged from least to most specific. `files` maps the
 * names that exist beside the configuration file to their text.
 */
export function localOverlay(files: Record<string, string>, envName?: string): { from: string[]; vars: Record<string, string> } {
  const devVars = envName !== undefined && files[`.dev.vars.${envName}`] !== undefined ? `.dev.vars.${envName}` : files['.dev.vars'] !== undefined ? '.dev.vars' : undefined;
  if (devVars) return { from: [devVars], vars: parseDotenv(files[devVars]!) };
  const order = ['.env', ...(envName ? [`.env.${envName}`] : []), '.env.local', ...(envName ? [`.env.${envName}.local`] : [])];
  const from = order.filter((name) => files[name] !== undefined);
  return { from, vars: Object.assign({}, ...from.map((name) => parseDotenv(files[name]!))) as Record<string, string> };
}

/** The names `localOverlay` may read, for the script to look for. */
export function overlayFileNames(envName?: string): string[] {
  return ['.dev.vars', '.env', '.env.local', ...(envName ? [`.dev.vars.${envName}`, `.env.${envName}`, `.env.${envName}.local`] : [])];
}

/** dotenv syntax: `KEY=value`, `export KEY=value`, single or double quotes (double ones know `\n`), `#` comments. */
export function parseDotenv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  const line = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*("(?:\\.|[^"\\])*"|'[^']*'|`[^`]*`|[^\n#]*)[^\n]*$/gm;
  for (const match of text.matchAll(line)) {
    const raw = match[2]!.trim();
    const quote = raw[0];
    let value = raw;
    if ((quote === '"' || quote === "'" || quote === '`') && raw.endsWith(quote) && raw.length >= 2) {
      value = raw.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\r/g, '\r').replace(/\\(["\\])/g, '$1');
    }
    vars[match[1]!] = value;
  }
  return vars;
}
