/**
 * bulkExport when things go wrong, on the real local stack: mz-local's injected COPY failure (retried in a
 * fresh attempt folder, the failed one cleaned, exactly one manifest), a cancellation mid-COPY (pg's cancel
 * request reaches mz-local, nothing is published), the verification gate on a real listing, and inputs Materialize
 * or S3 refuse, which fail at once with a message saying what to change and publish nothing. A worker killed
 * mid-COPY is test/reliability/faults.test.ts's "copying" phase; the attempt loop's own branches are
 * test/workflow/export-attempts.test.ts.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { BulkExportInput, BulkExportResult } from '../../common/export/types';
import { emptyBucket, useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { listKeys } from '../helpers/export-readback';
import {
  alterSystem,
  eventually,
  exportFailure,
  exportInput,
  FAST_TUNING,
  progressOf,
  publishedKeys,
  startExport,
} from '../helpers/export-run';
import type { TestStack } from '../helpers/stack';

describe('export: failures, cancellation and crashes', function () {
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));
  afterEach(async () => {
    // Fault knobs are global to mz-local: never leave one set for the next test.
    await alterSystem(stack, 'ALTER SYSTEM RESET mz_local_fail_after_files');
    await alterSystem(stack, 'ALTER SYSTEM RESET mz_local_batch_delay_ms');
    await alterSystem(stack, 'ALTER SYSTEM RESET mz_local_ignore_cancel_requests');
  });

  const attemptPrefix = (exportName: string, attempt: number) =>
    `${conn.prefix}/${exportName}/20240801T000000.000Z/attempt-${String(attempt).padStart(3, '0')}/`;
  const sentinelOf = async (exportName: string, attempt: number) =>
    (await listKeys(stack, conn.bucket, attemptPrefix(exportName, attempt))).find((k) => k.endsWith('-INCOMPLETE'));

  it('retries a COPY that failed after writing files in a fresh attempt, cleans the failed one and publishes once', async () => {
    await alterSystem(stack, 'ALTER SYSTEM SET mz_local_fail_after_files = 1');
    const input = exportInput(conn, {
      object: 'public.orders',
      format: 'parquet',
      logicalTime: '2024-08-01T00:00:00Z',
      tuning: { ...FAST_TUNING, retryBackoffSeconds: 3 },
    });
    const handle = await startExport(stack, input);
    const failed = await eventually('attempt 1 to fail and wait for its retry', async () => {
      const p = await progressOf(handle);
      return p.phase === 'waiting-to-retry' && p.attempts[0];
    });
    assert.equal(failed.outcome, 'failed');
    assert.match(failed.error!, /injected failure after 1 data file/);
    // The failed attempt wrote one data file and left its sentinel; both were proven ours and removed.
    assert.equal(failed.cleanedFiles, 2);
    assert.deepEqual(await listKeys(stack, conn.bucket, attemptPrefix(input.exportName, 1)), []);
    await alterSystem(stack, 'ALTER SYSTEM RESET mz_local_fail_after_files');

    const result = (await handle.result()) as BulkExportResult;
    assert.equal(result.attempt, 2);
    assert.deepEqual(result.attempts.map((a) => a.outcome), ['failed', 'succeeded']);
    assert.equal(result.rows, 1000);
    assert.match(result.outputPath, /\/attempt-002\/$/);
    const published = await publishedKeys(stack, input);
    assert.deepEqual(published.filter((k) => k.endsWith('manifest.json')), [`${attemptPrefix(input.exportName, 2)}manifest.json`]);
    assert.deepEqual(await listKeys(stack, conn.bucket, attemptPrefix(input.exportName, 1)), []);
  });

  /** Starts a CSV export slowed by the batch delay, cancels it once its sentinel is written, expects CancelledFailure. */
  async function cancelMidCopy(batchDelayMs: number) {
    await alterSystem(stack, `ALTER SYSTEM SET mz_local_batch_delay_ms = ${batchDelayMs}`);
    const input = exportInput(conn, { object: 'public.orders', format: 'csv', logicalTime: '2024-08-01T00:00:00Z' });
    const handle = await startExport(stack, input);
    const sentinel = await eventually('the COPY to start writing', () => sentinelOf(input.exportName, 1));
    const sinkId = /mz-(t\d+)-INCOMPLETE$/.exec(sentinel)![1];
    await handle.cancel();
    const failure = await exportFailure(handle);
    assert.equal(failure.name, 'CancelledFailure');
    const mzLog = fs.readFileSync(stack.info.services.find((s) => s.name === 'mz-local')!.logFile, 'utf8');
    return { input, handle, sinkId, mzLog };
  }

  async function assertNothingLeft(input: BulkExportInput): Promise<void> {
    assert.deepEqual(await publishedKeys(stack, input), []);
    assert.deepEqual(await listKeys(stack, conn.bucket, attemptPrefix(input.exportName, 1)), []);
  }

  it('cancelled mid-COPY: the pg cancel request stops the COPY in mz-local, its files are removed, nothing is published', async () => {
    const { input, handle, sinkId, mzLog } = await cancelMidCopy(5000);
    // mz-local received pg's CancelRequest and aborted that very statement while it ran (the COPY takes 10 s
    // with the batch delay; a finished or dropped COPY logs differently).
    assert.match(mzLog, new RegExp(`COPY ${sinkId}: canceled \\(canceled by request\\)`));
    const progress = await progressOf(handle);
    assert.equal(progress.phase, 'cancelled');
    assert.equal(progress.attempts[0].outcome, 'cancelled');
    await assertNothingLeft(input);
  });

  it('cancelled while the server ignores cancel requests: the session is closed, which stops the COPY; nothing is published', async () => {
    await alterSystem(stack, 'ALTER SYSTEM SET mz_local_ignore_cancel_requests = true');
    const { input, sinkId, mzLog } = await cancelMidCopy(15_000);
    // The cancel request was dropped; 10 s later the activity closed its session, and that is what stopped the
    // COPY (it would have run 30 s with the batch delay).
    assert.match(mzLog, /ignored \(mz_local_ignore_cancel_requests\)/);
    assert.match(mzLog, new RegExp(`COPY ${sinkId}: canceled \\(client connection closed\\)`));
    await assertNothingLeft(input);
  });

  it('verification gate: an attempt holding an object the COPY did not write is not published; its own files are removed, the stranger kept', async () => {
    await alterSystem(stack, 'ALTER SYSTEM SET mz_local_batch_delay_ms = 1500');
    const input = exportInput(conn, { object: 'public.order_totals', format: 'csv', logicalTime: '2024-08-01T00:00:00Z' });
    const handle = await startExport(stack, input);
    await eventually('the COPY to start writing', () => sentinelOf(input.exportName, 1));
    const stray = `${attemptPrefix(input.exportName, 1)}stray.txt`;
    await stack.aws.s3.send(new PutObjectCommand({ Bucket: conn.bucket, Key: stray, Body: 'not from Materialize' }));
    const failure = await exportFailure(handle);
    assert.equal(failure.type, 'ExportVerificationError');
    assert.match(failure.message, /failed verification and was not published: unexpected objects in the attempt folder, e\.g\. .*stray\.txt/);
    assert.deepEqual(await publishedKeys(stack, input), []);
    // The attempt's claim proves the COPY's files and the manifest-less folder are the run's own: they go. The
    // object nobody proves ours stays.
    assert.deepEqual(await listKeys(stack, conn.bucket, attemptPrefix(input.exportName, 1)), [stray]);
  });

  describe('inputs a user must fix fail at once, say what to change, and publish nothing', () => {
    const failsFast = async (fields: Parameters<typeof exportInput>[1], expect: { type: string; message: RegExp; attempts: number }) => {
      const input = exportInput(conn, { format: 'parquet', ...fields });
      const started = Date.now();
      const handle = await startExport(stack, input);
      const failure = await exportFailure(handle);
      assert.equal(failure.type, expect.type, failure.message);
      assert.match(failure.message, expect.message);
      assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
      if (expect.attempts > 0) {
        const progress = await progressOf(handle);
        assert.equal(progress.phase, 'failed');
        assert.equal(progress.attempts.length, expect.attempts, 'no retry of something retrying cannot fix');
      }
      assert.deepEqual(await publishedKeys(stack, input), []);
      return input;
    };

    it('an unknown object', async () => {
      await failsFast({ object: 'public.no_such_table' }, { type: 'UserFixableError', message: /no_such_table.*To fix: check that public\.no_such_table exists/s, attempts: 1 });
    });

    it('an interval column exported to Parquet', async () => {
      await failsFast(
        { query: "SELECT order_id, ordered_at - TIMESTAMPTZ '2024-01-01 00:00:00+00' AS age FROM public.orders" },
        { type: 'UserFixableError', message: /Cannot encode the following columns\/types.*age.*To fix: cast those columns/s, attempts: 1 },
      );
    });

    it('a bucket the role may not write to', async () => {
      const other = `export-denied-${randomUUID().slice(0, 8)}`;
      await stack.aws.s3.send(new CreateBucketCommand({ Bucket: other }));
      try {
        await failsFast(
          { object: 'public.orders', bucket: other },
          { type: 'UserFixableError', message: new RegExp(`IAM role behind connection ${conn.connectionName} may not write to s3://${other}/`), attempts: 1 },
        );
        assert.deepEqual(await listKeys(stack, other, ''), []);
      } finally {
        await emptyBucket(stack, other);
      }
    });
  });
});
