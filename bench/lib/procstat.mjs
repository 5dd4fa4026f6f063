// CPU time of a process from /proc (Linux), all threads, in microseconds: the scheduler's own
// nanosecond run-time accounting (/proc/<pid>/task/<tid>/schedstat) where the kernel offers it, else
// user + system ticks from /proc/<pid>/stat. CPU time, unlike wall time, does not grow when other
// processes on the machine take the core away. Returns null where /proc is absent.

import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux that matters (sysconf(_SC_CLK_TCK))

/** @param {number} pid @returns {{ ppid: number, comm: string, cpuMicros: number } | null} */
function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // After "pid (comm) ": state(0) ppid(1) … utime(11) stime(12)
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { ppid: Number(fields[1]), comm, cpuMicros: (ticks * 1e6) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** Sum of every thread's on-CPU nanoseconds, or null without schedstat. @param {number} pid */
function schedMicros(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return Number.isFinite(ns) ? ns / 1000 : null;
  } catch {
    return null;
  }
}

/** PIDs of workerd processes below `ancestor` (Miniflare spawns workerd as a direct child). */
export function workerdPids(ancestor = process.pid) {
  /** @type {number[]} */
  const pids = [];
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s && s.ppid === ancestor && s.comm.startsWith('workerd')) pids.push(Number(entry));
  }
  return pids;
}

/** @param {number | null} pid */
export function cpuMicros(pid) {
  if (pid === null) return null;
  return schedMicros(pid) ?? stat(pid)?.cpuMicros ?? null;
}
