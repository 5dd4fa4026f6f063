// A CPU profile of one worker inside workerd, through its V8 inspector (Miniflare's inspectorPort):
// where a signed-in request's time goes, by function and by source module. The bench bundles are not
// minified, and esbuild marks each module's code with a `// path/to/module.ts` comment line, so a
// sample's bundle line number tells the module it belongs to.

import { readFile, writeFile } from 'node:fs/promises';

/**
 * @param {string} bundlePath
 * @returns {Promise<(line: number) => string>}  0-based bundle line → module path
 */
async function moduleLocator(bundlePath) {
  const lines = (await readFile(bundlePath, 'utf8')).split('\n');
  /** @type {{ line: number, module: string }[]} */
  const marks = [];
  lines.forEach((text, line) => {
    const m = /^\/\/ ((?:src|bench|node_modules|scripts)\/\S+)$/.exec(text);
    if (m) marks.push({ line, module: m[1] });
  });
  return (line) => {
    let lo = 0;
    let hi = marks.length - 1;
    let found = 'bundle';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid].line <= line) {
        found = marks[mid].module;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

/** Groups a module path: src/<folder>, a package name, or the bench harness. @param {string} module */
export function area(module) {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(module);
  if (pkg) return pkg[1];
  if (module.startsWith('src/')) return module;
  if (module.startsWith('bench/')) return 'bench harness';
  return module;
}

/**
 * @param {object} options
 * @param {number} options.inspectorPort
 * @param {string} options.worker  Miniflare worker name
 * @param {string} options.bundlePath
 * @param {() => Promise<unknown>} options.workload  runs while the profiler samples
 * @param {number} [options.intervalMicros]
 */
export async function profileWorker({ inspectorPort, worker, bundlePath, workload, intervalMicros = 100 }) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const target = targets.find((t) => t.id === `core:user:${worker}`);
  if (!target) throw new Error(`no inspector target for worker ${worker}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error('inspector connection failed')), { once: true });
  });
  let nextId = 1;
  /** @type {Map<number, (msg: any) => void>} */
  const waiting = new Map();
  ws.addEventListener('message', (event) => {
    const msg = JSON.parse(String(event.data));
    if (msg.id && waiting.has(msg.id)) {
      waiting.get(msg.id)(msg);
      waiting.delete(msg.id);
    }
  });
  /** @param {string} method @param {object} [params] */
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`inspector ${method} timed out`)), 30_000);
      waiting.set(id, (msg) => {
        clearTimeout(timer);
        if (msg.error) reject(new Error(`inspector ${method}: ${msg.error.message}`));
        else resolve(msg.result);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });

  try {
    await send('Profiler.enable');
    await send('Profiler.setSamplingInterval', { interval: intervalMicros });
    await send('Profiler.start');
    await workload();
    const { profile } = /** @type {{ profile: any }} */ (await send('Profiler.stop'));
    // The raw profile too, for a closer look (Chrome DevTools or a script): BENCH_PROFILE_RAW=<file>.
    if (process.env.BENCH_PROFILE_RAW) await writeFile(process.env.BENCH_PROFILE_RAW, JSON.stringify(profile));
    return summarizeProfile(profile, await moduleLocator(bundlePath));
  } finally {
    ws.close();
  }
}

/**
 * Self time per function and per module, as shares of the busy (non-idle) time.
 * @param {{ nodes: any[], samples: number[], timeDeltas: number[] }} profile
 * @param {(line: number) => string} locate
 */
function summarizeProfile(profile, locate) {
  /** @type {Map<number, any>} */
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  /** @type {Map<number, number>} */
  const selfMicros = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfMicros.set(profile.samples[i], (selfMicros.get(profile.samples[i]) ?? 0) + delta);
  }
  /** @type {Map<string, number>} */
  const byFunction = new Map();
  /** @type {Map<string, number>} */
  const byArea = new Map();
  let busy = 0;
  for (const [id, micros] of selfMicros) {
    const frame = nodes.get(id).callFrame;
    if (frame.functionName === '(idle)') continue;
    busy += micros;
    let where;
    if (frame.url && frame.url.length > 0) {
      where = locate(frame.lineNumber);
    } else {
      // No script: a runtime built-in (crypto.subtle, Request, Headers, URL…), GC or the VM itself.
      where = frame.functionName.startsWith('(') ? frame.functionName : 'runtime built-ins';
    }
    const fn = `${frame.functionName || '(anonymous)'} · ${where}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
    const a = area(where);
    byArea.set(a, (byArea.get(a) ?? 0) + micros);
  }
  // Inclusive time of the gateway's own functions (src/ only): a sample counts once for every
  // distinct src/ function on its stack, so `load` includes the crypto it awaits synchronously.
  /** @type {Map<number, number>} */
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  /** @type {Map<number, string | null>} */
  const srcKey = new Map();
  const keyOf = (id) => {
    if (!srcKey.has(id)) {
      const frame = nodes.get(id).callFrame;
      const where = frame.url ? locate(frame.lineNumber) : '';
      srcKey.set(id, where.startsWith('src/') ? `${frame.functionName || '(anonymous)'} · ${where}` : null);
    }
    return srcKey.get(id);
  };
  /** @type {Map<string, number>} */
  const inclusive = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    if (nodes.get(profile.samples[i]).callFrame.functionName === '(idle)') continue;
    const seen = new Set();
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const key = keyOf(id);
      if (key && !seen.has(key)) {
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + delta);
      }
    }
  }
  const rank = (map) =>
    [...map]
      .map(([name, micros]) => ({ name, share: micros / (busy || 1), ms: micros / 1000 }))
      .sort((a, b) => b.share - a.share);
  return {
    busyMs: busy / 1000,
    samples: profile.samples.length,
    byArea: rank(byArea),
    byFunction: rank(byFunction).slice(0, 25),
    inclusiveSrc: rank(inclusive).slice(0, 25),
  };
}
