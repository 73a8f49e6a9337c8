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
import { quoteIdent, quoteLiteral } from '../../lib/sql';
import type { TestStack } from './stack';

export interface TestAwsConnection {
  bucket: string;
  prefix: string;
  connectionName: string;
  roleArn: string;
  externalId: string;
  cleanup(): Promise<void>;
}

const trustPolicy = (principal: string, externalId: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: principal },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': externalId } },
      },
    ],
  });

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
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: [`arn:aws:s3:::${bucket}/${prefix}/*`] },
          {
            Effect: 'Allow',
            Action: ['s3:ListBucket'],
            Resource: [`arn:aws:s3:::${bucket}`],
            Condition: { StringLike: { 's3:prefix': [`${prefix}/*`] } },
          },
        ],
      }),
    }),
  );
  const RoleName = `export-test-${suffix}`;
  const role = await iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: trustPolicy(principal, 'PENDING') }));
  await iam.send(new AttachRolePolicyCommand({ RoleName, PolicyArn: policy.Policy!.Arn }));

  const mz = await stack.mz();
  try {
    await mz.query(`CREATE CONNECTION ${quoteIdent(connectionName)} TO AWS (ASSUME ROLE ARN = ${quoteLiteral(role.Role!.Arn!)})`);
    const { rows } = await mz.query(
      `SELECT awsc.external_id FROM mz_internal.mz_aws_connections awsc JOIN mz_connections c ON awsc.id = c.id WHERE c.name = ${quoteLiteral(connectionName)}`,
    );
    const externalId = String(rows[0].external_id);
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName, PolicyDocument: trustPolicy(principal, externalId) }));
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
