/**
 * Scale: N exports started at once on one worker. Throughput (exports completed per second over the whole
 * run), the worker's peak resident memory, and the proof that no data passes through it: the bytes the worker
 * received from Materialize (pg) and read from S3 objects (Parquet footers only) against the bytes exported.
 */
import type { BulkExportResult } from '../common/export/types';
import * as fs from 'node:fs';
import { sampleMemory, processMemory, type BenchEnv } from './bench-env';
import type { BenchTarget } from './setup';
import { round } from './stats';
import { loadWorkerSettings, type WorkerCapacity } from '../worker/worker-settings';
import { bulkExport } from '../workflows';

export interface ScaleResult {
  concurrency: number;
  rowsPerExport: number;
  succeeded: number;
  failed: number;
  wallSeconds: number;
  exportsPerSecond: number;
  workerRssBeforeBytes: number;
  workerPeakRssBytes: number;
  /** (peak - before) / concurrency. */
  rssPerExportBytes: number;
  /** The worker's slots and cache (its environment is the bench's: MZ_S3_EXPORT_MAX_* pass through). */
  capacity: WorkerCapacity;
  /** V8's heap limit the worker reported at start (bin/mz-s3-export-worker sets it: MZ_S3_EXPORT_WORKER_HEAP_MIB). */
  workerHeapLimitMiB?: number;
  exportedBytes: number;
  workerBytesFromMaterialize: number;
  workerS3ObjectBytesRead: number;
  workerS3Requests: number;
  /** Object reads (GetObject, ranged: Parquet footers) and data files exported. */
  workerS3ObjectReads: number;
  exportedFiles: number;
  /** Share of the exported bytes that reached the worker by any path (pg or S3 object reads). */
  dataThroughWorkerRatio: number;
  firstFailure?: string;
}

export async function benchScale(
  env: BenchEnv,
  target: BenchTarget,
  opts: { table: string; rows: number; concurrency: number; round: number; log: (s: string) => void },
): Promise<ScaleResult> {
  const pid = env.worker.proc.pid;
  const before = processMemory(pid)?.rss ?? NaN;
  env.s3Proxy.reset();
  env.pgProxy.reset();
  const sampler = sampleMemory(pid, 100);
  const base = Date.UTC(2032, 0, 1) + opts.round * 86_400_000;
  const t0 = performance.now();
  const handles = await Promise.all(
    Array.from({ length: opts.concurrency }, (_, i) =>
      env.temporal.client.workflow.start(bulkExport, {
        taskQueue: env.taskQueue,
        workflowId: `bench-scale-${process.pid}-${opts.concurrency}-${opts.round}-${i}`,
        args: [
          {
            exportName: 'scale',
            connectionName: target.connectionName,
            object: opts.table,
            bucket: target.bucket,
            prefix: target.prefix,
            format: 'parquet',
            logicalTime: new Date(base + i * 1000).toISOString(),
            publishLatest: false,
          },
        ],
        workflowExecutionTimeout: '30 minutes',
      }),
    ),
  );
  opts.log(`scale: ${opts.concurrency} exports started in ${round((performance.now() - t0) / 1000, 1)} s`);
  const settled = await Promise.allSettled(handles.map((h) => h.result() as Promise<BulkExportResult>));
  const wallSeconds = (performance.now() - t0) / 1000;
  const peak = sampler.stop();
  const ok = settled.filter((s): s is PromiseFulfilledResult<BulkExportResult> => s.status === 'fulfilled').map((s) => s.value);
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  const exportedBytes = ok.reduce((s, r) => s + r.bytes, 0);
  const throughWorker = env.pgProxy.counts.bytesFromServer + env.s3Proxy.counts.s3ObjectBytesRead;
  return {
    concurrency: opts.concurrency,
    rowsPerExport: opts.rows,
    succeeded: ok.length,
    failed: failures.length,
    wallSeconds: round(wallSeconds, 2),
    exportsPerSecond: round(ok.length / wallSeconds, 2),
    workerRssBeforeBytes: before,
    workerPeakRssBytes: peak,
    rssPerExportBytes: Math.round((peak - before) / opts.concurrency),
    capacity: loadWorkerSettings(process.env).capacity,
    workerHeapLimitMiB: heapLimitFromLog(env.worker.proc.logFile),
    exportedBytes,
    workerBytesFromMaterialize: env.pgProxy.counts.bytesFromServer,
    workerS3ObjectBytesRead: env.s3Proxy.counts.s3ObjectBytesRead,
    workerS3Requests: env.s3Proxy.counts.requests,
    workerS3ObjectReads: env.s3Proxy.counts.byOperation['s3 GET GetObject'] ?? 0,
    exportedFiles: ok.reduce((s, r) => s + r.files, 0),
    dataThroughWorkerRatio: exportedBytes ? round(throughWorker / exportedBytes, 4) : NaN,
    ...(failures.length ? { firstFailure: failureMessage(failures[0].reason) } : {}),
  };
}

function failureMessage(e: unknown): string {
  const err = e as Error & { cause?: Error & { cause?: Error } };
  return err?.cause?.cause?.message ?? err?.cause?.message ?? err?.message ?? String(e);
}

/** The heapLimitMiB of the worker's "worker started" log line. */
function heapLimitFromLog(logFile: string): number | undefined {
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"worker started"')) continue;
    return (JSON.parse(line) as { heapLimitMiB?: number }).heapLimitMiB;
  }
  return undefined;
}
