/**
 * `npm run bench`: starts its own local stack and worker, runs the benchmarks, prints one table and writes the
 * numbers as JSON to bench/results/ (git-ignored). Benchmarks, not tests: every number is measured in this run
 * on this machine; ratios compare alternated runs of the same work.
 *
 *   --only overhead,completion,scale,schedules,manyfiles   which to run (default: all)
 *   --many-files N        files of the many-files export (default 10000)
 *   --rows N              rows of the overhead export (default 1000000)
 *   --rounds N            alternated rounds of the overhead bench (default 3)
 *   --completion-exports N, --completion-rows N   (default 20 exports of 20000 rows)
 *   --concurrency N[,N]   concurrent exports in the scale bench (default 10,100,500; up to 5000)
 *   --scale-rows N        rows per export in the scale bench (default 1000)
 *   --schedules N         definitions in the schedules bench (default 1000)
 *   --schedules-concurrency N   Temporal calls in flight while planning and applying them (default 32)
 *   --airflow-exports N[,N]  batch sizes of the side-by-side with Airflow 3 (default 1,100)
 *   --airflow-rows N      rows per export there (default 1000)
 *   --quick               small sizes for a smoke run
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs, type OptionSpecs } from '../client/args';
import { PROJECT_ROOT } from '../local/stack';
import { startBenchEnv } from './bench-env';
import { benchAirflowCompare, type AirflowCompareResult } from './airflow/compare';
import { airflowReportRows } from './airflow/report';
import { benchCompletion, type CompletionResult } from './completion';
import { historyCostNote } from './history-costs';
import { benchManyFiles, type ManyFilesResult } from './many-files';
import { benchOverhead, type OverheadResult } from './overhead';
import { benchScale, type ScaleResult } from './scale';
import { benchSchedules, type SchedulesResult } from './schedules';
import { createRowsTable, onboardBenchConnection } from './setup';
import { DEFAULT_CONCURRENCY } from '../client/schedules/reconcile';
import { formatBytes, round, table } from './stats';

/** Exports started at once on the one bench worker; 1,000 is the sizing target (docs/operations.md). */
const MAX_SCALE_CONCURRENCY = 5000;

const ALL = ['overhead', 'completion', 'scale', 'schedules', 'manyfiles', 'airflow'] as const;
type BenchName = (typeof ALL)[number];

function intFlag(args: ReturnType<typeof parseArgs>, name: string, fallback: number): number {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, not ${String(v)}`);
  return n;
}

const BENCH_OPTIONS: OptionSpecs = {
  quick: { type: 'boolean', help: 'a smoke run with smaller sizes' },
  only: { type: 'string', value: 'LIST', help: `comma-separated: ${ALL.join(', ')}` },
  concurrency: { type: 'string', value: 'LIST', help: 'scale: exports started at once, e.g. 10,100' },
  rows: { type: 'string', value: 'N', help: 'overhead: rows exported' },
  rounds: { type: 'string', value: 'N', help: 'overhead: alternated rounds' },
  'completion-exports': { type: 'string', value: 'N', help: 'completion: exports measured' },
  'completion-rows': { type: 'string', value: 'N', help: 'completion: rows per export' },
  'scale-rows': { type: 'string', value: 'N', help: 'scale: rows per export' },
  schedules: { type: 'string', value: 'N', help: 'schedules: definitions applied' },
  'schedules-concurrency': { type: 'string', value: 'N', help: 'schedules: Temporal calls in flight while applying' },
  'many-files': { type: 'string', value: 'N', help: 'manyfiles: files of the export' },
  'airflow-exports': { type: 'string', value: 'LIST', help: 'airflow: batch sizes, e.g. 1,100' },
  'airflow-rows': { type: 'string', value: 'N', help: 'airflow: rows per export' },
};

export function benchOptions(argv: string[]) {
  const args = parseArgs(argv, BENCH_OPTIONS, 'bench');
  const quick = Boolean(args.flags.quick);
  const only = typeof args.flags.only === 'string' ? args.flags.only.split(',').map((s) => s.trim()) : [...ALL];
  for (const o of only) if (!ALL.includes(o as BenchName)) throw new Error(`--only: unknown bench "${o}"; choose from ${ALL.join(', ')}`);
  const concurrency = String(args.flags.concurrency ?? (quick ? '10,50' : '10,100,500'))
    .split(',')
    .map((s) => Number(s.trim()));
  if (concurrency.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_SCALE_CONCURRENCY)) {
    throw new Error(`--concurrency takes whole numbers from 1 to ${MAX_SCALE_CONCURRENCY}`);
  }
  const airflowExports = String(args.flags['airflow-exports'] ?? (quick ? '1,10' : '1,100'))
    .split(',')
    .map((s) => Number(s.trim()));
  if (airflowExports.some((n) => !Number.isInteger(n) || n < 1 || n > 500)) throw new Error('--airflow-exports takes whole numbers from 1 to 500');
  return {
    only: only as BenchName[],
    rows: intFlag(args, 'rows', quick ? 100_000 : 1_000_000),
    rounds: intFlag(args, 'rounds', quick ? 2 : 3),
    completionExports: intFlag(args, 'completion-exports', quick ? 5 : 20),
    completionRows: intFlag(args, 'completion-rows', 20_000),
    concurrency,
    scaleRows: intFlag(args, 'scale-rows', 1000),
    schedules: intFlag(args, 'schedules', quick ? 200 : 1000),
    schedulesConcurrency: intFlag(args, 'schedules-concurrency', DEFAULT_CONCURRENCY),
    manyFiles: intFlag(args, 'many-files', quick ? 1000 : 10_000),
    airflowExports,
    airflowRows: intFlag(args, 'airflow-rows', 1000),
  };
}

interface Results {
  overhead?: OverheadResult;
  completion?: CompletionResult;
  manyFiles?: ManyFilesResult;
  scale?: ScaleResult[];
  schedules?: SchedulesResult;
  airflow?: AirflowCompareResult | { error: string };
}

export function reportRows(r: Results): string[][] {
  const rows: string[][] = [];
  const add = (bench: string, metric: string, value: string | number, note = '') => rows.push([bench, metric, String(value), note]);
  if (r.overhead) {
    const o = r.overhead;
    const note = `${o.rows} rows, Parquet, ${o.rounds} alternated rounds`;
    add('overhead', 'bulkExport / bare COPY (median ratio)', `${o.medianRatio}x`, note);
    add('overhead', 'bulkExport median', `${o.medianWorkflowSeconds} s`, `${o.filesPerExport} file(s), ${formatBytes(o.bytesPerExport)}`);
    add('overhead', 'bare COPY over pg median', `${o.medianDirectSeconds} s`, '');
    add('overhead', 'added by orchestration (median)', `${o.medianOverheadSeconds} s`, 'completion check, verification, manifest, _SUCCESS, _latest.json');
    add(
      'overhead',
      'bytes reaching the worker per export',
      formatBytes(o.workerBytesFromMaterialize + o.workerS3ObjectBytesRead),
      `of ${formatBytes(o.bytesPerExport)} exported: pg ${formatBytes(o.workerBytesFromMaterialize)} (COPY tag), S3 ${formatBytes(o.workerS3ObjectBytesRead)} (Parquet footers)`,
    );
    add('overhead', 'S3 requests per export (median)', o.s3RequestsPerExport, rpcSummary(o.s3RequestsByOperation));
    for (const [step, ms] of Object.entries(o.timelineMs)) add('overhead', `  ${step}`, `${ms} ms`, 'median, server clock');
    if (o.temporalCosts) {
      add('overhead', 'history events / billable actions', `${o.temporalCosts.events} / ${o.temporalCosts.billableActions}`, historyCostNote(o.temporalCosts));
    }
  }
  if (r.manyFiles) {
    const m = r.manyFiles;
    add('many files', `export of ${m.files} files`, `${m.seconds} s`, `${m.rows} rows, CSV, ${m.batches} batches; ${m.s3Requests} S3 requests by the worker`);
    add('many files', 'manifest.json in S3', formatBytes(m.manifestBytes), 'built and checked by the activity');
    add(
      'many files',
      'history payload bytes (largest event)',
      `${formatBytes(m.temporalCosts.payloadBytes)} (${formatBytes(m.temporalCosts.largestEventBytes)})`,
      `${m.temporalCosts.events} events, ${m.temporalCosts.billableActions} billable actions: the same as a one-file export`,
    );
  }
  if (r.completion) {
    const c = r.completion;
    const note = `${c.latenciesMs.length} of ${c.exports} exports of ${c.rows} rows; watcher every ${c.watcherIntervalMs} ms`;
    add('completion', 'sentinel deleted -> workflow acts, p50', `${c.p50Ms} ms`, note);
    add('completion', 'sentinel deleted -> workflow acts, p95', `${c.p95Ms} ms`, '');
    add('completion', 'S3 polls until complete (median)', c.medianPolls, '');
    add('completion', 'S3 requests per export (median)', c.s3RequestsPerExport.median, `min ${c.s3RequestsPerExport.min}, max ${c.s3RequestsPerExport.max}`);
    add('completion', 'Temporal history events per export', c.temporalServerEventsPerExport, c.temporalCosts ? historyCostNote(c.temporalCosts) : '');
  }
  for (const s of r.scale ?? []) {
    const b = `scale N=${s.concurrency}`;
    add(b, 'succeeded / failed', `${s.succeeded} / ${s.failed}`, s.firstFailure ? `first failure: ${s.firstFailure.slice(0, 80)}` : `${s.rowsPerExport} rows each, Parquet`);
    add(b, 'throughput', `${s.exportsPerSecond} exports/s`, `${s.wallSeconds} s wall`);
    add(b, 'worker peak RSS', formatBytes(s.workerPeakRssBytes), `${formatBytes(s.workerRssBeforeBytes)} before; ${capacityNote(s.capacity, s.workerHeapLimitMiB)}`);
    add(b, 'RSS per export in flight', formatBytes(s.rssPerExportBytes), '(peak - before) / exports started at once');
    add(
      b,
      'bytes reaching the worker / exported',
      `${formatBytes(s.workerBytesFromMaterialize + s.workerS3ObjectBytesRead)} / ${formatBytes(s.exportedBytes)}`,
      `pg ${formatBytes(s.workerBytesFromMaterialize)} (COPY tags, no rows); S3 ${formatBytes(s.workerS3ObjectBytesRead)} in ${s.workerS3ObjectReads} footer reads of ${s.exportedFiles} files (the last 4 KiB of each, more only for a longer footer)`,
    );
  }
  if (r.schedules) {
    const s = r.schedules;
    add('schedules', `apply ${s.definitions} new definitions`, `${round(s.first.planSeconds + s.first.applySeconds, 2)} s`, `plan ${s.first.planSeconds} s + apply ${s.first.applySeconds} s, ${s.concurrency} calls at once`);
    add('schedules', 'Temporal calls (first apply)', s.first.temporalCalls, rpcSummary(s.first.callsByRpc));
    add('schedules', 'list caught up after', `${s.listCaughtUpSeconds} s`, 'ListSchedules shows every schedule with its digest');
    add('schedules', 're-apply, nothing changed', `${round(s.reapply.planSeconds + s.reapply.applySeconds, 2)} s`, `${s.reapply.unchanged} unchanged`);
    add('schedules', 'Temporal calls (re-apply)', s.reapply.temporalCalls, rpcSummary(s.reapply.callsByRpc));
  }
  if (r.airflow) rows.push(...airflowReportRows(r.airflow));
  return rows;
}

function capacityNote(c: ScaleResult['capacity'], heapLimitMiB?: number): string {
  const heap = heapLimitMiB === undefined ? '' : `, V8 heap limit ${heapLimitMiB} MiB`;
  return `cache ${c.maxCachedWorkflows} workflows, ${c.maxConcurrentActivities} activity slots, ${c.maxConcurrentWorkflowTasks} workflow task slots${heap}`;
}

function rpcSummary(calls: Record<string, number>): string {
  return Object.entries(calls)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

async function main(): Promise<void> {
  const opts = benchOptions(process.argv.slice(2));
  const started = new Date();
  const log = (line: string) => console.error(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)}s] ${line}`);
  const env = await startBenchEnv({ log });
  const results: Results = {};
  try {
    log('onboarding the bench connection');
    const target = await onboardBenchConnection(env);
    if (opts.only.includes('overhead')) {
      log(`creating a table of ${opts.rows} rows`);
      await createRowsTable(env, 'bench_overhead', opts.rows);
      results.overhead = await benchOverhead(env, target, { table: 'bench_overhead', rows: opts.rows, rounds: opts.rounds, log });
    }
    if (opts.only.includes('completion')) {
      await createRowsTable(env, 'bench_completion', opts.completionRows);
      results.completion = await benchCompletion(env, target, {
        table: 'bench_completion',
        rows: opts.completionRows,
        exports: opts.completionExports,
        watcherIntervalMs: 5,
        log,
      });
    }
    if (opts.only.includes('scale')) {
      await createRowsTable(env, 'bench_scale', opts.scaleRows);
      results.scale = [];
      for (const [i, n] of opts.concurrency.entries()) {
        results.scale.push(await benchScale(env, target, { table: 'bench_scale', rows: opts.scaleRows, concurrency: n, round: i, log }));
      }
    }
    if (opts.only.includes('manyfiles')) {
      results.manyFiles = await benchManyFiles(env, target, { files: opts.manyFiles, log });
    }
    if (opts.only.includes('schedules')) {
      results.schedules = await benchSchedules(env, target, { definitions: opts.schedules, concurrency: opts.schedulesConcurrency, log });
    }
    if (opts.only.includes('airflow')) {
      await createRowsTable(env, 'bench_airflow', opts.airflowRows);
      // Airflow comes from PyPI at bench time; when it cannot be installed or started, the other results stand.
      results.airflow = await benchAirflowCompare(env, target, { table: 'bench_airflow', rows: opts.airflowRows, batches: opts.airflowExports, log }).catch(
        (e: Error) => {
          log(`airflow: ${e.message}`);
          return { error: e.message };
        },
      );
    }
  } finally {
    await env.close();
  }

  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryBytes: os.totalmem(), node: process.version, platform: `${os.platform()} ${os.release()}` };
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  console.log(`\nmz-s3-export benchmarks, ${started.toISOString()}, ${machine.cpus} CPU(s), ${formatBytes(machine.memoryBytes)} RAM, Node ${machine.node}`);
  console.log(`command: ${command}\n`);
  console.log(table(['benchmark', 'metric', 'value', 'note'], reportRows(results)));
  const outDir = path.join(PROJECT_ROOT, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ startedAt: started.toISOString(), command, machine, options: opts, results }, null, 2) + '\n');
  console.log(`\nJSON: ${path.relative(PROJECT_ROOT, file)}`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(`bench failed: ${e.stack ?? e.message}`);
    process.exit(1);
  });
}
