// `npm run check` and the worker agree on every request line of the routes table
// (test/routes/matching-table.ts): the check's answer — 400, or which rule and what path is forwarded
// — is asked of the worker too, anonymously, and must be the same. Both judge the URL through one
// entry (policy/readings.ts judgeUrl), so a `;` or `%3B` path cannot be read two ways.
import { describe, expect, it } from 'vitest';
import { parseRoutes } from '../../src/policy/rules';
import { judgeSample, parseSample } from '../../src/check/sample';
import { API, echoOf, withRoutes } from '../routes/helpers';
import { CASES, ROUTES } from '../routes/matching-table';

const parsed = parseRoutes(ROUTES);
if (!('rules' in parsed)) throw new Error('the table\'s ROUTES must be valid');
const rules = parsed.rules;
const gateway = withRoutes(ROUTES);

/** The worker's answer in the check's terms: 400, 401 (a session rule or none), or forwarded (public). */
async function workerAnswer(request: string): Promise<string> {
  const res = await gateway.fetch(request, { headers: API, cookies: false });
  if (res.status === 200) return `forward ${(await echoOf(res)).path}`;
  const body = (await res.json()) as { error: string };
  return `${res.status} ${body.error}`;
}

function checkAnswer(request: string): string {
  const sample = parseSample(request);
  if (typeof sample === 'string') return `unparsed: ${sample}`;
  const judged = judgeSample(rules, sample);
  if (judged.kind === 'gateway') return 'gateway';
  if (judged.kind === 'invalid') return '400 path_invalid';
  // An anonymous program: a public rule forwards, a session rule (or none) is 401.
  return judged.rule.auth === 'public' ? `forward ${judged.path}` : '401 unauthenticated';
}

describe('check and worker agree on every path of the routes table', () => {
  it.each(CASES)('%s', async (request, outcome) => {
    const check = checkAnswer(request);
    expect(check).toBe(await workerAnswer(request));
    // And both are what the table says.
    const expected = outcome.kind === 'invalid' ? '400 path_invalid' : outcome.kind === 'public' ? `forward ${outcome.path}` : '401 unauthenticated';
    expect(check).toBe(expected);
  });

  it('names the rule the table expects', () => {
    for (const [request, outcome] of CASES) {
      if (outcome.kind === 'invalid') continue;
      const judged = judgeSample(rules, parseSample(request) as Exclude<ReturnType<typeof parseSample>, string>);
      expect(judged.kind, request).toBe('rule');
      if (judged.kind !== 'rule') continue;
      expect([judged.rule.index, judged.path], request).toEqual([{ public: 0, admin: 1, default: -1 }[outcome.kind], outcome.path]);
    }
  });
});
