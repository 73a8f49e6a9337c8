/**
 * A moto server of a suite's own with IAM enforcement it can switch on (`POST /moto-api/reset-auth`), an admin
 * IAM user whose key mz-local and the test use (so both keep working while moto enforces), an mz-local talking
 * to it, and IAM users holding exactly a given policy. Used where a test must prove that an identity with a
 * documented policy is enough (moto then refuses any call the policy does not allow).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { Client as PgClient } from 'pg';
import { s3AccessPolicy, serializePolicy, statementsOf, type PolicyDocument, type PolicyStatement } from '../../common/iam-policies';
import { quoteIdent, quoteLiteral } from '../../common/sql/quoting';
import { freePort, stopProcessGroup } from '../../local/processes';
import { PROJECT_ROOT, startMoto, startMzLocal } from '../../local/stack';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

export const REGION = 'us-east-1';
/** moto's default account: the ARNs of what it creates name it. */
export const MOTO_ACCOUNT = '123456789012';

/**
 * A worker policy (common/export/worker-iam-policy.ts) adapted only where moto 5.2 cannot evaluate what AWS does,
 * each widening named here and in docs/security.md; nothing else changes:
 * - it evaluates no `s3:prefix` condition (a condition without a value counts as unmet): ListBucket without it;
 * - it authorizes DeleteObjects (the batch delete) against the bucket's ARN, not each key's: s3:DeleteObject on
 *   the bucket ARN too;
 * - it authorizes sns:Publish and events:PutEvents against the resource `*` (moto/core/responses.py
 *   call_action: only SQS, IAM and STS name the resource), so a statement naming the topic or bus never matches:
 *   those two actions on `*`. The action is still enforced (a policy without it is refused); sqs:SendMessage
 *   keeps its queue ARN, which moto checks.
 */
export function adaptForMoto(doc: PolicyDocument): PolicyDocument {
  const actions = (s: PolicyStatement) => [s.Action ?? []].flat();
  return {
    ...doc,
    Statement: statementsOf(doc).flatMap((s): PolicyStatement[] => {
      if (s.Condition?.StringLike?.['s3:prefix']) return [{ ...s, Condition: undefined }];
      if (actions(s).includes('sns:Publish') || actions(s).includes('events:PutEvents')) return [{ ...s, Resource: '*' }];
      const bucketArn = /^(arn:[a-z-]+:s3:::[^/]+)\//.exec([s.Resource ?? ''].flat()[0] ?? '')?.[1];
      if (bucketArn && actions(s).includes('s3:DeleteObject')) return [s, { Sid: `${s.Sid ?? ''}MotoBatchDelete`, Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: bucketArn }];
      return [s];
    }),
  };
}

export interface AccessKey {
  userName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface EnforcingAws {
  dir: string;
  endpoint: string;
  mzUrl: string;
  /** S3 and IAM clients with the admin key: they work whether or not moto enforces. */
  admin: { s3: S3Client; iam: IAMClient; key: AccessKey };
  enforce(on: boolean): Promise<void>;
  /** A new IAM user holding only `policy` (inline), and its access key. */
  userWith(policy: PolicyDocument, name?: string): Promise<AccessKey>;
  mz(): Promise<PgClient>;
  /**
   * What an export through this moto needs in mz-local: an access-key connection `connectionName` for an IAM user
   * holding the documented S3 access policy on bucket/prefix (moto enforces it on Materialize's writes too), and a
   * table `t (id int, name text)` of `rows` rows. Call before enforce(true) or after: the admin key creates them.
   */
  exportSource(opts: { connectionName: string; bucket: string; prefix: string; rows: number }): Promise<void>;
  /**
   * A worker process on the shared stack's Temporal (`stackEnv`) that reaches this moto and mz-local, with `key`
   * as its own AWS identity: while moto enforces, any call that identity's policy does not allow is refused.
   * Stopped by stop().
   */
  startWorker(stackEnv: Record<string, string>, opts: { name: string; taskQueue: string; key: Pick<AccessKey, 'accessKeyId' | 'secretAccessKey'>; env?: Record<string, string> }): Promise<WorkerProcess>;
  stop(): Promise<void>;
}

export async function startEnforcingAws(name: string): Promise<EnforcingAws> {
  const dir = path.join(PROJECT_ROOT, '.local', `test-${name}-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  const pids: number[] = [];
  const moto = await startMoto(dir, await freePort());
  pids.push(moto.proc.pid);
  const endpoint = moto.endpoint;
  const userWith = async (iam: IAMClient, policy: PolicyDocument, userName = `user-${randomUUID().slice(0, 8)}`): Promise<AccessKey> => {
    await iam.send(new CreateUserCommand({ UserName: userName }));
    await iam.send(new PutUserPolicyCommand({ UserName: userName, PolicyName: 'only-this', PolicyDocument: serializePolicy(policy) }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!;
    return { userName, accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
  };
  // Created while moto does not enforce yet (any key is accepted then); from then on every call uses its key.
  const bootstrap = new IAMClient({ region: REGION, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const adminKey = await userWith(bootstrap, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }, 'admin');
  const credentials = { accessKeyId: adminKey.accessKeyId, secretAccessKey: adminKey.secretAccessKey };
  const iam = new IAMClient({ region: REGION, endpoint, credentials });
  const s3 = new S3Client({ region: REGION, endpoint, credentials, forcePathStyle: true });
  // mz-local reads IAM (to enforce the documents as AWS would) and calls S3 with this key.
  const mz = await startMzLocal(dir, await freePort(), endpoint, {
    env: { AWS_ACCESS_KEY_ID: adminKey.accessKeyId, AWS_SECRET_ACCESS_KEY: adminKey.secretAccessKey },
  });
  pids.push(mz.proc.pid);

  const enforce = async (on: boolean) => {
    const r = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: on ? '0' : 'inf' });
    assert.equal(r.status, 200, await r.text());
  };
  const workers: WorkerProcess[] = [];
  return {
    dir,
    endpoint,
    mzUrl: mz.url,
    admin: { s3, iam, key: adminKey },
    enforce,
    userWith: (policy, userName) => userWith(iam, policy, userName),
    async mz() {
      const c = new PgClient({ connectionString: mz.url });
      await c.connect();
      return c;
    },
    async exportSource({ connectionName, bucket, prefix, rows }) {
      const materialize = await userWith(iam, s3AccessPolicy(bucket, prefix), 'materialize');
      const c = new PgClient({ connectionString: mz.url });
      await c.connect();
      try {
        await c.query(`CREATE SECRET materialize_s3_secret AS ${quoteLiteral(materialize.secretAccessKey)}`);
        await c.query(
          `CREATE CONNECTION ${quoteIdent(connectionName)} TO AWS (ACCESS KEY ID = ${quoteLiteral(materialize.accessKeyId)}, SECRET ACCESS KEY = SECRET materialize_s3_secret)`,
        );
        await c.query('CREATE TABLE t (id int, name text)');
        await c.query(`INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, ${rows}) g`);
      } finally {
        await c.end();
      }
    },
    async startWorker(stackEnv, { name, taskQueue, key, env = {} }) {
      const worker = await startWorkerProcess(
        {
          ...stackEnv,
          AWS_ENDPOINT_URL: endpoint,
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: key.accessKeyId,
          AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
          MZ_URL: mz.url,
          TEMPORAL_TASK_QUEUE: taskQueue,
          ...env,
        },
        { logDir: path.join(dir, 'logs'), name },
      );
      workers.push(worker);
      return worker;
    },
    async stop() {
      for (const w of workers) await w.stop();
      await enforce(false).catch(() => undefined);
      for (const pid of pids.reverse()) await stopProcessGroup(pid);
      if (!process.env.MZ_S3_EXPORT_KEEP_TEST_STATE) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
