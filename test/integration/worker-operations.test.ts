/**
 * Operating the worker: its HTTP endpoint (/readyz, /healthz, /metrics with export outcomes, rows, bytes and
 * freshness), the SDK's own Prometheus endpoint, JSON-only logs, the prebuilt workflow bundle, and two workers
 * sharing a task queue where the one running an export's COPY is killed and the other finishes it.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { freePort } from '../../local/processes';
import type { BulkExportResult } from '../../common/export/types';
import type { SnapshotSetResult } from '../../common/export/snapshot-set';
import { setInput, startSet } from '../helpers/snapshot-set-run';
import { buildWorkflowBundle, prebuiltBundle } from '../../worker/workflow-bundle';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { alterSystem, eventually, exportInput, startExport } from '../helpers/export-run';
import type { TestStack } from '../helpers/stack';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

describe('operating the worker', function () {
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));

  const metricValue = (text: string, name: string, labels: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };

  it('serves readiness, health and metrics of export outcomes and freshness; the SDK serves its own; logs are JSON', async function () {
    this.timeout(240_000);
    if (!('codePath' in prebuiltBundle())) await buildWorkflowBundle(); // npm test builds it before the suites
    const [httpPort, sdkPort] = [await freePort(), await freePort()];
    const queue = 'mz-s3-export-ops';
    const worker = await startWorkerProcess(
      {
        ...stack.env,
        TEMPORAL_TASK_QUEUE: queue,
        MZ_S3_EXPORT_HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
        MZ_S3_EXPORT_SDK_METRICS_ADDRESS: `127.0.0.1:${sdkPort}`,
        LOG_LEVEL: 'info',
      },
      { logDir: stack.logDir, name: 'worker-ops' },
    );
    try {
      const base = `http://127.0.0.1:${httpPort}`;
      const ready = await eventually('the worker to be ready', async () => (await fetch(`${base}/readyz`)).ok);
      assert.ok(ready);
      assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { state: 'RUNNING' });

      const ok = exportInput(conn, { object: 'public.orders', format: 'csv' });
      const bad = exportInput(conn, { object: 'public.no_such_table', format: 'csv' });
      const result = (await (await startExport(stack, ok, { taskQueue: queue })).result()) as BulkExportResult;
      await assert.rejects((await startExport(stack, bad, { taskQueue: queue })).result());
      const set = setInput(conn, [{ name: `m-${ok.exportName}`, object: 'public.orders', format: 'csv' }], { logicalTime: '2024-01-01T00:00:00Z' });
      const setResult = (await (await startSet(stack, set, { taskQueue: queue })).result()) as SnapshotSetResult;

      const metrics = await eventually('the failed export to be counted', async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        const counted = metricValue(text, 'mz_s3_export_exports_total', `export="${bad.exportName}",outcome="failed"`) === 1;
        return counted && metricValue(text, 'mz_s3_export_exports_total', `export="${set.setName}",outcome="succeeded"`) === 1 && text;
      });
      assert.equal(metricValue(metrics, 'mz_s3_export_exports_total', `export="${ok.exportName}",outcome="succeeded"`), 1);
      assert.equal(metricValue(metrics, 'mz_s3_export_published_rows_total', `export="${ok.exportName}"`), result.rows);
      assert.equal(metricValue(metrics, 'mz_s3_export_published_bytes_total', `export="${ok.exportName}"`), result.bytes);
      const age = metricValue(metrics, 'mz_s3_export_seconds_since_last_publication', `export="${ok.exportName}"`)!;
      assert.ok(age >= 0 && age < 60, `freshness ${age}`);
      assert.equal(metricValue(metrics, 'mz_s3_export_seconds_since_last_publication', `export="${bad.exportName}"`), undefined, 'no publication, no freshness');
      assert.match(metrics, /^mz_s3_export_worker_ready 1$/m);

      // Freshness per export and per set: the newest publication's logical time, its Materialize timestamp, the lag.
      assert.equal(metricValue(metrics, 'mz_s3_export_newest_logical_time_seconds', `export="${ok.exportName}"`), Date.parse(result.logicalTime) / 1000);
      assert.equal(metricValue(metrics, 'mz_s3_export_newest_materialize_timestamp_seconds', `export="${ok.exportName}"`), Number(result.materialize!.timestamp) / 1000);
      assert.equal(metricValue(metrics, 'mz_s3_export_newest_logical_time_seconds', `export="${set.setName}"`), Date.parse('2024-01-01T00:00:00Z') / 1000);
      assert.equal(metricValue(metrics, 'mz_s3_export_newest_materialize_timestamp_seconds', `export="${set.setName}"`), Number(setResult.materialize.timestamp) / 1000);
      const behind = metricValue(metrics, 'mz_s3_export_seconds_behind_schedule', `export="${set.setName}"`)!;
      assert.ok(Math.abs(behind - (Date.now() / 1000 - Date.parse('2024-01-01T00:00:00Z') / 1000)) < 120, `behind ${behind}`);
      // The set's member only staged: counted as a run, but its rows are published (and counted) by the set.
      assert.equal(metricValue(metrics, 'mz_s3_export_exports_total', `export="m-${ok.exportName}",outcome="succeeded"`), 1);
      assert.equal(metricValue(metrics, 'mz_s3_export_published_rows_total', `export="m-${ok.exportName}"`), undefined);
      assert.equal(metricValue(metrics, 'mz_s3_export_published_rows_total', `export="${set.setName}"`), setResult.rows);

      const sdk = await (await fetch(`http://127.0.0.1:${sdkPort}/metrics`)).text();
      assert.match(sdk, /^temporal_workflow_task_execution_latency\w*\{/m, 'workflow task latencies');
      assert.match(sdk, /^temporal_worker_task_slots_available\{/m, 'slots');

      const log = fs.readFileSync(worker.proc.logFile, 'utf8').trim().split('\n');
      for (const line of log) assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
      const started = log.map((l) => JSON.parse(l)).find((l) => l.msg === 'worker started');
      assert.match(started.workflowBundle, /^prebuilt .*dist\/workflow-bundle\.js/);
      // Started through bin/mz-s3-export-worker: V8's heap capped at the default 160 MiB old space plus young space.
      assert.ok(started.heapLimitMiB >= 160 && started.heapLimitMiB < 200, `heap limit ${started.heapLimitMiB} MiB`);
      assert.ok(!log.some((l) => /asset workflow-bundle|webpack/i.test(l)), 'no webpack build at start');
    } finally {
      await worker.stop();
    }
  });

  it('two workers share a task queue; the one running the COPY is killed and the other finishes the export', async function () {
    this.timeout(240_000);
    const queue = 'mz-s3-export-pair';
    const env = { ...stack.env, TEMPORAL_TASK_QUEUE: queue };
    const workers: WorkerProcess[] = [
      await startWorkerProcess(env, { logDir: stack.logDir, name: 'worker-pair-a' }),
      await startWorkerProcess(env, { logDir: stack.logDir, name: 'worker-pair-b' }),
    ];
    await alterSystem(stack, 'ALTER SYSTEM SET mz_local_batch_delay_ms = 3000');
    try {
      const input = exportInput(conn, { object: 'public.orders', format: 'parquet' });
      const handle = await startExport(stack, input, { taskQueue: queue });
      // The worker identity is "<pid>@<host>": find the process whose COPY activity is running.
      const runner = await eventually('the COPY to start on one of the workers', async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const copy = pending.find((a) => /copy/i.test(a.activityType?.name ?? '') && a.lastWorkerIdentity);
        const pid = copy && Number(copy.lastWorkerIdentity!.split('@')[0]);
        return workers.find((w) => w.proc.pid === pid);
      });
      await runner.kill();
      await alterSystem(stack, 'ALTER SYSTEM RESET mz_local_batch_delay_ms');
      const result = (await handle.result()) as BulkExportResult;
      assert.equal(result.exportName, input.exportName);
      assert.ok(result.attempts.length >= 1);
      const survivor = workers.find((w) => w !== runner)!;
      assert.match(fs.readFileSync(survivor.proc.logFile, 'utf8'), /"worker started"/);
    } finally {
      await alterSystem(stack, 'ALTER SYSTEM RESET mz_local_batch_delay_ms');
      for (const w of workers) await w.stop();
    }
  });
});

