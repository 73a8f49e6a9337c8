/**
 * CPU time and resident memory of whole process trees, read from /proc (Linux), so an orchestrator that forks a
 * process per task (Airflow) and one that runs everything in one process (our worker) are measured the same way.
 *
 * CPU: utime + stime of every live process in the tree plus cutime + cstime, the times of children that have
 * already exited and been waited for: a task process that lived and died between two samples still counts,
 * in its parent's cutime.
 */
import * as fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux that Node supports). */
const CLOCK_TICKS = 100;
const PAGE_SIZE = 4096;

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  cpuTicks: number;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) sits in parentheses and may itself hold spaces and
 * parentheses, so the fields are counted from the last ")".
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const pid = Number(text.slice(0, open).trim());
  // After ")": state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17); rest[0] is field 3.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const field = (n: number) => Number(rest[n - 3]);
  return { pid, ppid: field(4), cpuTicks: field(14) + field(15) + field(16) + field(17) };
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // exited meanwhile
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The roots and every live descendant of them, from a snapshot of all processes. */
export function treeMembers(stats: ProcStat[], roots: number[]): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const out: ProcStat[] = [];
  const seen = new Set<number>();
  const queue = roots.map((r) => byPid.get(r)).filter((s): s is ProcStat => s !== undefined);
  while (queue.length) {
    const s = queue.shift()!;
    if (seen.has(s.pid)) continue;
    seen.add(s.pid);
    out.push(s);
    queue.push(...(children.get(s.pid) ?? []));
  }
  return out;
}

function rssBytes(pid: number): number {
  try {
    // statm: size resident shared ... in pages.
    return Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_SIZE;
  } catch {
    return 0;
  }
}

/**
 * RSS and proportional set size (shared pages split between the processes that share them) from one read of
 * smaps_rollup, so the two describe the same moment (PSS <= RSS holds within one read, not across two).
 */
function rssAndPssBytes(pid: number): { rss: number; pss: number } {
  try {
    const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb('Rss'), pss: kb('Pss') };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

export interface TreeSample {
  cpuSeconds: number;
  processes: number;
  rssBytes: number;
  pssBytes: number;
}

/** One look at the trees under `roots`: CPU seconds so far, live processes, summed RSS and PSS. */
export function sampleTree(roots: number[], opts: { pss?: boolean } = {}): TreeSample {
  const members = treeMembers(allStats(), roots);
  const cpuSeconds = members.reduce((s, m) => s + m.cpuTicks, 0) / CLOCK_TICKS;
  if (!opts.pss) return { cpuSeconds, processes: members.length, rssBytes: members.reduce((s, m) => s + rssBytes(m.pid), 0), pssBytes: NaN };
  const memory = members.map((m) => rssAndPssBytes(m.pid));
  return {
    cpuSeconds,
    processes: members.length,
    rssBytes: memory.reduce((s, m) => s + m.rss, 0),
    pssBytes: memory.reduce((s, m) => s + m.pss, 0),
  };
}

export interface TreeUsage {
  cpuSeconds: number;
  /** Highest sum of RSS over the tree at any sample (shared pages counted once per process). */
  peakRssBytes: number;
  /** Highest sum of PSS (shared pages split): what the tree really holds; sampled less often. */
  peakPssBytes: number;
  peakProcesses: number;
  wallSeconds: number;
}

/**
 * Watches the trees from now until stop(): CPU used in between, and the peaks of memory and process count.
 * RSS is sampled every intervalMs; PSS (costlier for the kernel to compute) every pssEvery-th sample.
 */
export function watchTree(roots: number[], intervalMs = 250, pssEvery = 4): { stop(): TreeUsage } {
  const t0 = performance.now();
  const first = sampleTree(roots, { pss: true });
  let peakRss = first.rssBytes;
  let peakPss = first.pssBytes;
  let peakProcesses = first.processes;
  let n = 0;
  const take = () => {
    const s = sampleTree(roots, { pss: ++n % pssEvery === 0 });
    peakRss = Math.max(peakRss, s.rssBytes);
    if (!Number.isNaN(s.pssBytes)) peakPss = Math.max(peakPss, s.pssBytes);
    peakProcesses = Math.max(peakProcesses, s.processes);
    return s;
  };
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const last = sampleTree(roots, { pss: true });
      peakRss = Math.max(peakRss, last.rssBytes);
      peakPss = Math.max(peakPss, last.pssBytes);
      return {
        cpuSeconds: last.cpuSeconds - first.cpuSeconds,
        peakRssBytes: peakRss,
        peakPssBytes: peakPss,
        peakProcesses: Math.max(peakProcesses, last.processes),
        wallSeconds: (performance.now() - t0) / 1000,
      };
    },
  };
}
