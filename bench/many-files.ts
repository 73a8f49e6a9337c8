/**
 * An export of N files (default 10,000): mz-local's `mz_local_batches` knob splits one COPY's rows into that many
 * batches (a replica with N workers), each writing a file. Reports the wall time, the manifest's size in S3, and
 * what reached Temporal's history: it must not grow with N (only a digest of the manifest travels).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { BulkExportResult } from '../common/export/types';
import type { BenchEnv } from './bench-env';
import { historyCosts, type HistoryCosts } from './history-costs';
import { runOnMzLocal, type BenchTarget } from './setup';
import { round } from './stats';
import { bulkExport } from '../workflows';

export interface ManyFilesResult {
  batches: number;
  files: number;
  rows: number;
  seconds: number;
  manifestBytes: number;
  s3Requests: number;
  temporalCosts: HistoryCosts;
}

export async function benchManyFiles(env: BenchEnv, target: BenchTarget, opts: { files: number; log: (s: string) => void }): Promise<ManyFilesResult> {
  // Rows hash into batches: with 4 rows a batch on average, nearly every batch writes a file.
  const rows = opts.files * 4;
  await runOnMzLocal(env, `ALTER SYSTEM SET mz_local_batches = ${opts.files}`);
  try {
    env.s3Proxy.reset();
    const workflowId = `bench-many-files-${process.pid}`;
    opts.log(`many files: exporting ${rows} rows in ${opts.files} batches`);
    const t0 = performance.now();
    const result: BulkExportResult = await env.temporal.client.workflow.execute(bulkExport, {
      taskQueue: env.taskQueue,
      workflowId,
      args: [
        {
          exportName: 'many-files',
          connectionName: target.connectionName,
          query: `SELECT g AS id, 'row-' || g AS name FROM generate_series(1, ${rows}) AS g`,
          bucket: target.bucket,
          prefix: target.prefix,
          format: 'csv',
          logicalTime: new Date(Date.UTC(2032, 0, 1)).toISOString(),
          tuning: { completionTimeoutSeconds: 3600 },
        },
      ],
      workflowExecutionTimeout: '2 hours',
    });
    const seconds = (performance.now() - t0) / 1000;
    const s3Requests = env.s3Proxy.counts.requests;
    const manifest = await env.aws.s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: result.manifestKey }));
    const manifestBytes = (await manifest.Body!.transformToByteArray()).length;
    const temporalCosts = historyCosts((await env.temporal.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []);
    opts.log(`many files: ${result.files} files in ${round(seconds, 1)} s; history ${temporalCosts.payloadBytes} payload bytes`);
    return { batches: opts.files, files: result.files, rows: result.rows, seconds: round(seconds, 1), manifestBytes, s3Requests, temporalCosts };
  } finally {
    await runOnMzLocal(env, 'ALTER SYSTEM RESET mz_local_batches');
  }
}
