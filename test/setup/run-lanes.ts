/**
 * Runs the spec files in a few mocha processes at once ("lanes"), each with its own shared local stack, and prints
 * one closing line for all of them: `N passed, N failed, N skipped`.
 *
 * Why: most of a real-stack test's time is waiting (a worker's heartbeat timeout, IAM propagation retries, a server
 * starting), so one process leaves a 2-core machine half idle. Why not `mocha --parallel`: it runs root hooks per
 * file, which would start and stop a whole stack (Temporal, moto, mz-local, a worker) for every file.
 *
 * Files are dealt to lanes longest first (the durations a previous run recorded in test/setup/spec-durations.json;
 * a file not listed there counts as DEFAULT_SECONDS), each to the lane with the least work so far. Each lane's
 * output is held and printed as one block when the lane ends, so the spec reports do not interleave.
 *
 *   tsx test/setup/run-lanes.ts [--lanes N] [--node22 GLOB]... [--check CMD]... [--update-durations] [spec globs...]
 *
 * Spec globs default to 'test/**\/*.test.ts'. MZ_S3_EXPORT_TEST_LANES sets the default lane count (3: a third lane
 * keeps both cores busy while the other two wait). --node22 adds one more lane running those files again on Node 22
 * (through local/with-node.sh, so the stacks and workers it starts run on Node 22 too), alongside the others.
 * --check CMD runs a shell command alongside the lanes (npm test: the type-check, which needs no stack); its failure
 * counts as one failed test. --update-durations writes this run's per-file durations back to spec-durations.json.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../local/stack';
import { planLanes, type Lane, type SpecStats } from './lane-plan';

const DURATIONS_FILE = path.join(PROJECT_ROOT, 'test', 'setup', 'spec-durations.json');
const MOCHA = path.join(PROJECT_ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
const WITH_NODE = path.join(PROJECT_ROOT, 'local', 'with-node.sh');

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    strict: true,
    allowPositionals: true,
    options: {
      lanes: { type: 'string' },
      node22: { type: 'string', multiple: true, default: [] },
      check: { type: 'string', multiple: true, default: [] },
      'update-durations': { type: 'boolean', default: false },
    },
  });
  const laneCount = Number(values.lanes ?? process.env.MZ_S3_EXPORT_TEST_LANES ?? 3);
  if (!Number.isInteger(laneCount) || laneCount < 1 || laneCount > 8) {
    throw new Error(`--lanes must be a whole number from 1 to 8, got ${JSON.stringify(values.lanes ?? process.env.MZ_S3_EXPORT_TEST_LANES)}`);
  }
  const files = specFiles(positionals.length ? positionals : ['test/**/*.test.ts']);
  const recorded = readDurations();
  const lanes: LaneJob[] = planLanes(files, recorded, laneCount);
  if (values.node22.length) lanes.push({ files: specFiles(values.node22), seconds: 0, nodeMajor: 22 });
  fs.mkdirSync(path.join(PROJECT_ROOT, '.local'), { recursive: true });
  const statsDir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.local', 'lanes-'));
  const started = Date.now();
  const described = lanes.map((l) => `${l.files.length} files${l.seconds ? `, ~${Math.round(l.seconds)} s` : ''}${onNode(l)}`);
  console.log(`[lanes] ${files.length} spec files in ${lanes.length} lanes: ${described.join('; ')}`);

  const checks = values.check.map((command) => runCheck(command, started));
  const results = await Promise.all(lanes.map((lane, k) => runLane(k + 1, lane, path.join(statsDir, `lane-${k + 1}.json`), started)));
  const failedChecks = (await Promise.all(checks)).filter((c) => c.code !== 0);

  const total = { passes: 0, failures: 0, pending: 0 };
  const measured: Record<string, number> = {};
  for (const r of results) {
    total.passes += r.stats?.passes ?? 0;
    total.pending += r.stats?.pending ?? 0;
    // A lane that died without its report failed, whatever its tests did.
    total.failures += r.stats ? r.stats.failures : 1;
    // Durations are recorded from the main Node's lanes only: a file run again on Node 22 ran alongside them.
    if (lanes[r.lane - 1].nodeMajor === undefined) Object.assign(measured, r.stats?.seconds ?? {});
  }
  fs.rmSync(statsDir, { recursive: true, force: true });
  if (values['update-durations']) writeDurations({ ...recorded, ...measured }, files);
  const wall = Math.round((Date.now() - started) / 1000);
  console.log(`\n[lanes] all lanes ended after ${wall} s: ${results.map((r) => `lane ${r.lane} ${r.seconds} s${r.code === 0 ? '' : ` (exit ${r.code})`}`).join(', ')}`);
  // A failed check (the type-check) counts as one failure, so the closing line CI reads says the run failed.
  for (const c of failedChecks) console.log(`[lanes] check failed (exit ${c.code}): ${c.command}`);
  total.failures += failedChecks.length;
  console.log(`${total.passes} passed, ${total.failures} failed, ${total.pending} skipped`);
  return total.failures === 0 && results.every((r) => r.code === 0) ? 0 : 1;
}

interface LaneResult {
  lane: number;
  code: number;
  seconds: number;
  stats?: SpecStats;
}

interface LaneJob extends Lane {
  /** The Node.js major version the lane runs on through local/with-node.sh; absent: this runner's own Node. */
  nodeMajor?: number;
}

function onNode(job: LaneJob): string {
  return job.nodeMajor === undefined ? '' : ` on Node ${job.nodeMajor}`;
}

function specFiles(patterns: string[]): string[] {
  const files = [...new Set(patterns.flatMap((p) => fs.globSync(p, { cwd: PROJECT_ROOT })))].sort();
  if (files.length === 0) throw new Error(`no spec file matches ${patterns.join(' ')}`);
  return files;
}

/**
 * One mocha process over the lane's files; its output is printed as one block when it ends. Another Node runs it
 * through local/with-node.sh, which knows where provisioning put that Node and puts it first on the lane's PATH.
 */
async function runLane(lane: number, job: LaneJob, statsFile: string, started: number): Promise<LaneResult> {
  const env = { ...process.env, MZ_S3_EXPORT_TEST_STATS: statsFile };
  const [program, args] = job.nodeMajor === undefined
    ? [process.execPath, [MOCHA, ...job.files]]
    : ['bash', [WITH_NODE, String(job.nodeMajor), 'node', MOCHA, ...job.files]];
  const { code, seconds } = await runBlock(`lane ${lane}: ${job.files.length} files${onNode(job)}`, program, args, env, started);
  let stats: SpecStats | undefined;
  try {
    stats = JSON.parse(fs.readFileSync(statsFile, 'utf8')) as SpecStats;
  } catch {
    process.stdout.write(`[lanes] lane ${lane} wrote no report: counted as failed\n`);
  }
  return { lane, code, seconds, stats };
}

/** A shell command run alongside the lanes (the type-check: it needs no stack, and fills the cores' idle time). */
async function runCheck(command: string, started: number): Promise<{ command: string; code: number }> {
  const { code } = await runBlock(`check: ${command}`, 'bash', ['-c', command], process.env, started);
  return { command, code };
}

/** Runs a process with its output held, then printed as one block under a title line when it ends. */
function runBlock(title: string, program: string, args: string[], env: NodeJS.ProcessEnv, started: number): Promise<{ code: number; seconds: number }> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('close', (code, signal) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      process.stdout.write(`\n──── ${title}, ended after ${seconds} s, exit ${code ?? signal} ────\n`);
      process.stdout.write(Buffer.concat(out));
      resolve({ code: code ?? 1, seconds });
    });
  });
}

function readDurations(): Record<string, number> {
  try {
    return JSON.parse(fs.readFileSync(DURATIONS_FILE, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

/** Keeps only files that still exist, sorted, rounded to a tenth of a second: a small, stable diff. */
function writeDurations(durations: Record<string, number>, files: string[]): void {
  const keep = Object.keys(durations).filter((f) => files.includes(f) || fs.existsSync(path.join(PROJECT_ROOT, f))).sort();
  const out = Object.fromEntries(keep.map((f) => [f, Math.round(durations[f] * 10) / 10]));
  fs.writeFileSync(DURATIONS_FILE, `${JSON.stringify(out, null, 1)}\n`);
  console.log(`[lanes] wrote ${keep.length} durations to ${path.relative(PROJECT_ROOT, DURATIONS_FILE)}`);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`[lanes] ${(e as Error).message}`);
    process.exit(2);
  },
);
