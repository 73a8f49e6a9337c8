/**
 * The worker's own AWS permissions for exports (docs/operations.md, common/export/worker-iam-policy.ts) are
 * enough for whole bulkExport runs, including a failed attempt's cleanup, and nothing outside the export prefix
 * is reachable with them. A moto of the suite's own enforces IAM throughout; the worker's key belongs to an IAM
 * user holding only the generated policy; Materialize (mz-local) writes with an access-key connection of a
 * second user holding only the guide's policy for the prefix.
 *
 * What moto cannot check, and how the tested policy adapts (nothing else is widened): it evaluates no
 * `s3:prefix` condition (a condition without a value counts as unmet), so ListBucket is granted on the bucket
 * without it; and it authorizes DeleteObjects (the batch delete) against the bucket's ARN rather than each key's,
 * so s3:DeleteObject is also granted on the bucket ARN. Object reads and writes are checked against
 * `<bucket>/<prefix>/*` exactly as AWS checks them.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { BulkExportResult } from '../../common/export/types';
import { workerExportPolicy } from '../../common/export/worker-iam-policy';
import { adaptForMoto, startEnforcingAws, type EnforcingAws } from '../helpers/enforcing-aws';
import { exportFailure, FAST_TUNING, startExport, eventually } from '../helpers/export-run';
import { sharedStack, type TestStack } from '../helpers/stack';
import { progressQuery } from '../../workflows/export-messages';

/** The generated policy, adapted only where moto cannot evaluate what AWS does (see the header). */
const testedPolicy = (bucket: string, prefix: string) => adaptForMoto(workerExportPolicy({ bucket, prefix }));

describe("the worker's documented IAM permissions for exports, enforced by moto", function () {
  this.timeout(240_000);
  const bucket = `authz-export-${randomUUID().slice(0, 8)}`;
  const prefix = 'exports';
  const connectionName = 'authz_export_conn';
  const taskQueue = `mz-s3-export-authz-${process.pid}`;
  let aws: EnforcingAws;
  let stack: TestStack;

  before(async () => {
    stack = await sharedStack();
    aws = await startEnforcingAws('authz-export');
    await aws.admin.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const workerKey = await aws.userWith(testedPolicy(bucket, prefix), 'export-worker');
    await aws.exportSource({ connectionName, bucket, prefix, rows: 500 });
    await aws.enforce(true);
    await aws.startWorker(stack.env, { name: 'authz-export-worker', taskQueue, key: workerKey });
  });

  after(async () => {
    await aws?.stop();
  });

  const input = (fields: object) => ({
    exportName: `e-${randomUUID().slice(0, 8)}`,
    connectionName,
    bucket,
    prefix,
    object: 't',
    format: 'csv' as const,
    tuning: FAST_TUNING,
    ...fields,
  });

  it('a run whose first COPY fails (cleanup), then succeeds (verification, manifest, _SUCCESS, _latest.json), needs nothing more', async () => {
    const mz = await aws.mz();
    try {
      await mz.query('ALTER SYSTEM SET mz_local_fail_after_files = 1');
      const handle = await startExport(stack, input({ logicalTime: '2024-08-01T00:00:00Z', tuning: { ...FAST_TUNING, retryBackoffSeconds: 3 } }), { taskQueue });
      const failed = await eventually('attempt 1 to fail and be cleaned', async () => {
        const p = await handle.query(progressQuery);
        return p.phase === 'waiting-to-retry' && p.attempts[0];
      });
      assert.equal(failed.outcome, 'failed');
      assert.ok((failed.cleanedFiles ?? 0) >= 2, `the failed attempt's file and sentinel were removed: ${JSON.stringify(failed)}`);
      await mz.query('ALTER SYSTEM RESET mz_local_fail_after_files');
      const result = (await handle.result()) as BulkExportResult;
      assert.deepEqual(result.attempts.map((a) => a.outcome), ['failed', 'succeeded']);
      assert.equal(result.rows, 500);
      assert.equal(result.latestUpdated, true);
      const keys = ((await aws.admin.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/${result.exportName}/` }))).Contents ?? []).map((o) => o.Key!);
      assert.ok(keys.includes(result.manifestKey), `${result.manifestKey} in ${keys}`);
      assert.ok(keys.some((k) => k.endsWith('/attempt-002/_SUCCESS')));
      assert.ok(keys.includes(`${prefix}/${result.exportName}/_latest.json`));
      assert.ok(!keys.some((k) => k.includes('/attempt-001/')), `attempt 1 left nothing: ${keys}`);
    } finally {
      await mz.query('ALTER SYSTEM RESET mz_local_fail_after_files').catch(() => undefined);
      await mz.end();
    }
  });

  it('outside the export prefix the same worker is refused by S3, and the run fails at once saying what to grant', async () => {
    // The bucket's other prefix exists (written by someone else); the worker may not even read it.
    await aws.admin.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'elsewhere/readme.txt', Body: 'x' }));
    const handle = await startExport(stack, input({ prefix: 'elsewhere', maxAttempts: 1 }), { taskQueue });
    const failure = await exportFailure(handle);
    assert.equal(failure.type, 'UserFixableError');
    assert.match(failure.message, /^(cannot (read|write|list)|could not claim) s3:\/\/authz-export-\w+\/elsewhere\/.*AccessDenied.*To fix: .*s3:PutObject/);
  });
});
