import { isGatewayError } from '../http/errors';
import { judgeUrl } from '../policy/readings';
import type { PathCase, RouteRule } from '../policy/rules';

/**
 * A sample request of the `check` command, judged by the worker's own entry (policy/readings.ts
 * `judgeUrl`): the sample is parsed into a `URL` by the same parser the worker's request goes through,
 * and that URL is what is judged, so the command and the worker cannot read a path differently.
 */

export interface SampleRequest {
  method: string;
  /** Given with the sample (`https://host/path`); undefined for a bare path. */
  host: string | undefined;
  /** As typed (for display). */
  rawPath: string;
  /** The URL the worker would see (a bare path is put on a host no rule names). */
  url: URL;
}

export type SampleJudgement =
  | { kind: 'gateway' }
  | { kind: 'invalid'; detail: string }
  | { kind: 'rule'; rule: RouteRule; path: string };

/** Host of a sample given as a bare path: reserved (RFC 2606), so it never meets a rule's `host`. */
const NO_HOST = 'sample.invalid';

/** `[METHOD] (/path | http(s)://host/path)`, parsed the way the worker's URL parser would see it. */
export function parseSample(sample: string): SampleRequest | string {
  // Split on spaces only: a tab inside a path is the URL parser's to remove, as it is for the worker.
  const parts = sample.trim().split(/ +/);
  let method = 'GET';
  if (parts.length === 2 && /^[A-Za-z]+$/.test(parts[0]!)) method = parts.shift()!.toUpperCase();
  if (parts.length !== 1 || parts[0] === '') return 'expected a path (/admin/x) or a URL, optionally after a method (POST /api/x)';
  const target = parts[0]!;
  if (target.startsWith('/')) {
    // Concatenated, not resolved against a base: `//x` stays a path instead of becoming a host.
    return { method, host: undefined, rawPath: target.replace(/[?#].*$/, ''), url: new URL(`https://${NO_HOST}${target}`) };
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return 'expected a path starting with / or an absolute http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'expected an http(s) URL';
  const rawPath = target.slice(target.indexOf('//') + 2).replace(/^[^/?#]*/, '').replace(/[?#].*$/, '') || '/';
  return { method, host: url.hostname, rawPath, url };
}

/**
 * What the worker does with the request: a gateway endpoint (app.ts routes `/_auth/…` before any
 * rule, and the gate refuses an encoded spelling of one), a 400 `path_invalid`, or the rule and the
 * path forwarded.
 */
export function judgeSample(rules: readonly RouteRule[], request: SampleRequest, pathCase: PathCase = 'sensitive'): SampleJudgement {
  if (isGatewayPath(request.url.pathname)) return { kind: 'gateway' };
  try {
    const { path, rule } = judgeUrl(rules, { method: request.method, url: request.url }, pathCase);
    return isGatewayPath(path) ? { kind: 'gateway' } : { kind: 'rule', rule, path };
  } catch (error) {
    if (!isGatewayError(error)) throw error;
    return { kind: 'invalid', detail: error.detail ?? error.message };
  }
}

export function isGatewayPath(path: string): boolean {
  return path === '/_auth' || path.startsWith('/_auth/');
}
