import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

/**
 * CPU and memory of this process and of its child processes (the ffmpeg decoders and encoders),
 * read from /proc on Linux. Elsewhere the children's figures are null.
 */

/** Linux reports /proc times in USER_HZ ticks, 100 per second on every architecture we run on. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  /** own user+system CPU seconds */
  cpu: number;
  /** user+system CPU seconds of its children that have exited and been reaped */
  reapedChildrenCpu: number;
}

function readStat(pid: number | 'self'): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ..." — comm may hold spaces and parentheses: split after the last ')'
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state): utime = field 14, stime 15, cutime 16, cstime 17, ppid 4
  const num = (field: number) => Number(f[field - 3]);
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    ppid: num(4),
    cpu: (num(14) + num(15)) / TICKS_PER_SECOND,
    reapedChildrenCpu: (num(16) + num(17)) / TICKS_PER_SECOND,
  };
}

/** Live child processes of `parent`. */
export function childPidsOf(parent: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = readStat(Number(e));
    if (st && st.ppid === parent) out.push(st.pid);
  }
  return out;
}

/** A `Name:   N kB` line of /proc/<pid>/status, in kB (NaN when absent). */
function statusKb(text: string, name: string): number {
  return Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(text)?.[1] ?? NaN);
}

/** Resident memory of one process (MB), or null when it is gone or /proc is missing. */
export function pidRssMb(pid: number): number | null {
  try {
    const kb = statusKb(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
    return Number.isFinite(kb) ? Number((kb / 1024).toFixed(1)) : null;
  } catch {
    return null;
  }
}

/**
 * The two parts of a process's RSS (/proc status): anonymous memory (heaps, malloc arenas, frame
 * buffers: what a leak grows) and file-backed pages (the program and its libraries, paged in as
 * their code is first run), MB; null when the process is gone.
 */
export function pidRssPartsMb(pid: number): { rss_mb: number; anon_mb: number; file_mb: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = statusKb(text, 'VmRSS');
    const anon = statusKb(text, 'RssAnon');
    const file = statusKb(text, 'RssFile') + (statusKb(text, 'RssShmem') || 0);
    if (!Number.isFinite(rss) || !Number.isFinite(anon) || !Number.isFinite(file)) return null;
    const mb = (kb: number) => Number((kb / 1024).toFixed(1));
    return { rss_mb: mb(rss), anon_mb: mb(anon), file_mb: mb(file) };
  } catch {
    return null;
  }
}

/** Live child processes of this process. */
export function childPids(): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = readStat(Number(e));
    if (st && st.ppid === process.pid) out.push(st.pid);
  }
  return out;
}

/** Resident memory (MB) of the live child processes, or null where /proc is missing. */
export function childrenRssMb(exclude: ReadonlySet<number> = new Set()): number | null {
  if (!readStat('self')) return null;
  let kb = 0;
  for (const pid of childPids()) {
    if (exclude.has(pid)) continue;
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // exited meanwhile
    }
  }
  return Number((kb / 1024).toFixed(1));
}

/** CPU seconds of all children so far: the live ones plus those already reaped. */
function childrenCpuSeconds(exclude: ReadonlySet<number>): number | null {
  const self = readStat('self');
  if (!self) return null;
  let sum = self.reapedChildrenCpu;
  for (const pid of childPids()) {
    if (exclude.has(pid)) continue;
    const st = readStat(pid);
    if (st) sum += st.cpu + st.reapedChildrenCpu;
  }
  return sum;
}

export interface CpuFigures {
  /** this Node process, all threads (event loop, inference worker, addon thread pool); 100 = one core busy */
  process_percent: number;
  /** the child processes (ffmpeg decode and encode); null where /proc is missing */
  children_percent: number | null;
  /** process + children */
  total_percent: number;
  /** total as a share of every core of the machine (100 = all cores busy) */
  machine_percent: number;
  cores: number;
}

const round1 = (v: number) => Number(v.toFixed(1));

/**
 * Measures CPU use from `start()` to `stop()`. `exclude` names child processes that are not part
 * of the work measured (the private MQTT broker). A child reaped while measuring is still counted:
 * its time moves into this process's reaped-children total, which is read as well.
 */
export class CpuMeter {
  private t0 = 0;
  private proc0: NodeJS.CpuUsage = process.cpuUsage();
  private child0: number | null = null;

  constructor(private readonly exclude: ReadonlySet<number> = new Set()) {}

  start(): this {
    this.t0 = performance.now();
    this.proc0 = process.cpuUsage();
    this.child0 = childrenCpuSeconds(this.exclude);
    return this;
  }

  stop(): CpuFigures {
    const elapsed = Math.max(1e-3, (performance.now() - this.t0) / 1000);
    const p = process.cpuUsage(this.proc0);
    const child1 = childrenCpuSeconds(this.exclude);
    const processPct = (100 * (p.user + p.system)) / 1e6 / elapsed;
    const childrenPct = this.child0 !== null && child1 !== null ? (100 * Math.max(0, child1 - this.child0)) / elapsed : null;
    const total = processPct + (childrenPct ?? 0);
    const cores = Math.max(1, cpus().length);
    return {
      process_percent: round1(processPct),
      children_percent: childrenPct === null ? null : round1(childrenPct),
      total_percent: round1(total),
      machine_percent: round1(total / cores),
      cores,
    };
  }
}
