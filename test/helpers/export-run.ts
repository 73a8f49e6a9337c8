/** Shared by the export integration suites: inputs with short test timings, starting runs, reading state. */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { BulkExportInput, BulkExportResult, ExportProgress } from '../../common/export/types';
import { progressQuery } from '../../workflows/export-messages';
import type { TestAwsConnection } from './aws-connection';
import { listKeys } from './export-readback';
import type { TestStack } from './stack';
import { bulkExport } from '../../workflows';

/** Short timings so failures and retries resolve in seconds. */
export const FAST_TUNING = {
  retryBackoffSeconds: 0.2,
  copyHeartbeatTimeoutSeconds: 3,
  pollInitialMs: 100,
  pollMaxMs: 400,
  completionTimeoutSeconds: 20,
  settleQuietSeconds: 1,
};

export function exportInput(conn: TestAwsConnection, fields: Partial<BulkExportInput>): BulkExportInput {
  return {
    exportName: `e-${randomUUID().slice(0, 8)}`,
    connectionName: conn.connectionName,
    bucket: conn.bucket,
    prefix: conn.prefix,
    format: 'csv',
    tuning: FAST_TUNING,
    ...fields,
  };
}

export async function startExport(
  stack: TestStack,
  input: BulkExportInput,
  opts: { taskQueue?: string; workflowId?: string } = {},
): Promise<WorkflowHandle> {
  return stack.temporal.workflow.start(bulkExport, {
    taskQueue: opts.taskQueue ?? stack.taskQueue,
    workflowId: opts.workflowId ?? `export-test-${randomUUID()}`,
    args: [input],
    workflowExecutionTimeout: '3 minutes',
  });
}

export async function runExport(stack: TestStack, input: BulkExportInput, opts: { taskQueue?: string } = {}): Promise<BulkExportResult> {
  return (await startExport(stack, input, opts)).result() as Promise<BulkExportResult>;
}

/** The workflow's failure, unwrapped to the ApplicationFailure that says what went wrong. */
export async function exportFailure(handle: WorkflowHandle): Promise<{ type?: string; message: string; name: string }> {
  try {
    await handle.result();
  } catch (e) {
    let err = e as Error & { cause?: Error & { type?: string } };
    while (err.cause) err = err.cause as typeof err;
    return { type: (err as { type?: string }).type, message: err.message, name: err.name };
  }
  throw new Error('the export succeeded but a failure was expected');
}

export async function progressOf(handle: WorkflowHandle): Promise<ExportProgress> {
  return handle.query(progressQuery);
}

/** Polls until check passes (short intervals), failing with what was last seen. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${String((last as Error)?.message ?? last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Everything published under the export: manifests, _SUCCESS markers and the _latest.json pointer. */
export async function publishedKeys(stack: TestStack, input: BulkExportInput): Promise<string[]> {
  const keys = await listKeys(stack, input.bucket, `${input.prefix}/${input.exportName}/`);
  return keys.filter((k) => /\/(manifest\.json|_SUCCESS|_latest\.json)$/.test(k));
}

export async function alterSystem(stack: TestStack, sql: string): Promise<void> {
  const mz = await stack.mz();
  try {
    await mz.query(sql);
  } finally {
    await mz.end();
  }
}
