/**
 * Exactly one publication per export name and logical time, whoever starts the runs (the Web UI accepts any
 * workflow id, so nothing stops two runs of one export and time): reproductions on the real local stack.
 *
 * - two runs of one name and logical time under different workflow ids: one attempt is published, the other run
 *   returns the winner's manifest, and the files of two COPYs never share a folder;
 * - many logical times of one export at once: `_latest.json` ends at the newest, never moved back;
 * - a re-run with another source: a ConflictError, not the old manifest;
 * - an attempt whose COPY finished after its run was terminated or cancelled (no sentinel left): its claim
 *   proves the folder is ours, and the run itself or a later run removes it.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { BulkExportResult } from '../../common/export/types';
import { classifyAttemptObjects } from '../../activities/export/manifest';
import { renderLogicalTime } from '../../common/export/paths';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { getJson, listKeys } from '../helpers/export-readback';
import { alterSystem, eventually, exportFailure, exportInput, startExport } from '../helpers/export-run';
import type { TestStack } from '../helpers/stack';

describe('reliability: exactly one publication per export name and logical time', function () {
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));
  afterEach(async () => {
    await alterSystem(stack, 'ALTER SYSTEM RESET mz_local_batch_delay_ms');
    await alterSystem(stack, 'ALTER SYSTEM RESET mz_local_ignore_cancel_requests');
  });

  const root = (exportName: string, folder: string) => `${conn.prefix}/${exportName}/${folder}/`;

  /** Every attempt folder under a logical time, with what it holds. */
  async function attemptFolders(exportName: string, folder: string) {
    const keys = await listKeys(stack, conn.bucket, root(exportName, folder));
    const byAttempt = new Map<string, string[]>();
    for (const k of keys) {
      const m = /\/(attempt-\d{3})\//.exec(k);
      if (m) byAttempt.set(m[1], [...(byAttempt.get(m[1]) ?? []), k]);
    }
    return [...byAttempt.entries()].map(([attempt, objs]) => {
      const l = classifyAttemptObjects(`${root(exportName, folder)}${attempt}`, objs.map((key) => ({ key, size: 0 })));
      return { attempt, l, sinkIds: [...new Set(l.dataFiles.map((d) => d.sinkId))] };
    });
  }

  async function settle<T>(handles: WorkflowHandle[]) {
    return Promise.allSettled(handles.map((h) => h.result() as Promise<T>));
  }

  it('two runs of one name and logical time under different workflow ids: one published attempt, the loser returns its manifest, no mixed files', async function () {
    this.timeout(180_000);
    // Both COPYs run for about a second, so the two runs overlap in every phase.
    await alterSystem(stack, 'ALTER SYSTEM SET mz_local_batch_delay_ms = 500');
    const trials = [1, 2, 3].map((n) => exportInput(conn, { object: 'public.orders', format: 'parquet', logicalTime: `2025-02-0${n}T00:00:00Z` }));
    const runs = await Promise.all(
      trials.flatMap((input) => [startExport(stack, input, { workflowId: `dup-a-${randomUUID()}` }), startExport(stack, input, { workflowId: `dup-b-${randomUUID()}` })]),
    );
    const outcomes = await settle<BulkExportResult>(runs);
    for (const [t, input] of trials.entries()) {
      const pair = outcomes.slice(2 * t, 2 * t + 2);
      const folders = await attemptFolders(input.exportName, renderLogicalTime(input.logicalTime!));
      const published = folders.filter((f) => f.l.success);
      const summary = folders.map((f) => `${f.attempt}: ${f.l.dataFiles.length} files of ${f.sinkIds.join('+') || 'none'}${f.l.success ? ', _SUCCESS' : ''}`).join('; ');
      assert.equal(published.length, 1, `trial ${t + 1}: ${published.length} published attempts (${summary})`);
      for (const f of folders) assert.ok(f.sinkIds.length <= 1, `trial ${t + 1}: files of two COPYs mixed in ${f.attempt} (${summary})`);
      // The loser cleaned its own attempt: only the published folder holds data files.
      assert.deepEqual(folders.filter((f) => f.l.dataFiles.length && !f.l.success).map((f) => f.attempt), [], `trial ${t + 1}: unpublished files left (${summary})`);
      const results = pair.map((o) => {
        assert.equal(o.status, 'fulfilled', `trial ${t + 1}: a run failed: ${o.status === 'rejected' ? (o.reason as Error).message : ''}`);
        return (o as PromiseFulfilledResult<BulkExportResult>).value;
      });
      assert.equal(results[0].manifest, results[1].manifest, `trial ${t + 1}: the runs name different manifests`);
      assert.ok(results[0].manifest.includes(`/${published[0].attempt}/`));
      assert.deepEqual(results.map((r) => r.reusedExisting).sort(), [false, true], `trial ${t + 1}: exactly one run published`);
      assert.deepEqual(results.map((r) => r.rows), [1000, 1000]);
    }
  });

  it('_latest.json only moves forward: 8 logical times of one export at once end at the newest', async function () {
    this.timeout(180_000);
    const base = exportInput(conn, { object: 'public.order_totals', format: 'csv' });
    const times = Array.from({ length: 8 }, (_, i) => `2025-03-0${i + 1}T00:00:00.000Z`);
    const handles = await Promise.all(times.map((logicalTime) => startExport(stack, { ...base, logicalTime })));
    const results = (await settle<BulkExportResult>(handles)).map((o, i) => {
      assert.equal(o.status, 'fulfilled', `${times[i]}: ${o.status === 'rejected' ? (o.reason as Error).message : ''}`);
      return (o as PromiseFulfilledResult<BulkExportResult>).value;
    });
    const latest = await getJson<{ logicalTime: string; manifest: string }>(stack, conn.bucket, `${conn.prefix}/${base.exportName}/_latest.json`);
    assert.equal(latest.logicalTime, times[7], `_latest.json names ${latest.logicalTime}, not the newest ${times[7]}`);
    assert.equal(latest.manifest, results[7].manifest);
    assert.equal(results[7].latestUpdated, true);
  });

  it('a re-run of a published name and logical time with another object or query fails with a ConflictError', async function () {
    this.timeout(120_000);
    const input = exportInput(conn, { object: 'public.order_totals', format: 'csv', logicalTime: '2025-04-01T00:00:00Z' });
    const first = (await (await startExport(stack, input)).result()) as BulkExportResult;
    const before = await listKeys(stack, conn.bucket, `${conn.prefix}/${input.exportName}/`);

    for (const other of [{ object: 'public.orders' }, { object: undefined, query: 'SELECT * FROM public.order_totals WHERE false' }]) {
      const failure = await exportFailure(await startExport(stack, { ...input, ...other }));
      assert.equal(failure.type, 'ConflictError', failure.message);
      assert.match(failure.message, /already published .* from another source/);
      assert.ok(failure.message.includes(first.manifest), failure.message);
    }
    assert.deepEqual(await listKeys(stack, conn.bucket, `${conn.prefix}/${input.exportName}/`), before, 'the conflicting runs wrote nothing');
    // The same source is still a no-op returning the published manifest.
    const again = (await (await startExport(stack, input)).result()) as BulkExportResult;
    assert.equal(again.manifest, first.manifest);
    assert.equal(again.reusedExisting, true);
  });

  /** Starts an export whose COPY takes about 3 s and ignores cancel requests; returns once its sentinel is there. */
  async function startSlowUncancellable(logicalTime: string) {
    await alterSystem(stack, 'ALTER SYSTEM SET mz_local_batch_delay_ms = 1500');
    await alterSystem(stack, 'ALTER SYSTEM SET mz_local_ignore_cancel_requests = true');
    const input = exportInput(conn, { object: 'public.orders', format: 'csv', logicalTime });
    const handle = await startExport(stack, input);
    const attempt1 = `${root(input.exportName, renderLogicalTime(logicalTime))}attempt-001`;
    await eventually('the COPY to start writing', async () => (await listKeys(stack, conn.bucket, `${attempt1}/`)).some((k) => k.endsWith('-INCOMPLETE')));
    return { input, handle, attempt1 };
  }

  /** Waits until the COPY in the folder has finished on its own: sentinel gone, data files there. */
  async function copyFinishedWithoutRun(attempt1: string) {
    await eventually('the orphaned COPY to finish', async () => {
      const keys = await listKeys(stack, conn.bucket, `${attempt1}/`);
      return !keys.some((k) => k.endsWith('-INCOMPLETE')) && keys.some((k) => /-batch-/.test(k));
    }, 30_000);
  }

  it('a COPY that finished after its run was terminated: a later run of that logical time removes its files once the folder is quiet', async function () {
    this.timeout(120_000);
    const { input, handle, attempt1 } = await startSlowUncancellable('2025-05-01T00:00:00Z');
    await handle.terminate('test: the run is gone while its COPY goes on');
    await copyFinishedWithoutRun(attempt1);
    await alterSystem(stack, 'ALTER SYSTEM RESET mz_local_batch_delay_ms');
    await alterSystem(stack, 'ALTER SYSTEM RESET mz_local_ignore_cancel_requests');

    const later = (await (await startExport(stack, input)).result()) as BulkExportResult;
    assert.equal(later.reusedExisting, false);
    assert.match(later.outputPath, /\/attempt-002\/$/);
    assert.deepEqual(await listKeys(stack, conn.bucket, `${attempt1}/`), [], 'the orphaned attempt was not cleaned');
  });

  it('a COPY that finished after its run was cancelled: the cancelled run removes what it wrote', async function () {
    this.timeout(120_000);
    const { handle, attempt1 } = await startSlowUncancellable('2025-05-02T00:00:00Z');
    await handle.cancel();
    const failure = await exportFailure(handle);
    assert.equal(failure.name, 'CancelledFailure');
    await eventually('the cancelled run to remove its attempt', async () => (await listKeys(stack, conn.bucket, `${attempt1}/`)).length === 0, 30_000);
  });
});
