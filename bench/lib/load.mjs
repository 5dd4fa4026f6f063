// A closed-loop HTTP load generator on node:http (no dependency): `connections` keep-alive
// connections, each sending its next request as soon as the previous answer has been read, until a
// time limit or a request budget runs out, whichever comes first. Latency is timed per request with
// the monotonic clock, from write to the end of the body.

import http from 'node:http';

import { summarize } from './stats.mjs';

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * @typedef {object} LoadResult
 * @property {number} requests  completed (any status)
 * @property {number} seconds
 * @property {number} rps
 * @property {{ median: number, p90: number, p99: number, mean: number, max: number }} latencyMs
 * @property {Record<string, number>} statuses
 * @property {number} errors  network errors and timeouts
 * @property {number} failedChecks  answers `check` refused
 */

/**
 * @param {object} options
 * @param {string} options.url
 * @param {Record<string, string>} [options.headers]
 * @param {number} options.connections
 * @param {number} options.durationMs  stops issuing after this long
 * @param {number} [options.maxRequests]  …or after this many
 * @param {(res: http.IncomingMessage) => boolean} [options.check]  e.g. the right user came back
 * @returns {Promise<LoadResult>}
 */
export async function closedLoop({ url, headers = {}, connections, durationMs, maxRequests = Infinity, check }) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  /** @type {number[]} */
  const latencies = [];
  /** @type {Record<string, number>} */
  const statuses = {};
  let errors = 0;
  let failedChecks = 0;
  let issued = 0;

  const one = () =>
    new Promise((resolve) => {
      const start = performance.now();
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname + target.search, method: 'GET', headers },
        (res) => {
          if (check && !check(res)) failedChecks++;
          res.on('data', () => {});
          res.on('end', () => {
            latencies.push(performance.now() - start);
            statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
            resolve(undefined);
          });
          res.on('error', () => {
            errors++;
            resolve(undefined);
          });
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve(undefined);
      });
      req.end();
    });

  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline && issued < maxRequests) {
        issued++;
        await one();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const s = summarize(latencies);
  return {
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    latencyMs: { median: s.median, p90: s.p90, p99: s.p99, mean: s.mean, max: s.max },
    statuses,
    errors,
    failedChecks,
  };
}
