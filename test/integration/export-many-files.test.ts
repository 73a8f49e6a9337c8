/**
 * An export of many files keeps Temporal's history as small as one of a single file: the activity that verifies
 * builds and checks the manifest in S3, and only a digest of it travels through history. mz-local's
 * `mz_local_batches` knob splits the COPY's rows into N batches (a replica with N workers), so one COPY writes about
 * N files. (`npm run bench -- --only manyfiles` runs the 10,000-file case.)
 */
import { strict as assert } from 'node:assert';
import type { BulkExportResult } from '../../common/export/types';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { listKeys, readManifest } from '../helpers/export-readback';
import { alterSystem, exportInput } from '../helpers/export-run';
import type { TestStack } from '../helpers/stack';
import { bulkExport } from '../../workflows';

/** The largest payload an event of the history carries (inputs, results, failures), in bytes. */
function payloadBytes(event: unknown): number {
  let total = 0;
  const walk = (v: unknown) => {
    if (!v || typeof v !== 'object') return;
    if (v instanceof Uint8Array) return void (total += v.length);
    for (const x of Object.values(v)) walk(x);
  };
  walk(event);
  return total;
}

describe('export: many files', function () {
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));
  after(async () => alterSystem(stack, 'ALTER SYSTEM RESET mz_local_batches'));

  /** Runs the query as a CSV export split into `batches` files; returns the result and its history's payload sizes. */
  async function exportInBatches(batches: number, logicalTime: string) {
    await alterSystem(stack, `ALTER SYSTEM SET mz_local_batches = ${batches}`);
    const input = exportInput(conn, {
      query: 'SELECT g AS id, g * 2 AS doubled FROM generate_series(1, 6000) AS g',
      format: 'csv',
      logicalTime,
      tuning: { pollInitialMs: 200, pollMaxMs: 1000, completionTimeoutSeconds: 120, settleQuietSeconds: 1 },
    });
    const handle = await stack.temporal.workflow.start(bulkExport, {
      taskQueue: stack.taskQueue,
      workflowId: `export-many-files-${input.exportName}`,
      args: [input],
      workflowExecutionTimeout: '10 minutes',
    });
    const result = (await handle.result()) as BulkExportResult;
    const events = (await handle.fetchHistory()).events ?? [];
    const sizes = events.map((e) => ({ type: String(e.eventType), bytes: payloadBytes(e) }));
    const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    return { result, events: events.length, total: sizes.reduce((s, e) => s + e.bytes, 0), largest };
  }

  it('keeps the history the same size whatever the number of files: only a digest of the manifest travels', async function () {
    this.timeout(600_000);
    const one = await exportInBatches(1, '2025-06-01T00:00:00Z');
    const many = await exportInBatches(400, '2025-06-02T00:00:00Z');
    assert.equal(one.result.files, 1);
    assert.ok(many.result.files >= 350, `${many.result.files} files`);
    assert.equal(many.result.rows, 6000);

    const manifest = await readManifest(stack, many.result.manifest);
    const keys = await listKeys(stack, conn.bucket, many.result.outputPath.replace(`s3://${conn.bucket}/`, ''));
    assert.deepEqual(manifest.files.map((f) => f.key).sort(), keys.filter((k) => /-batch-/.test(k)));
    const manifestBytes = JSON.stringify(manifest).length;
    console.log(
      `      1 file: ${one.events} events, ${one.total} payload bytes; ${many.result.files} files: ${many.events} events, ${many.total} payload bytes, largest ${many.largest.bytes} (${many.largest.type}); the manifest itself is ${manifestBytes} bytes`,
    );
    // The same events; payloads differ only by a few digits (file count, byte totals, times).
    assert.equal(many.events, one.events);
    assert.ok(Math.abs(many.total - one.total) < 256, `${many.total} vs ${one.total} payload bytes`);
    assert.ok(many.largest.bytes < 8 * 1024, `an event carries ${many.largest.bytes} bytes (${many.largest.type})`);
    assert.ok(manifestBytes > 10 * many.total, 'the file list is in S3, not in history');
  });
});
