// A refused configuration as each audience sees it. Every visitor gets one generic answer (checked
// here: no setting names in it); which setting is wrong, and why, is for the operator: the
// `request_refused` log line's `detail` (and `npm run check`, and the page of a local demo).
//
//   expect(await configProblems(() => gateway({ CLOCK_SKEW: '3600' }).fetch('/', { headers: API }))).toMatch(/CLOCK_SKEW: /);
import { expect } from 'vitest';
import { CONFIG_INVALID_MESSAGE } from '../../src/http/errors';
import { captureLogs } from './logs';

/** Runs a request that must be refused as `config_invalid` (ask for JSON), and returns the problems its log line names. */
export async function configProblems(request: () => Promise<Response>): Promise<string> {
  const logs = captureLogs();
  let res: Response;
  try {
    res = await request();
  } finally {
    logs.restore();
  }
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBe(500);
  const body = JSON.parse(text) as { error: string; message: string };
  expect(body.error).toBe('config_invalid');
  expect(body.message, 'the public message is the same for every configuration problem').toBe(CONFIG_INVALID_MESSAGE);
  const line = logs.lines
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .find((e) => e['event'] === 'request_refused' && e['code'] === 'config_invalid');
  expect(line, `a request_refused line in:\n${logs.lines.join('\n')}`).toBeDefined();
  return String(line!['detail']);
}
