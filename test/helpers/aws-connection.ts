/**
 * A working Materialize AWS connection for export tests, set up directly (not through the onboarding
 * workflow): bucket, least-privilege policy on bucket/prefix, role trusted by Materialize's principal with
 * the connection's external ID, CREATE CONNECTION, VALIDATE CONNECTION.
 */
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  DeletePolicyCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { placeholderTrustPolicy, s3AccessPolicy, serializePolicy, trustPolicy } from '../../common/iam-policies';
import { quoteIdent, quoteLiteral } from '../../common/sql/quoting';
import { sharedStack, type TestStack } from './stack';

export interface TestAwsConnection {
  bucket: string;
  prefix: string;
  connectionName: string;
  roleArn: string;
  externalId: string;
  cleanup(): Promise<void>;
}

export async function createTestAwsConnection(
  stack: TestStack,
  opts: { prefix?: string; principal?: string } = {},
): Promise<TestAwsConnection> {
  const suffix = randomUUID().slice(0, 8);
  const bucket = `export-test-${suffix}`;
  const prefix = opts.prefix ?? 'exports';
  const connectionName = `export_conn_${suffix}`;
  const principal = opts.principal ?? 'arn:aws:iam::123456789012:role/MaterializeConnection';
  const { s3, iam } = stack.aws;

  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const policy = await iam.send(
    new CreatePolicyCommand({
      PolicyName: `export-test-${suffix}`,
      PolicyDocument: serializePolicy(s3AccessPolicy(bucket, prefix)),
    }),
  );
  const RoleName = `export-test-${suffix}`;
  const role = await iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: serializePolicy(placeholderTrustPolicy(principal)) }));
  await iam.send(new AttachRolePolicyCommand({ RoleName, PolicyArn: policy.Policy!.Arn }));

  const mz = await stack.mz();
  try {
    await mz.query(`CREATE CONNECTION ${quoteIdent(connectionName)} TO AWS (ASSUME ROLE ARN = ${quoteLiteral(role.Role!.Arn!)})`);
    const { rows } = await mz.query(
      `SELECT awsc.external_id FROM mz_internal.mz_aws_connections awsc JOIN mz_connections c ON awsc.id = c.id WHERE c.name = ${quoteLiteral(connectionName)}`,
    );
    const externalId = String(rows[0].external_id);
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName, PolicyDocument: serializePolicy(trustPolicy(principal, externalId)) }));
    await validateWithRetry(mz, connectionName);
    return {
      bucket,
      prefix,
      connectionName,
      roleArn: role.Role!.Arn!,
      externalId,
      async cleanup() {
        const c = await stack.mz();
        await c.query(`DROP CONNECTION IF EXISTS ${quoteIdent(connectionName)}`).catch(() => undefined);
        await c.end();
        await emptyBucket(stack, bucket).catch(() => undefined);
        await iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn: policy.Policy!.Arn })).catch(() => undefined);
        await iam.send(new DeletePolicyCommand({ PolicyArn: policy.Policy!.Arn })).catch(() => undefined);
        await iam.send(new DeleteRoleCommand({ RoleName })).catch(() => undefined);
      },
    };
  } finally {
    await mz.end();
  }
}

/**
 * The hooks of a suite that exports through its own connection: before it, the shared stack (started by the
 * first suite that asks) and a fresh validated connection, handed to `ready`; after it, the connection's cleanup.
 */
export function useTestAwsConnection(ready: (suite: { stack: TestStack; conn: TestAwsConnection }) => void): void {
  let conn: TestAwsConnection | undefined;
  before(async function () {
    this.timeout(180_000);
    const stack = await sharedStack();
    conn = await createTestAwsConnection(stack);
    ready({ stack, conn });
  });
  after(async function () {
    this.timeout(30_000);
    await conn?.cleanup();
  });
}

/** IAM changes take a moment (mz-local can simulate the propagation delay): validate until it passes. */
async function validateWithRetry(mz: Awaited<ReturnType<TestStack['mz']>>, connectionName: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await mz.query(`VALIDATE CONNECTION ${quoteIdent(connectionName)}`);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function emptyBucket(stack: TestStack, bucket: string): Promise<void> {
  for (;;) {
    const listed = await stack.aws.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (!keys.length) return;
    await stack.aws.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}
