/**
 * The worker's own AWS permissions for onboarding (docs/security.md, common/onboarding/worker-iam-policy.ts) are enough, and
 * AWS's answer when one is missing says which. On its own moto server with IAM enforcement switched on
 * (`POST /moto-api/reset-auth`), the onboarding and offboarding activities run, in the workflows' order, with an
 * access key of an IAM user that holds only the documented actions.
 *
 * What moto can and cannot check: it enforces actions and signatures, but authorizes most IAM calls against
 * resource `*` (it knows only an existing role's ARN), and a condition it has no value for counts as unmet. So
 * the user's policy is the documented one with every Resource `*`: this proves the action list is complete, not
 * the resource scoping; and three S3 calls go by other names in moto (MOTO_S3_ACTION_NAMES). mz-local calls moto with its own key, which moto would refuse with enforcement on, so
 * enforcement is switched off while Materialize itself works (VALIDATE CONNECTION, the probe COPY).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { createActivities } from '../../activities';
import { loadConfig } from '../../platform/config';
import { serializePolicy, statementsOf, type PolicyDocument } from '../../common/iam-policies';
import { createMaterializeConnector } from '../../platform/materialize';
import { WORKER_ONBOARDING_ACTIONS, workerOnboardingPolicy } from '../../common/onboarding/worker-iam-policy';
import { freePort, stopProcessGroup } from '../../local/processes';
import { PROJECT_ROOT, startMoto, startMzLocal } from '../../local/stack';

const REGION = 'us-east-1';

/**
 * moto names three S3 calls by their API operation rather than by the IAM action AWS authorizes them with; the
 * tested policy grants moto's name wherever the documented one is granted.
 */
const MOTO_S3_ACTION_NAMES: Record<string, string> = {
  's3:ListBucket': 's3:HeadBucket',
  's3:GetBucketPublicAccessBlock': 's3:GetPublicAccessBlock',
  's3:PutBucketPublicAccessBlock': 's3:PutPublicAccessBlock',
};

/** The documented policy with every resource widened to '*', and optionally one action left out. */
function testedPolicy(without?: string): PolicyDocument {
  const doc = workerOnboardingPolicy();
  return {
    ...doc,
    Statement: statementsOf(doc).map((s) => {
      const actions = (s.Action as string[]).filter((a) => a !== without);
      return { ...s, Resource: '*', Action: [...actions, ...actions.flatMap((a) => MOTO_S3_ACTION_NAMES[a] ?? [])] };
    }),
  };
}

describe("the worker's documented IAM permissions for onboarding, enforced by moto", function () {
  this.timeout(180_000);
  const dir = path.join(PROJECT_ROOT, '.local', `test-authz-${process.pid}`);
  const pids: number[] = [];
  let endpoint: string;
  let mzUrl: string;
  let admin: IAMClient;

  const enforce = async (on: boolean) => {
    const r = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: on ? '0' : 'inf' });
    assert.equal(r.status, 200, await r.text());
  };

  /** An IAM user holding only `policy`, and the onboarding activities acting with its access key. */
  async function workerWith(policy: PolicyDocument) {
    const UserName = `worker-${randomUUID().slice(0, 8)}`;
    await admin.send(new CreateUserCommand({ UserName }));
    await admin.send(new PutUserPolicyCommand({ UserName, PolicyName: 'mz-s3-export-worker', PolicyDocument: serializePolicy(policy) }));
    const key = (await admin.send(new CreateAccessKeyCommand({ UserName }))).AccessKey!;
    const common = { region: REGION, endpoint, credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! } };
    const aws = {
      s3: new S3Client({ ...common, forcePathStyle: true }),
      iam: new IAMClient(common),
      sts: new STSClient(common),
      sns: new SNSClient(common),
      sqs: new SQSClient(common),
      eventBridge: new EventBridgeClient(common),
    };
    const config = loadConfig({ AWS_REGION: REGION, AWS_ENDPOINT_URL: endpoint, MZ_URL: mzUrl, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    return createActivities({ aws, materialize: createMaterializeConnector(config) });
  }

  before(async function () {
    fs.mkdirSync(dir, { recursive: true });
    const moto = await startMoto(dir, await freePort());
    pids.push(moto.proc.pid);
    endpoint = moto.endpoint;
    const mz = await startMzLocal(dir, await freePort(), endpoint);
    pids.push(mz.proc.pid);
    mzUrl = mz.url;
    admin = new IAMClient({ region: REGION, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  });

  after(async () => {
    if (endpoint) await enforce(false).catch(() => undefined);
    for (const pid of pids.reverse()) await stopProcessGroup(pid);
    if (!process.env.MZ_S3_EXPORT_KEEP_TEST_STATE) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh onboarding's names, so each case owns its bucket, role, policy and connection. */
  function onboardingInput() {
    const id = randomUUID().slice(0, 8);
    return {
      materializeProfile: 'default',
      bucket: `authz-${id}`,
      prefix: 'exports',
      createBucket: true,
      roleName: `mz-s3-export-authz-${id}`,
      policyName: `mz-s3-export-authz-${id}-s3`,
      connectionName: `authz_${id}`,
    };
  }

  it('onboarding and offboarding succeed with exactly the documented actions', async () => {
    const acts = await workerWith(testedPolicy());
    const input = onboardingInput();
    await enforce(true);
    try {
      await acts.readAwsIdentity();
      const pre = await acts.preflightOnboarding(input);
      await acts.ensureMzConnection({ ...input, roleArn: pre.roleArn, region: pre.region });
      const mz = await acts.readMzConnection({ ...input, roleArn: pre.roleArn });
      await acts.preflightOnboarding({ ...input, reported: { principal: mz.principal, externalId: mz.externalId } });
      const bucket = await acts.ensureBucket(input);
      assert.equal(bucket.created, true);
      const owner = { binding: pre.binding, connectionName: input.connectionName, roleName: input.roleName };
      const policy = await acts.ensureIamPolicy({ ...owner, policyName: input.policyName, bucket: input.bucket, prefix: input.prefix });
      const trust = { roleName: input.roleName, principal: mz.principal, externalId: mz.externalId };
      const role = await acts.ensureIamRole({ ...owner, ...trust, policyArn: policy.policyArn, expectedArn: pre.roleArn });
      assert.equal(role.roleArn, pre.roleArn);
      await acts.checkTrustPolicy(trust);

      // Materialize's own part, with its own credentials.
      await enforce(false);
      await acts.validateMzConnection(input);
      const probe = await acts.probeMzConnection({ ...input, runId: 'authz', attempt: 1 });
      assert.equal(probe.rows, 1);
      await enforce(true);

      // The same run again changes nothing (every read it needs is allowed), then offboarding removes it all.
      assert.deepEqual(await acts.ensureIamRole({ ...owner, ...trust, policyArn: policy.policyArn, expectedArn: pre.roleArn }), { roleArn: pre.roleArn, changes: [] });
      await acts.preflightOffboarding(input);
      assert.deepEqual(await acts.dropMzConnection(input), { dropped: true });
      assert.equal((await acts.deleteIamPolicy({ ...owner, policyName: input.policyName })).deleted, true);
      assert.deepEqual(await acts.deleteIamRole(owner), { deleted: true });
      assert.deepEqual(await acts.deleteOnboardedData({ bucket: input.bucket, prefix: input.prefix }), { objectsDeleted: 0, bucketDeleted: true });
    } finally {
      await enforce(false);
    }
  });

  it('without one of them (iam:CreateRole) the role step fails, saying which permission to grant, before trusting anyone', async () => {
    assert.ok(WORKER_ONBOARDING_ACTIONS.roles.includes('iam:CreateRole'));
    const acts = await workerWith(testedPolicy('iam:CreateRole'));
    const input = onboardingInput();
    await enforce(true);
    try {
      const pre = await acts.preflightOnboarding(input);
      const owner = { binding: pre.binding, connectionName: input.connectionName, roleName: input.roleName };
      const policy = await acts.ensureIamPolicy({ ...owner, policyName: input.policyName, bucket: input.bucket, prefix: input.prefix });
      const err = await acts
        .ensureIamRole({ ...owner, roleName: input.roleName, principal: 'arn:aws:iam::123456789012:role/MaterializeConnection', externalId: 'mz_x_u1', policyArn: policy.policyArn, expectedArn: pre.roleArn })
        .then(
          () => assert.fail('the role was created without iam:CreateRole'),
          (e: Error) => e,
        );
      assert.equal(err.name, 'UserFixableError');
      assert.match(err.message, /the worker's AWS credentials may not create role mz-s3-export-authz-\w+ .*grant that permission/);
    } finally {
      await enforce(false);
    }
  });
});
