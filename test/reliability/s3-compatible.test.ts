/**
 * S3-compatible object storage end to end, with moto as the S3-compatible endpoint (docs/s3-compatible.md):
 * onboarding through a storage profile (Materialize secrets + an access-key connection with ENDPOINT and REGION,
 * no IAM, no VALIDATE, the probe COPY), exports verified and published with the profile's client, a key rotated
 * by onboarding again (ALTER SECRET, same connection), offboarding that drops the connection and its secrets.
 *
 * moto enforces IAM throughout, so an access key it does not know is refused: the worker's own AWS identity
 * (`testing`) would fail every call, which proves the worker uses the profile's key, and deleting the old key
 * after a rotation proves both the worker and Materialize use the new one. The store's key may do anything on
 * the bucket only (like a bucket-scoped R2 token or GCS HMAC key).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateAccessKeyCommand, DeleteAccessKeyCommand } from '@aws-sdk/client-iam';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { BulkExportInput, BulkExportResult } from '../../common/export/types';
import type { SnapshotSetInput, SnapshotSetResult } from '../../common/export/snapshot-set';
import type { ExpireInput, ExpireResult } from '../../common/retention/types';
import type { CompatibleOnboardResult, OffboardResult } from '../../common/onboarding/progress';
import { storageSecretNames } from '../../common/onboarding/sql';
import { startEnforcingAws, type AccessKey, type EnforcingAws } from '../helpers/enforcing-aws';
import { FAST_TUNING } from '../helpers/export-run';
import { sharedStack, type TestStack } from '../helpers/stack';
import { bulkExport, expireExports, offboardS3CompatibleConnection, onboardAwsConnection, onboardS3CompatibleConnection, snapshotSet } from '../../workflows';
import { findSecrets, findSecretsInFile } from './support/secret-scan';

describe('S3-compatible object storage through a storage profile, moto as the endpoint', function () {
  this.timeout(240_000);
  const id = randomUUID().slice(0, 8);
  const bucket = `compat-${id}`;
  const prefix = 'exports';
  const connectionName = `compat_${id}`;
  const taskQueue = `mz-s3-export-compat-${process.pid}`;
  let aws: EnforcingAws;
  let stack: TestStack;
  let credentialsFile: string;
  let key: AccessKey;
  const handles: WorkflowHandle[] = [];

  const writeCredentials = (k: { accessKeyId: string; secretAccessKey: string }) =>
    fs.writeFileSync(credentialsFile, `[default]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`, { mode: 0o600 });

  async function run<T>(workflow: (input: never) => Promise<unknown>, input: object): Promise<T> {
    const handle = await stack.temporal.workflow.start(workflow as typeof bulkExport, {
      taskQueue,
      workflowId: `compat-${randomUUID()}`,
      args: [input as BulkExportInput],
      workflowExecutionTimeout: '3 minutes',
    });
    handles.push(handle);
    return (await handle.result()) as T;
  }

  const onboardInput = { storageProfile: 'emu', bucket, prefix, connectionName, retry: { initialIntervalSeconds: 0.2 } };
  const exportInput = (fields: Partial<BulkExportInput>): BulkExportInput => ({
    exportName: `e-${randomUUID().slice(0, 8)}`,
    connectionName,
    bucket,
    prefix,
    storageProfile: 'emu',
    object: 't',
    format: 'csv',
    tuning: FAST_TUNING,
    ...fields,
  });
  const keysUnder = async (p: string) =>
    ((await aws.admin.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: p }))).Contents ?? []).map((o) => o.Key!);
  const failureOf = (promise: Promise<unknown>, what: string) =>
    promise.then(
      () => assert.fail(what),
      (e: WorkflowFailedError) => e.cause as Error,
    );
  /**
   * Activity failures in these runs' histories. While moto enforces IAM the worker's own AWS identity is refused,
   * so a run with none reached S3 only with the profile's key: nothing went to (or was read from) the default store.
   */
  const failedActivities = async (workflowIds: string[]) => {
    const failed: string[] = [];
    for (const wid of workflowIds) {
      const history = await stack.temporal.workflow.getHandle(wid).fetchHistory();
      for (const e of history.events ?? []) if (e.activityTaskFailedEventAttributes) failed.push(`${wid}: ${e.activityTaskFailedEventAttributes.failure?.message}`);
    }
    return failed;
  };

  before(async () => {
    stack = await sharedStack();
    aws = await startEnforcingAws('s3compat');
    await aws.admin.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    key = await aws.userWith(
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }] },
      'store',
    );
    credentialsFile = path.join(aws.dir, 'store-credentials');
    writeCredentials(key);
    const mz = await aws.mz();
    try {
      await mz.query('CREATE TABLE t (id int, name text)');
      await mz.query("INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 300) g");
    } finally {
      await mz.end();
    }
    await aws.enforce(true);
    await aws.startWorker(stack.env, {
      name: 'compat-worker',
      taskQueue,
      // The worker's own AWS identity: a key moto does not know, refused for every call while it enforces.
      key: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      env: {
        MZ_S3_EXPORT_STORAGE_EMU_ENDPOINT: aws.endpoint,
        MZ_S3_EXPORT_STORAGE_EMU_REGION: 'us-east-1',
        MZ_S3_EXPORT_STORAGE_EMU_CREDENTIALS_FILE: credentialsFile,
      },
    });
  });

  after(async () => {
    await aws?.stop();
  });

  let onboarded: CompatibleOnboardResult;

  it('onboarding creates the secrets and an access-key connection with ENDPOINT and REGION, skips IAM and VALIDATE, and proves access with the probe', async () => {
    onboarded = await run<CompatibleOnboardResult>(onboardS3CompatibleConnection, onboardInput);
    const secrets = storageSecretNames(connectionName);
    assert.deepEqual(onboarded.secrets, [secrets.accessKeyId, secrets.secretAccessKey]);
    assert.equal(onboarded.endpoint, aws.endpoint);
    assert.equal(onboarded.region, 'us-east-1');
    assert.equal(onboarded.probe.rows, 1);
    assert.equal(onboarded.probe.objectsRemoved, onboarded.probe.objectsWritten);
    assert.deepEqual(await keysUnder(`${prefix}/_probe/`), []);
    // Its progress query names this workflow, not the AWS one its steps engine also serves.
    const progress = await handles.at(-1)!.query<{ workflow: string; steps: string[] }>('progress');
    assert.equal(progress.workflow, 'onboardS3CompatibleConnection');
    assert.deepEqual(progress.steps, ['validate-input', 'preflight', 'secrets', 'connection', 'probe']);
    const mz = await aws.mz();
    try {
      const { rows } = await mz.query(
        `SELECT a.endpoint, a.region, a.access_key_id, a.assume_role_arn, s1.name AS id_secret, s2.name AS key_secret
           FROM mz_connections c JOIN mz_internal.mz_aws_connections a ON a.id = c.id
           JOIN mz_secrets s1 ON s1.id = a.access_key_id_secret_id JOIN mz_secrets s2 ON s2.id = a.secret_access_key_secret_id
          WHERE c.name = '${connectionName}'`,
      );
      assert.deepEqual(rows, [{ endpoint: aws.endpoint, region: 'us-east-1', access_key_id: null, assume_role_arn: null, id_secret: secrets.accessKeyId, key_secret: secrets.secretAccessKey }]);
    } finally {
      await mz.end();
    }
  });

  it('exports are verified and published with the profile’s client: CSV, and Parquet with its footers read', async () => {
    const csv = await run<BulkExportResult>(bulkExport, exportInput({ format: 'csv', csvHeader: true }));
    assert.equal(csv.rows, 300);
    const parquet = await run<BulkExportResult>(bulkExport, exportInput({ format: 'parquet' }));
    assert.equal(parquet.rows, 300);
    for (const r of [csv, parquet]) {
      const keys = await keysUnder(`${prefix}/${r.exportName}/`);
      assert.ok(keys.includes(r.manifestKey) && keys.some((k) => k.endsWith('/_SUCCESS')) && keys.includes(`${prefix}/${r.exportName}/_latest.json`), keys.join(' '));
    }
  });

  const setName = `set-${id}`;
  const setInput = (fields: Partial<SnapshotSetInput> = {}): SnapshotSetInput => ({
    setName,
    connectionName,
    bucket,
    prefix,
    storageProfile: 'emu',
    logicalTime: '2024-05-01T00:00:00Z',
    members: [
      { name: 'rows', object: 't', format: 'csv' },
      { name: 'names', query: 'SELECT name FROM t', format: 'parquet' },
    ],
    tuning: FAST_TUNING,
    ...fields,
  });

  it('a snapshot set exports its members and writes its claims, set manifest, _SUCCESS and _latest.json in the profile’s store', async () => {
    const r = await run<SnapshotSetResult>(snapshotSet, setInput());
    assert.deepEqual(r.members.map((m) => [m.name, m.rows]), [['rows', 300], ['names', 300]]);
    const keys = await keysUnder(`${prefix}/${setName}/`);
    const folder = `${prefix}/${setName}/20240501T000000.000Z`;
    for (const k of [r.manifestKey, `${folder}/attempt-001/_SUCCESS`, `${folder}/_claims/publication.json`, `${prefix}/${setName}/_latest.json`])
      assert.ok(keys.includes(k), `${k} in ${keys.join(' ')}`);
    for (const m of r.members) assert.ok(keys.includes(m.manifest.replace(`s3://${bucket}/`, '')), `${m.manifest} in the store`);
    const memberRuns = r.members.map((m) => `${r.workflowId}/${m.name}/${r.setAttempts}`);
    assert.deepEqual(await failedActivities([r.workflowId, ...memberRuns]), []);
  });

  it('a set without the profile reaches S3 with the worker’s own identity (refused here); with an unknown profile it fails before writing', async () => {
    const withoutProfile = await failureOf(run(snapshotSet, setInput({ setName: `${setName}-aws`, storageProfile: undefined })), 'a set with the worker identity moto does not know');
    assert.match(withoutProfile.message, /InvalidAccessKeyId|not valid|does not exist|InvalidClientTokenId|security token/i);
    const unknown = await failureOf(run(snapshotSet, setInput({ setName: `${setName}-nope`, storageProfile: 'nope' })), 'a set with an unknown profile');
    assert.match(unknown.message, /unknown storage profile "nope": set MZ_S3_EXPORT_STORAGE_NOPE_ENDPOINT/);
    assert.deepEqual(await keysUnder(`${prefix}/${setName}-nope/`), []);
  });

  it('retention plans and deletes in the profile’s store: the older logical time of the set goes with its members’ folders', async () => {
    await run<SnapshotSetResult>(snapshotSet, setInput({ logicalTime: '2024-05-02T00:00:00Z' }));
    const expiry: ExpireInput = { targets: [{ bucket, prefix, storageProfile: 'emu', name: setName, keepLast: 1 }], apply: true, recentWriteSeconds: 0 };
    const handlesBefore = handles.length;
    const r = await run<ExpireResult>(expireExports, expiry);
    assert.deepEqual(r.plans.map((p) => [p.storageProfile, p.delete.map((d) => d.key)]), [['emu', [`${prefix}/${setName}/20240501T000000.000Z`]]]);
    assert.equal(r.foldersDeleted, 1);
    const left = await keysUnder(`${prefix}/${setName}/`);
    assert.deepEqual(left.filter((k) => k.includes('20240501')), []);
    assert.ok(left.some((k) => k.startsWith(`${prefix}/${setName}/20240502T000000.000Z/`)) && left.some((k) => k.includes('/members/rows/20240502')), left.join(' '));
    assert.deepEqual(await failedActivities(handles.slice(handlesBefore).map((h) => h.workflowId)), []);
    const unknown = await failureOf(run(expireExports, { ...expiry, targets: [{ ...expiry.targets[0], storageProfile: 'nope' }] }), 'expired with an unknown profile');
    assert.match(unknown.message, /unknown storage profile "nope"/);
  });

  it('onboarding again with a rotated key updates the secrets, keeps the connection, and both Materialize and the worker use the new key', async () => {
    const fresh = (await aws.admin.iam.send(new CreateAccessKeyCommand({ UserName: key.userName }))).AccessKey!;
    writeCredentials({ accessKeyId: fresh.AccessKeyId!, secretAccessKey: fresh.SecretAccessKey! });
    const again = await run<CompatibleOnboardResult>(onboardS3CompatibleConnection, onboardInput);
    assert.equal(again.connectionId, onboarded.connectionId);
    assert.deepEqual(again.changes, [`secrets ${again.secrets.join(', ')}: set to storage profile emu's current access key (ALTER SECRET; the connection reads it at its next use)`]);
    // The old key is gone: an export now works only if Materialize and the worker both sign with the new one.
    await aws.admin.iam.send(new DeleteAccessKeyCommand({ UserName: key.userName, AccessKeyId: key.accessKeyId }));
    const r = await run<BulkExportResult>(bulkExport, exportInput({ format: 'csv' }));
    assert.equal(r.rows, 300);
    key = { ...key, accessKeyId: fresh.AccessKeyId!, secretAccessKey: fresh.SecretAccessKey! };
  });

  it('bad input says what to change: an unknown profile, AWS-only fields with a profile', async () => {
    const unknown = await run<unknown>(onboardS3CompatibleConnection, { ...onboardInput, storageProfile: 'nope' }).then(
      () => assert.fail('onboarded with an unknown profile'),
      (e: WorkflowFailedError) => e.cause as Error,
    );
    assert.match(unknown.message, /unknown storage profile "nope": set MZ_S3_EXPORT_STORAGE_NOPE_ENDPOINT, MZ_S3_EXPORT_STORAGE_NOPE_REGION and its credentials on the worker \(known: emu\)/);
    const mixed = await run<unknown>(onboardS3CompatibleConnection, { ...onboardInput, roleName: 'r', policyName: 'p' }).then(
      () => assert.fail('onboarded with a role and a profile'),
      (e: WorkflowFailedError) => e.cause as Error,
    );
    assert.match(mixed.message, /roleName: applies to AWS S3 only; with storageProfile .* remove it/);
    const wrongWorkflow = await run<unknown>(onboardAwsConnection, { ...onboardInput, roleName: 'r', policyName: 'p' }).then(
      () => assert.fail('the AWS onboarding took a storage profile'),
      (e: WorkflowFailedError) => e.cause as Error,
    );
    assert.match(wrongWorkflow.message, /storageProfile: names an S3-compatible store: start onboardS3CompatibleConnection/);
    const exportUnknown = await run<unknown>(bulkExport, exportInput({ storageProfile: 'nope', maxAttempts: 1 })).then(
      () => assert.fail('exported with an unknown profile'),
      (e: WorkflowFailedError) => e.cause as Error,
    );
    assert.match(exportUnknown.message, /unknown storage profile "nope"/);
    // The same export without the profile goes to S3 with the worker's own AWS identity, which moto refuses:
    // what made the others work was the profile's key.
    const withoutProfile = await run<unknown>(bulkExport, exportInput({ storageProfile: undefined, maxAttempts: 1 })).then(
      () => assert.fail('exported with the worker identity moto does not know'),
      (e: WorkflowFailedError) => e.cause as Error,
    );
    assert.match(withoutProfile.message, /InvalidAccessKeyId|not valid|does not exist|InvalidClientTokenId|security token/i);
  });

  it('no access key value reaches a history, a result or the worker log', async () => {
    const values = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    for (const h of handles) assert.deepEqual(findSecrets(await h.fetchHistory(), values, h.workflowId), []);
    assert.deepEqual(findSecretsInFile(path.join(aws.dir, 'logs', 'compat-worker.log'), values), []);
  });

  it('offboarding drops the connection and both secrets and, asked to, the data; the bucket stays', async () => {
    const r = await run<OffboardResult>(offboardS3CompatibleConnection, { storageProfile: 'emu', connectionName, deleteData: true, bucket, prefix });
    assert.equal(r.connectionDropped, true);
    assert.deepEqual(r.secretsDropped, Object.values(storageSecretNames(connectionName)).sort());
    assert.ok(r.objectsDeleted > 0);
    assert.deepEqual(await keysUnder(`${prefix}/`), []);
    const mz = await aws.mz();
    try {
      assert.deepEqual((await mz.query(`SELECT name FROM mz_secrets WHERE name LIKE '${connectionName}%'`)).rows, []);
      assert.deepEqual((await mz.query(`SELECT name FROM mz_connections WHERE name = '${connectionName}'`)).rows, []);
    } finally {
      await mz.end();
    }
    // Again: nothing left to remove.
    const again = await run<OffboardResult>(offboardS3CompatibleConnection, { storageProfile: 'emu', connectionName });
    assert.deepEqual(again.changes, []);
  });
});
