/**
 * bulkExport's attempt loop with stubbed activities: one test per branch of ExportRun (workflows/export-run.ts):
 * publish, retry in a fresh folder after each kind of failed or lost COPY, take the next folder, reuse another
 * run's publication, lose the publication race, fail for good, clean up after a cancellation. The real S3 and
 * Materialize behaviour behind each activity is tested in test/integration and test/reliability.
 */
import { strict as assert } from 'node:assert';
import { ApplicationFailureCategory, CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { applicationFailure } from '../../common/failures';
import type { BulkExportInput } from '../../common/export/types';
import type { CopyToS3Result, FinishResult, InspectResult, ManifestDigest, PublishedSummary } from '../../common/export/activities';
import { bulkExport } from '../../workflows/export';
import { callsOf, runStubbed, withStubbedWorker, workflowEnv, type ActivityStubs, type WorkflowRun } from './harness';

const LOGICAL_TIME = '2026-12-01T00:00:00.000Z';
const INPUT: BulkExportInput = {
  exportName: 'orders',
  connectionName: 's3_conn',
  object: 'public.orders',
  bucket: 'exports-bucket',
  prefix: 'exports',
  format: 'parquet',
  logicalTime: LOGICAL_TIME,
  maxAttempts: 3,
  tuning: { retryBackoffSeconds: 0 },
};
const LT_KEY = 'exports/orders/20261201T000000.000Z';

const copied: CopyToS3Result = {
  outcome: 'copied',
  rows: 3,
  startedAt: LOGICAL_TIME,
  finishedAt: LOGICAL_TIME,
  materialize: { timestamp: '1764547200000', version: 'v0.0.0', cluster: 'quickstart' },
};

function digest(attempt: number): ManifestDigest {
  return {
    attempt,
    manifestKey: `${LT_KEY}/attempt-${String(attempt).padStart(3, '0')}/manifest.json`,
    manifest: `s3://exports-bucket/${LT_KEY}/attempt-${String(attempt).padStart(3, '0')}/manifest.json`,
    manifestEtag: 'e',
    manifestSha256: 's',
    rows: 3,
    files: 1,
    bytes: 100,
    verifiedAt: LOGICAL_TIME,
    publishedAt: LOGICAL_TIME,
  };
}

const published = (attempt: number): FinishResult => ({ outcome: 'published', digest: digest(attempt), latestUpdated: true, polls: 1 });
const winner = (attempt: number, conflict?: string): PublishedSummary => ({ ...digest(attempt), format: 'parquet', ...(conflict ? { conflict } : {}) });
const cleaned = async () => ({ attempts: [] });

/** Answers in order, the last one repeated. */
function inTurn<T>(...answers: (() => T)[]): () => T {
  let i = 0;
  return () => answers[Math.min(i++, answers.length - 1)]();
}

function exportWith(stubs: ActivityStubs, input: BulkExportInput = INPUT) {
  return runStubbed(bulkExport, 'export', { cleanupExportAttempts: cleaned, ...stubs }, input);
}

const copiedAttempts = (run: WorkflowRun) => callsOf(run, 'copyToS3').map((c) => c.target.attempt);
const cleanups = (run: WorkflowRun) => callsOf(run, 'cleanupExportAttempts').map((c) => c.attempts);

describe('bulkExport attempt loop (stubbed activities)', function () {
  this.timeout(60_000);

  it('publishes the first attempt: one COPY, one finish, no cleanup; the outcome sink counts it', async () => {
    const { run, result } = await exportWith({ copyToS3: async () => copied, finishExportAttempt: async () => published(1) });
    assert.deepEqual(copiedAttempts(run), [1]);
    assert.equal(callsOf(run, 'copyToS3')[0].target.logicalTime, LOGICAL_TIME);
    assert.deepEqual(cleanups(run), []);
    assert.equal(result?.attempt, 1);
    assert.equal(result?.outputPath, `s3://exports-bucket/${LT_KEY}/attempt-001/`);
    assert.deepEqual(result?.attempts.map((a) => a.outcome), ['succeeded']);
    // The sink also carries what freshness metrics need: the logical time and the Materialize timestamp published.
    assert.deepEqual(run.outcomes, [
      { exportName: 'orders', outcome: 'succeeded', published: true, rows: 3, bytes: 100, logicalTime: LOGICAL_TIME, materializeTimestamp: '1764547200000' },
    ]);
  });

  it('a COPY the server failed is cleaned (its COPY ended) and retried in the next folder', async () => {
    const { run, result } = await exportWith({
      copyToS3: inTurn(
        () => Promise.reject(applicationFailure('CopyFailedError', 'the COPY failed: injected')),
        () => Promise.resolve(copied),
      ),
      finishExportAttempt: async () => published(2),
    });
    assert.deepEqual(copiedAttempts(run), [1, 2]);
    assert.deepEqual(cleanups(run), [[{ attempt: 1, copyEnded: true }]]);
    assert.deepEqual(result?.attempts.map((a) => [a.attempt, a.outcome]), [[1, 'failed'], [2, 'succeeded']]);
  });

  it('a lost connection mid-COPY is cleaned only after a quiet wait (the COPY may still run), then retried', async () => {
    const { run, result } = await exportWith({
      copyToS3: inTurn(
        () => Promise.reject(applicationFailure('CopyTransientError', 'lost the connection', { details: [{ started: true }] })),
        () => Promise.resolve(copied),
      ),
      finishExportAttempt: async () => published(2),
    });
    assert.deepEqual(cleanups(run), [[{ attempt: 1, copyEnded: false }]]);
    assert.deepEqual(result?.attempts.map((a) => a.outcome), ['lost', 'succeeded']);
  });

  it('a connection that failed before the statement was sent needs no quiet wait', async () => {
    const { run } = await exportWith({
      copyToS3: inTurn(
        () => Promise.reject(applicationFailure('CopyTransientError', 'could not claim: reset', { details: [{ started: false }] })),
        () => Promise.resolve(copied),
      ),
      finishExportAttempt: async () => published(2),
    });
    assert.deepEqual(cleanups(run), [[{ attempt: 1, copyEnded: true }]]);
  });

  it('a COPY whose worker stopped heartbeating counts as lost: cleaned after a quiet wait, retried', async () => {
    const { run, result } = await exportWith(
      {
        copyToS3: inTurn(
          // Never heartbeats; ends only when the worker shuts down at the end of the test.
          () => Context.current().cancelled.then(() => copied, () => copied),
          () => Promise.resolve(copied),
        ),
        finishExportAttempt: async () => published(2),
      },
      { ...INPUT, tuning: { retryBackoffSeconds: 0, copyHeartbeatTimeoutSeconds: 2 } },
    );
    assert.deepEqual(cleanups(run), [[{ attempt: 1, copyEnded: false }]]);
    assert.match(result!.attempts[0].error!, /the COPY stopped reporting \(HEARTBEAT\); its worker is gone/);
  });

  it('a failure the user must fix ends the run at once, cleaned, with what to change, as a BENIGN failure', async () => {
    const { run, failure } = await exportWith({
      copyToS3: () => Promise.reject(applicationFailure('UserFixableError', "unknown catalog item 'orders'. To fix: check that public.orders exists")),
    });
    assert.deepEqual(copiedAttempts(run), [1]);
    assert.deepEqual(cleanups(run), [[{ attempt: 1, copyEnded: true }]]);
    assert.equal(failure?.type, 'UserFixableError');
    assert.equal(failure?.category, ApplicationFailureCategory.BENIGN);
    assert.match(failure!.message, /^export orders failed: unknown catalog item 'orders'\. To fix/);
    assert.deepEqual(run.outcomes.map((o) => o.outcome), ['failed']);
  });

  it('a folder that is not empty is left alone: the run looks at the logical time and takes the next free folder', async () => {
    const { run, result } = await exportWith({
      copyToS3: inTurn(
        () => Promise.reject(applicationFailure('CopyPathNotEmptyError', 'S3 bucket path is not empty')),
        () => Promise.resolve(copied),
      ),
      inspectExportAttempts: async (): Promise<InspectResult> => ({ attempts: [], nextAttempt: 5 }),
      finishExportAttempt: async () => published(5),
    });
    assert.deepEqual(copiedAttempts(run), [1, 5]);
    assert.deepEqual(cleanups(run), []);
    assert.equal(result?.attempt, 5);
  });

  it("a folder another run claimed, at a logical time already published: that publication is the answer, _latest.json follows it", async () => {
    const { run, result } = await exportWith({
      copyToS3: async () => ({ outcome: 'attempt-taken' }),
      inspectExportAttempts: async () => ({ attempts: [{ attempt: 1, state: 'published', objects: 3, claimed: true }], nextAttempt: 2, published: winner(1) }),
      updateLatestPointer: async () => ({ updated: true }),
    });
    assert.equal(result?.reusedExisting, true);
    assert.equal(result?.latestUpdated, true);
    assert.equal(callsOf(run, 'updateLatestPointer')[0].pointer.attempt, 1);
    assert.deepEqual(callsOf(run, 'finishExportAttempt'), []);
  });

  it('a publication claim that cannot be rolled forward is a ConflictError naming it', async () => {
    const { failure } = await exportWith({
      copyToS3: async () => ({ outcome: 'attempt-taken' }),
      inspectExportAttempts: async () => ({ attempts: [], nextAttempt: 2, problem: 'the publication claim names attempt 1, whose files differ from its manifest' }),
    });
    assert.equal(failure?.type, 'ConflictError');
    assert.match(failure!.message, /at 2026-12-01T00:00:00\.000Z: the publication claim names attempt 1/);
  });

  it('the logical time published from another source is a ConflictError, nothing is touched', async () => {
    const { run, failure } = await exportWith({
      copyToS3: async () => ({ outcome: 'attempt-taken' }),
      inspectExportAttempts: async () => ({ attempts: [], nextAttempt: 2, published: winner(1, 'it exported a query') }),
    });
    assert.equal(failure?.type, 'ConflictError');
    assert.match(failure!.message, /already published .* from another source: it exported a query/);
    assert.deepEqual(callsOf(run, 'updateLatestPointer'), []);
  });

  it('every attempt folder used: a UserFixableError saying what to delete', async () => {
    const { failure } = await exportWith({
      copyToS3: async () => ({ outcome: 'attempt-taken' }),
      inspectExportAttempts: async () => ({ attempts: [], nextAttempt: 1000 }),
    });
    assert.equal(failure?.type, 'UserFixableError');
    assert.match(failure!.message, /has used all 999 attempt folders/);
  });

  it('losing the publication race: this attempt is removed and the winner returned', async () => {
    const { run, result } = await exportWith({
      copyToS3: async () => copied,
      finishExportAttempt: async () => ({ outcome: 'lost', winner: winner(7) }),
    });
    assert.deepEqual(cleanups(run), [[{ attempt: 1, copyEnded: true }]]);
    assert.equal(result?.reusedExisting, true);
    assert.equal(result?.attempt, 7);
    assert.deepEqual(result?.attempts.map((a) => a.outcome), ['superseded']);
    assert.deepEqual(callsOf(run, 'updateLatestPointer'), [], 'the winner moved _latest.json itself');
  });

  it('an attempt that fails verification is removed and the run fails (not BENIGN: a mismatch is no user error)', async () => {
    const { run, failure } = await exportWith({
      copyToS3: async () => copied,
      finishExportAttempt: async () => ({ outcome: 'rejected', problems: ['row count 2 differs from the COPY tag 3'] }),
    });
    assert.deepEqual(cleanups(run), [[{ attempt: 1, copyEnded: true }]]);
    assert.equal(failure?.type, 'ExportVerificationError');
    assert.equal(failure?.category, undefined);
    assert.match(failure!.message, /failed verification and was not published: row count 2 differs/);
  });

  it("a sentinel that outlives the completion timeout: the attempt is removed and the next one tried", async () => {
    const { run, result } = await exportWith({
      copyToS3: async () => copied,
      finishExportAttempt: inTurn(
        (): Promise<FinishResult> => Promise.resolve({ outcome: 'incomplete', state: 'timed-out', files: 1, polls: 9 }),
        () => Promise.resolve(published(2)),
      ),
    });
    assert.deepEqual(copiedAttempts(run), [1, 2]);
    assert.match(result!.attempts[0].error!, /sentinel was still there after 300 s/);
  });

  it('gives up after maxAttempts with the last error, as CopyFailedError', async () => {
    const { run, failure } = await exportWith(
      { copyToS3: () => Promise.reject(applicationFailure('CopyFailedError', 'the COPY failed: injected')) },
      { ...INPUT, maxAttempts: 2 },
    );
    assert.deepEqual(copiedAttempts(run), [1, 2]);
    assert.equal(failure?.type, 'CopyFailedError');
    assert.match(failure!.message, /gave up after 2 attempt\(s\); the last: the COPY failed: injected/);
  });

  it('removes what earlier runs left unpublished once this run publishes', async () => {
    const { run } = await exportWith({
      copyToS3: inTurn((): Promise<CopyToS3Result> => Promise.resolve({ outcome: 'attempt-taken' }), () => Promise.resolve(copied)),
      inspectExportAttempts: async (): Promise<InspectResult> => ({ attempts: [{ attempt: 1, state: 'incomplete', objects: 2, claimed: true }], nextAttempt: 2 }),
      finishExportAttempt: async () => published(2),
    });
    assert.deepEqual(copiedAttempts(run), [1, 2]);
    assert.deepEqual(cleanups(run), [[{ attempt: 1, copyEnded: false }]]);
  });

  it('cancelled mid-COPY: waits for the COPY to stop, removes its attempt, publishes nothing', async () => {
    const { client } = await workflowEnv();
    await withStubbedWorker(
      {
        copyToS3: async () => {
          const ctx = Context.current();
          for (;;) {
            ctx.heartbeat();
            if (ctx.cancellationSignal.aborted) throw new CancelledFailure('the COPY was cancelled (pg cancel request sent)');
            await ctx.sleep(200).catch(() => undefined);
          }
        },
        cleanupExportAttempts: cleaned,
      },
      async (run) => {
        const handle = await client.workflow.start(bulkExport, {
          taskQueue: run.taskQueue,
          workflowId: `${run.id}-export`,
          args: [{ ...INPUT, tuning: { retryBackoffSeconds: 0, copyHeartbeatTimeoutSeconds: 2 } }],
        });
        while (!run.calls.some((c) => c.name === 'copyToS3')) await new Promise((r) => setTimeout(r, 50));
        await handle.cancel();
        const e = await handle.result().then(() => assert.fail('expected a cancellation'), (err: unknown) => err);
        assert.ok(e instanceof WorkflowFailedError && e.cause instanceof CancelledFailure, String(e));
        assert.deepEqual(cleanups(run), [[{ attempt: 1, copyEnded: true }]]);
        assert.deepEqual(callsOf(run, 'finishExportAttempt'), []);
        assert.deepEqual(run.outcomes.map((o) => o.outcome), ['cancelled']);
      },
    );
  });

  it('bad input fails at once as InvalidInputError, before any activity', async () => {
    const { run, failure } = await exportWith({}, { ...INPUT, bucket: 'Not A Bucket' });
    assert.equal(failure?.type, 'InvalidInputError');
    assert.equal(failure?.category, ApplicationFailureCategory.BENIGN);
    assert.deepEqual(run.calls, []);
  });
});
