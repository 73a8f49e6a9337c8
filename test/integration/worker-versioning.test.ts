/**
 * A rolling deploy with Worker Deployment versioning (MZ_S3_EXPORT_BUILD_ID): version v1 is made current and runs
 * an export pinned to it; v2 starts beside it and is made current; the next export runs on v2.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { VENV_BIN } from '../../local/stack';
import type { BulkExportResult } from '../../common/export/types';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { eventually, exportInput, startExport } from '../helpers/export-run';
import type { TestStack } from '../helpers/stack';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

describe('rolling deploys with worker deployment versions', function () {
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));

  it('runs are pinned to the version that was current when they started', async function () {
    this.timeout(240_000);
    const deploymentName = `mz-s3-export-test-${randomUUID().slice(0, 6)}`;
    const queue = `mz-s3-export-versioned-${randomUUID().slice(0, 6)}`;
    const workers: WorkerProcess[] = [];
    const startVersion = async (buildId: string) => {
      const env = { ...stack.env, TEMPORAL_TASK_QUEUE: queue, MZ_S3_EXPORT_BUILD_ID: buildId, MZ_S3_EXPORT_DEPLOYMENT_NAME: deploymentName };
      const w = await startWorkerProcess(env, { logDir: stack.logDir, name: `worker-${deploymentName}-${buildId}` });
      workers.push(w);
      // The version exists once its worker has polled; then it can be made current.
      await eventually(
        `version ${buildId} to become current`,
        async () => {
          await promisify(execFile)(path.join(VENV_BIN, 'temporal'), [
            'worker', 'deployment', 'set-current-version', '--deployment-name', deploymentName, '--build-id', buildId,
            '--address', stack.info.temporalAddress, '--namespace', 'default', '--yes',
          ]);
          return true;
        },
        60_000,
      );
    };
    const runOn = async () => {
      const handle = await startExport(stack, exportInput(conn, { object: 'public.order_totals', format: 'csv' }), { taskQueue: queue });
      const result = (await handle.result()) as BulkExportResult;
      const info = (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
      return { result, buildId: info?.deploymentVersion?.buildId, deployment: info?.deploymentVersion?.deploymentName, behavior: info?.behavior };
    };
    try {
      await startVersion('v1');
      const first = await runOn();
      assert.equal(first.buildId, 'v1');
      assert.equal(first.deployment, deploymentName);
      assert.equal(first.behavior, 1, 'PINNED');

      await startVersion('v2');
      const second = await runOn();
      assert.equal(second.buildId, 'v2');
      assert.ok(second.result.rows > 0);
    } finally {
      for (const w of workers) await w.stop();
    }
  });
});
