/**
 * Side by side with what users would pick instead: the same export (the same COPY statement, against the same
 * mz-local and moto) as an Airflow 3 DAG run by `airflow standalone`, and as our bulkExport on the bench's
 * worker and Temporal dev server, in one run. For batches of N exports triggered at once: the time from the
 * trigger to "published" (ours: the workflow closed, after verification, manifest and _SUCCESS; Airflow: the
 * S3 sensor succeeded, the moment it knew the data was complete, which does less), and each orchestrator's
 * CPU time and peak memory over its whole process tree (ours: worker + Temporal server; Airflow: standalone and
 * every process it forks). mz-local and moto serve both and are counted for neither.
 */
import * as fs from 'node:fs';
import { buildCopySql } from '../../common/export/sql';
import type { BenchEnv } from '../bench-env';
import type { BenchTarget } from '../setup';
import { median, quantile, round } from '../stats';
import { isFinished, startAirflow, type AirflowServer } from './airflow-server';
import { watchTree, sampleTree, type TreeUsage } from './process-tree';
import { AIRFLOW_REQUIREMENTS, ensureAirflowVenv } from './venv';
import { bulkExport } from '../../workflows';

export type Orchestrator = 'mz-s3-export' | 'airflow';

export interface OrchestratorBatch extends TreeUsage {
  system: Orchestrator;
  exports: number;
  succeeded: number;
  failed: number;
  /** From the batch's trigger to each export's publication, ms. */
  latenciesMs: number[];
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  firstFailure?: string;
  triggerRetries?: number;
}

export interface OrchestratorIdle {
  system: Orchestrator;
  cpuPercent: number;
  rssBytes: number;
  pssBytes: number;
  processes: number;
}

export interface AirflowCompareResult {
  airflowVersion: string;
  rowsPerExport: number;
  /** Airflow's concurrency settings in effect (its defaults unless AIRFLOW__CORE__* were set). */
  airflowLimits: Record<string, string>;
  airflowStartSeconds: number;
  idle: OrchestratorIdle[];
  batches: OrchestratorBatch[];
}

const IDLE_SECONDS = 10;

export async function benchAirflowCompare(
  env: BenchEnv,
  target: BenchTarget,
  opts: { table: string; rows: number; batches: number[]; log: (s: string) => void },
): Promise<AirflowCompareResult> {
  const bin = await ensureAirflowVenv(opts.log);
  const t0 = performance.now();
  const airflow = await startAirflow({ bin, dir: env.dir, mzUrl: env.info.mzUrl, awsEndpoint: env.info.awsEndpoint, log: opts.log });
  try {
    const airflowStartSeconds = round((performance.now() - t0) / 1000, 1);
    opts.log(`airflow: ready after ${airflowStartSeconds} s`);
    const temporalPid = env.info.services.find((s) => s.name === 'temporal')!.pid;
    const roots: Record<Orchestrator, number[]> = { 'mz-s3-export': [env.worker.proc.pid, temporalPid], airflow: [airflow.proc.pid] };
    const runners: Record<Orchestrator, (n: number, tag: string) => Promise<OrchestratorBatch>> = {
      'mz-s3-export': (n, tag) => measure('mz-s3-export', roots['mz-s3-export'], n, () => runOurs(env, target, opts.table, n, tag)),
      airflow: (n, tag) => measure('airflow', roots.airflow, n, () => runAirflow(airflow, target, opts.table, n, tag)),
    };

    opts.log('airflow: warm-up, one export on each');
    for (const system of Object.keys(runners) as Orchestrator[]) {
      const w = await runners[system](1, 'warmup');
      if (w.failed) throw new Error(`${system}: the warm-up export failed: ${w.firstFailure}`);
    }
    const idle = await measureIdle(roots);
    const batches: OrchestratorBatch[] = [];
    for (const [i, n] of opts.batches.entries()) {
      // Alternate who goes first, so neither always runs on the machine the other just warmed or loaded.
      const order: Orchestrator[] = i % 2 === 0 ? ['mz-s3-export', 'airflow'] : ['airflow', 'mz-s3-export'];
      for (const system of order) {
        const b = await runners[system](n, `n${n}`);
        opts.log(`airflow: ${system} N=${n}: ${b.succeeded}/${n} in ${round(b.maxMs / 1000, 1)} s, p50 ${b.p50Ms} ms, CPU ${round(b.cpuSeconds, 1)} s, peak RSS ${Math.round(b.peakRssBytes / 2 ** 20)} MiB`);
        batches.push(b);
      }
    }
    return {
      airflowVersion: pinnedVersion('apache-airflow'),
      rowsPerExport: opts.rows,
      airflowLimits: airflowLimits(),
      airflowStartSeconds,
      idle,
      batches,
    };
  } finally {
    await airflow.close();
  }
}

interface BatchOutcome {
  latenciesMs: number[];
  failed: number;
  firstFailure?: string;
  /** Airflow: triggers refused with HTTP 5xx and sent again. */
  triggerRetries?: number;
}

async function measure(system: Orchestrator, roots: number[], n: number, run: () => Promise<BatchOutcome>): Promise<OrchestratorBatch> {
  const usage = watchTree(roots);
  let outcome: BatchOutcome;
  let tree: TreeUsage;
  try {
    outcome = await run();
  } finally {
    tree = usage.stop();
  }
  const l = outcome.latenciesMs;
  return {
    system,
    exports: n,
    succeeded: l.length,
    failed: outcome.failed,
    latenciesMs: l.map(Math.round),
    p50Ms: Math.round(median(l)),
    p95Ms: Math.round(quantile(l, 0.95)),
    maxMs: Math.round(l.length ? Math.max(...l) : NaN),
    ...tree,
    ...(outcome.firstFailure ? { firstFailure: outcome.firstFailure } : {}),
    ...(outcome.triggerRetries !== undefined ? { triggerRetries: outcome.triggerRetries } : {}),
  };
}

/** n bulkExport workflows started at once; latency to each workflow's close time (the server's clock). */
async function runOurs(env: BenchEnv, target: BenchTarget, table: string, n: number, tag: string): Promise<BatchOutcome> {
  const base = Date.UTC(2033, 0, 1) + (tag === 'warmup' ? 0 : n * 86_400_000);
  const t0 = Date.now();
  const handles = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      env.temporal.client.workflow.start(bulkExport, {
        taskQueue: env.taskQueue,
        workflowId: `bench-vs-airflow-${process.pid}-${tag}-${i}`,
        args: [
          {
            exportName: `vs-airflow-${tag}`,
            connectionName: target.connectionName,
            object: table,
            bucket: target.bucket,
            prefix: target.prefix,
            format: 'parquet',
            logicalTime: new Date(base + i * 1000).toISOString(),
            publishLatest: false,
          },
        ],
        workflowExecutionTimeout: '15 minutes',
      }),
    ),
  );
  const settled = await Promise.allSettled(handles.map((h) => h.result()));
  const latenciesMs: number[] = [];
  let firstFailure: string | undefined;
  for (const [i, s] of settled.entries()) {
    if (s.status === 'rejected') {
      firstFailure ??= String((s.reason as Error)?.cause ?? s.reason);
      continue;
    }
    const closed = (await handles[i].describe()).closeTime;
    if (closed) latenciesMs.push(closed.getTime() - t0);
  }
  return { latenciesMs, failed: n - latenciesMs.length, firstFailure };
}

/** n DAG runs triggered over the REST API, TRIGGERS_IN_FLIGHT at a time; latency to each run's sensor success (Airflow's clock). */
async function runAirflow(airflow: AirflowServer, target: BenchTarget, table: string, n: number, tag: string): Promise<BatchOutcome> {
  const prefix = `bench-${process.pid}-${tag}-`;
  const runIds = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
  const t0 = Date.now();
  // standalone keeps its metadata in SQLite, which answers a burst of concurrent triggers with "database is
  // locked" (HTTP 500): trigger a few at a time, as a script would, and retry what was refused.
  let retries = 0;
  let triggerFailure: string | undefined;
  const triggered: string[] = [];
  await forEachLimited(runIds, TRIGGERS_IN_FLIGHT, async (runId) => {
    const key = `${target.prefix}/airflow/${runId}`;
    const sql = buildCopySql({ object: table, targetUri: `s3://${target.bucket}/${key}`, connectionName: target.connectionName, format: 'parquet' });
    for (let attempt = 1; ; attempt++) {
      try {
        await airflow.trigger(runId, { sql, bucket: target.bucket, key });
        break;
      } catch (e) {
        const message = (e as Error).message;
        // A refused attempt may have created the run after all: then the retry finds it there.
        if (attempt > 1 && /HTTP 409/.test(message)) break;
        if (attempt >= TRIGGER_ATTEMPTS || !/HTTP 5\d\d/.test(message)) {
          triggerFailure ??= `trigger ${runId}: ${message.slice(0, 200)}`;
          return; // counted as failed; the rest of the batch goes on
        }
        retries++;
        await new Promise((r) => setTimeout(r, Math.min(3000, 500 * attempt)));
      }
    }
    triggered.push(runId);
  });
  // The sensor's own timeout is 600 s; allow for queueing behind Airflow's concurrency limits on top.
  const deadline = t0 + 10 * 60_000 + n * 6_000;
  // Latencies come from Airflow's own end times, so polling slowly only delays the bench, not the numbers.
  let schedulerDown: { since: number; why: string } | undefined;
  while ((await airflow.runs(prefix)).filter(isFinished).length < triggered.length && Date.now() < deadline) {
    // standalone does not restart a component that exited; stop waiting once the scheduler is gone for good.
    const why = await airflow.schedulerProblem();
    schedulerDown = why ? (schedulerDown ?? { since: Date.now(), why }) : undefined;
    if (schedulerDown && Date.now() - schedulerDown.since > SCHEDULER_GONE_MS) break;
    await new Promise((r) => setTimeout(r, 3000));
  }
  const runs = await airflow.runs(prefix, { tasks: true });
  const done = runs.filter((r) => r.state === 'success' && r.sensorEndMs !== undefined);
  const bad = runs.find((r) => r.state !== 'success');
  const firstFailure = triggerFailure ?? schedulerDown?.why ?? (bad
    ? `run ${bad.runId} ${bad.state}: copy_to_s3 ${bad.copyState}, wait_for_export ${bad.sensorState} (task logs in the bench dir's airflow-home/logs; keep it with MZ_S3_EXPORT_KEEP_TEST_STATE=1)`
    : runs.length < n
      ? `only ${runs.length} of ${n} runs were created`
      : undefined);
  return { latenciesMs: done.map((r) => r.sensorEndMs! - t0), failed: n - done.length, firstFailure, triggerRetries: retries };
}

const TRIGGERS_IN_FLIGHT = 2;
const TRIGGER_ATTEMPTS = 10;
/** Airflow calls the scheduler unhealthy 30 s after its last heartbeat; this much longer means it is gone. */
const SCHEDULER_GONE_MS = 60_000;

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Both orchestrators at rest, side by side: CPU share over IDLE_SECONDS and memory at the end. */
async function measureIdle(roots: Record<Orchestrator, number[]>): Promise<OrchestratorIdle[]> {
  const systems = Object.keys(roots) as Orchestrator[];
  const watches = systems.map((s) => watchTree(roots[s], 1000, 1000));
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  return systems.map((system, i) => {
    const u = watches[i].stop();
    const now = sampleTree(roots[system], { pss: true });
    return { system, cpuPercent: round((u.cpuSeconds / u.wallSeconds) * 100, 1), rssBytes: now.rssBytes, pssBytes: now.pssBytes, processes: now.processes };
  });
}

function pinnedVersion(pkg: string): string {
  const line = fs.readFileSync(AIRFLOW_REQUIREMENTS, 'utf8').split('\n').find((l) => l.toLowerCase().startsWith(`${pkg}==`));
  return line?.split('==')[1] ?? 'unknown';
}

/** Airflow's defaults for the limits that decide how many of a batch run at once, or what the environment set. */
function airflowLimits(): Record<string, string> {
  const defaults = { PARALLELISM: '32', MAX_ACTIVE_TASKS_PER_DAG: '16', MAX_ACTIVE_RUNS_PER_DAG: '16' };
  return Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k.toLowerCase(), process.env[`AIRFLOW__CORE__${k}`] ?? v]));
}
