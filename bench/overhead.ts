/**
 * Orchestration overhead: the same N-row Parquet export through bulkExport (COPY + completion detection +
 * verification with Parquet footer reads + manifest, _SUCCESS and _latest.json) and as one bare COPY over pg,
 * alternated (ABAB..., the order flipped each round so warm-up favours neither), median of the ratios.
 */
import type { BulkExportResult } from '../common/export/types';
import type { BenchEnv } from './bench-env';
import { historyCosts, type HistoryCosts } from './history-costs';
import { runTimeline } from './timeline';
import { runOnMzLocal, type BenchTarget } from './setup';
import { median, round } from './stats';
import { bulkExport } from '../workflows';

export interface OverheadResult {
  rows: number;
  rounds: number;
  workflowSeconds: number[];
  directSeconds: number[];
  ratios: number[];
  medianRatio: number;
  medianWorkflowSeconds: number;
  medianDirectSeconds: number;
  medianOverheadSeconds: number;
  filesPerExport: number;
  bytesPerExport: number;
  /** Per bulkExport run (median): what reached the worker from Materialize (pg) and from S3 object reads. */
  workerBytesFromMaterialize: number;
  workerS3ObjectBytesRead: number;
  /** S3 requests the worker made per bulkExport (median), and by operation for the last one. */
  s3RequestsPerExport: number;
  s3RequestsByOperation: Record<string, number>;
  /** The last bulkExport's history. */
  temporalCosts?: HistoryCosts;
  /** Where a bulkExport's time went (median over the measured rounds, ms): see timeline.ts; `client` is the rest. */
  timelineMs: Record<string, number>;
}

export async function benchOverhead(
  env: BenchEnv,
  target: BenchTarget,
  opts: { table: string; rows: number; rounds: number; log: (s: string) => void },
): Promise<OverheadResult> {
  const workflowSeconds: number[] = [];
  const directSeconds: number[] = [];
  const pgBytes: number[] = [];
  const s3Bytes: number[] = [];
  const s3Requests: number[] = [];
  let s3ByOperation: Record<string, number> = {};
  let costs: HistoryCosts | undefined;
  let last: BulkExportResult | undefined;
  const timelines: Record<string, number>[] = [];
  const base = Date.UTC(2030, 0, 1);

  const viaWorkflow = async (round: number) => {
    env.s3Proxy.reset();
    env.pgProxy.reset();
    const t0 = performance.now();
    last = await env.temporal.client.workflow.execute(bulkExport, {
      taskQueue: env.taskQueue,
      workflowId: `bench-overhead-${process.pid}-${round}`,
      args: [
        {
          exportName: 'overhead',
          connectionName: target.connectionName,
          object: opts.table,
          bucket: target.bucket,
          prefix: target.prefix,
          format: 'parquet',
          logicalTime: new Date(base + round * 60_000).toISOString(),
          publishLatest: true,
        },
      ],
      workflowExecutionTimeout: '30 minutes',
    });
    const seconds = (performance.now() - t0) / 1000;
    pgBytes.push(env.pgProxy.counts.bytesFromServer);
    s3Bytes.push(env.s3Proxy.counts.s3ObjectBytesRead);
    s3Requests.push(env.s3Proxy.counts.requests);
    s3ByOperation = { ...env.s3Proxy.counts.byOperation };
    const events = (await env.temporal.client.workflow.getHandle(`bench-overhead-${process.pid}-${round}`).fetchHistory()).events ?? [];
    costs = historyCosts(events);
    const steps = runTimeline(events);
    const serverMs = steps.reduce((sum, st) => sum + st.ms, 0);
    timelines.push({ ...Object.fromEntries(steps.map((st) => [st.step, st.ms])), 'client: start call and result (outside the history)': seconds * 1000 - serverMs });
    return seconds;
  };
  const direct = async (round: number) => {
    const c = await env.mz();
    try {
      const t0 = performance.now();
      await c.query(
        `COPY ${opts.table} TO 's3://${target.bucket}/${target.prefix}/direct/round-${String(round).padStart(3, '0')}' WITH (AWS CONNECTION = ${target.connectionName}, FORMAT = 'parquet')`,
      );
      return (performance.now() - t0) / 1000;
    } finally {
      await c.end();
    }
  };

  // A single-file export on both sides (the yardstick): mz-local writes one batch, as a one-worker replica
  // would; its default of 2 batches would add a second footer read to bulkExport only.
  await runOnMzLocal(env, 'ALTER SYSTEM SET mz_local_batches = 1');
  try {
    return await measure();
  } finally {
    await runOnMzLocal(env, 'ALTER SYSTEM RESET mz_local_batches');
  }

  async function measure(): Promise<OverheadResult> {
    // One unmeasured warm-up of each (workflow bundle, pg and S3 connections, mz-local's caches).
    opts.log('overhead: warm-up');
    await viaWorkflow(0);
    await direct(0);
    for (let round = 1; round <= opts.rounds; round++) {
      const order = round % 2 === 1 ? (['workflow', 'direct'] as const) : (['direct', 'workflow'] as const);
      for (const which of order) {
        const s = which === 'workflow' ? await viaWorkflow(round) : await direct(round);
        (which === 'workflow' ? workflowSeconds : directSeconds).push(s);
        opts.log(`overhead: round ${round} ${which} ${round2(s)} s`);
      }
    }
    const ratios = workflowSeconds.map((w, i) => w / directSeconds[i]);
    return {
      rows: opts.rows,
      rounds: opts.rounds,
      workflowSeconds: workflowSeconds.map(round2),
      directSeconds: directSeconds.map(round2),
      ratios: ratios.map((r) => round(r, 3)),
      medianRatio: round(median(ratios), 3),
      medianWorkflowSeconds: round2(median(workflowSeconds)),
      medianDirectSeconds: round2(median(directSeconds)),
      medianOverheadSeconds: round2(median(workflowSeconds.map((w, i) => w - directSeconds[i]))),
      filesPerExport: last?.files ?? 0,
      bytesPerExport: last?.bytes ?? 0,
      workerBytesFromMaterialize: median(pgBytes),
      workerS3ObjectBytesRead: median(s3Bytes),
      s3RequestsPerExport: median(s3Requests),
      s3RequestsByOperation: s3ByOperation,
      temporalCosts: costs,
      timelineMs: Object.fromEntries(Object.keys(timelines.at(-1) ?? {}).map((k) => [k, Math.round(median(timelines.slice(1).map((t) => t[k] ?? 0)))])),
    };
  }
}

const round2 = (n: number) => round(n, 2);
