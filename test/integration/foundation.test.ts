/**
 * The local stack is real: a workflow runs on the dev server through the worker process, and the S3, IAM and
 * STS calls the project needs work against moto through the same SDK clients the activities use.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  DeletePolicyCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { serializePolicy, trustPolicy } from '../../common/iam-policies';
import { sharedStack, type TestStack } from '../helpers/stack';
import { healthCheck } from '../../workflows';

describe('foundation: the local stack', function () {
  let stack: TestStack;
  before(async function () {
    this.timeout(180_000);
    stack = await sharedStack();
  });

  it('runs a workflow end to end on the dev server through the worker, which reaches S3, STS and mz-local', async () => {
    const report = await stack.temporal.workflow.execute(healthCheck, {
      taskQueue: stack.taskQueue,
      workflowId: `health-${randomUUID()}`,
      args: [{}],
      workflowExecutionTimeout: '1 minute',
    });
    assert.equal(report.s3.ok, true, JSON.stringify(report));
    assert.equal(report.sts.ok, true, JSON.stringify(report));
    assert.equal(report.materialize.ok, true, JSON.stringify(report));
    assert.equal(report.materialize.target.host, '127.0.0.1');
    assert.deepEqual(Object.keys(report.materialize.target).sort(), ['database', 'host', 'port'], 'host, port and database only');
  });

  it('reports an unknown Materialize profile as a failure naming the variable to set', async () => {
    const report = await stack.temporal.workflow.execute(healthCheck, {
      taskQueue: stack.taskQueue,
      workflowId: `health-${randomUUID()}`,
      args: [{ materializeProfile: 'nosuch' }],
      workflowExecutionTimeout: '1 minute',
    }).catch((e: Error) => e);
    // The profile is resolved inside the activity, so the workflow fails with the message of that activity.
    assert.ok(report instanceof Error);
    assert.match(String((report as any).cause?.cause?.message ?? report.message), /MZ_URL_NOSUCH/);
  });

  it('creates a bucket, puts, lists, reads and deletes an object through moto', async () => {
    const Bucket = `foundation-${randomUUID().slice(0, 8)}`;
    await stack.aws.s3.send(new CreateBucketCommand({ Bucket }));
    await stack.aws.s3.send(new PutObjectCommand({ Bucket, Key: 'p/a.txt', Body: 'hello' }));
    const listed = await stack.aws.s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'p/' }));
    assert.deepEqual(listed.Contents?.map((o) => [o.Key, o.Size]), [['p/a.txt', 5]]);
    const got = await stack.aws.s3.send(new GetObjectCommand({ Bucket, Key: 'p/a.txt' }));
    assert.equal(await got.Body!.transformToString(), 'hello');
    await stack.aws.s3.send(new DeleteObjectCommand({ Bucket, Key: 'p/a.txt' }));
    const after = await stack.aws.s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'p/' }));
    assert.equal(after.KeyCount, 0);
    await stack.aws.s3.send(new DeleteBucketCommand({ Bucket }));
  });

  it('does the IAM and STS calls onboarding needs, with an external ID on AssumeRole', async () => {
    const suffix = randomUUID().slice(0, 8);
    const trust = (externalId: string) => serializePolicy(trustPolicy('arn:aws:iam::123456789012:role/MaterializeConnection', externalId));
    const policy = await stack.aws.iam.send(
      new CreatePolicyCommand({
        PolicyName: `foundation-${suffix}`,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['s3:PutObject'], Resource: ['arn:aws:s3:::b/p/*'] }],
        }),
      }),
    );
    const RoleName = `foundation-${suffix}`;
    const role = await stack.aws.iam.send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: trust('PENDING') }));
    await stack.aws.iam.send(new AttachRolePolicyCommand({ RoleName, PolicyArn: policy.Policy!.Arn }));
    await stack.aws.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName, PolicyDocument: trust('mz_abc_u1') }));
    const got = await stack.aws.iam.send(new GetRoleCommand({ RoleName }));
    const doc = JSON.parse(decodeURIComponent(got.Role!.AssumeRolePolicyDocument!));
    assert.equal(doc.Statement[0].Condition.StringEquals['sts:ExternalId'], 'mz_abc_u1');
    const attached = await stack.aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName }));
    assert.deepEqual(attached.AttachedPolicies?.map((p) => p.PolicyArn), [policy.Policy!.Arn]);

    const assumed = await stack.aws.sts.send(
      new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: 'foundation', ExternalId: 'mz_abc_u1' }),
    );
    assert.ok(assumed.Credentials?.AccessKeyId);
    assert.match(assumed.AssumedRoleUser!.Arn!, new RegExp(`assumed-role/${RoleName}/foundation`));
    const me = await stack.aws.sts.send(new GetCallerIdentityCommand({}));
    assert.match(me.Account!, /^\d{12}$/);

    await stack.aws.iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn: policy.Policy!.Arn }));
    await stack.aws.iam.send(new DeletePolicyCommand({ PolicyArn: policy.Policy!.Arn }));
    await stack.aws.iam.send(new DeleteRoleCommand({ RoleName }));
  });
});
