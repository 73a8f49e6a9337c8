/**
 * Onboarding and offboarding on the local stack: the real workflows on the Temporal dev server, the worker
 * process, moto's IAM and S3, and mz-local enforcing the trust policy as Materialize and AWS would.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  CreatePolicyCommand,
  CreateRoleCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListPolicyVersionsCommand,
  ListRolesCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { createActivities } from '../../activities';
import { createMaterializeConnector } from '../../platform/materialize';
import { loadConfig } from '../../platform/config';
import { parsePolicyDocument, s3AccessPolicy, serializePolicy, trustPolicy } from '../../common/iam-policies';
import type { OffboardResult, OnboardResult, StepProgress } from '../../common/onboarding/progress';
import type { OffboardInput, OnboardInput } from '../../common/onboarding/types';
import { quoteIdent, quoteLiteral } from '../../common/sql/quoting';
import { PROJECT_ROOT } from '../../local/stack';
import { sharedStack, type TestStack } from '../helpers/stack';
import { offboardAwsConnection, onboardAwsConnection } from '../../workflows';
import { failureOf, mzRows } from '../helpers/workflow-outcomes';

const MZ_LOCAL_PRINCIPAL = 'arn:aws:iam::123456789012:role/MaterializeConnection';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('onboarding and offboarding on the local stack', function () {
  this.timeout(90_000);
  let stack: TestStack;

  before(async function () {
    this.timeout(180_000);
    stack = await sharedStack();
  });

  /** A fresh set of names, and fast retries so waits stay short. */
  function freshInput(overrides: Partial<OnboardInput> = {}): OnboardInput {
    const id = randomUUID().slice(0, 8);
    return {
      bucket: `onboard-${id}`,
      prefix: 'exports/team',
      roleName: `mz-onboard-${id}`,
      policyName: `mz-onboard-${id}-s3`,
      connectionName: `onboard_${id}`,
      validationTimeoutSeconds: 60,
      stepTimeoutSeconds: 30,
      retry: { initialIntervalSeconds: 0.3, maximumIntervalSeconds: 1 },
      ...overrides,
    };
  }

  function start(input: unknown, taskQueue = stack.taskQueue): Promise<WorkflowHandle> {
    return stack.temporal.workflow.start(onboardAwsConnection, {
      taskQueue,
      workflowId: `onboard-test-${randomUUID()}`,
      // Some cases send deliberately malformed input to see the workflow reject it.
      args: [input as OnboardInput],
      workflowExecutionTimeout: '3 minutes',
    });
  }

  async function onboard(input: unknown): Promise<OnboardResult> {
    return (await start(input)).result();
  }

  async function offboard(input: OffboardInput): Promise<OffboardResult> {
    return stack.temporal.workflow.execute(offboardAwsConnection, {
      taskQueue: stack.taskQueue,
      workflowId: `offboard-test-${randomUUID()}`,
      args: [input],
      workflowExecutionTimeout: '2 minutes',
    });
  }


  const sql = <T extends object = Record<string, unknown>>(text: string) => mzRows<T>(stack, text);

  async function catalogRows(connectionName: string) {
    return sql<{ id: string; assume_role_arn: string; external_id: string; principal: string }>(
      `SELECT c.id, a.assume_role_arn, a.external_id, a.principal FROM mz_internal.mz_aws_connections a JOIN mz_catalog.mz_connections c ON a.id = c.id WHERE c.name = ${quoteLiteral(connectionName)}`,
    );
  }

  async function trustPolicyOf(roleName: string) {
    const role = await stack.aws.iam.send(new GetRoleCommand({ RoleName: roleName }));
    return parsePolicyDocument(role.Role!.AssumeRolePolicyDocument!);
  }

  async function policyVersions(policyArn: string) {
    return (await stack.aws.iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn }))).Versions ?? [];
  }

  async function rolesNamed(roleName: string): Promise<number> {
    const roles = (await stack.aws.iam.send(new ListRolesCommand({ MaxItems: 1000 }))).Roles ?? [];
    return roles.filter((r) => r.RoleName === roleName).length;
  }

  async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
    const r = await stack.aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (r.Contents ?? []).map((o) => o.Key!);
  }

  async function notFound(p: Promise<unknown>): Promise<boolean> {
    return p.then(
      () => false,
      (e: { name?: string; $metadata?: { httpStatusCode?: number } }) =>
        e.name === 'NoSuchEntity' || e.name === 'NoSuchEntityException' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404,
    );
  }

  async function setMzLocal(name: string, value: number | boolean | undefined): Promise<void> {
    await sql(value === undefined ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = ${value}`);
  }

  /** Polls the progress query until `until` holds. */
  async function progressUntil(handle: WorkflowHandle, until: (p: StepProgress) => boolean, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    let last: StepProgress | undefined;
    while (Date.now() < deadline) {
      last = await handle.query<StepProgress>('progress').catch(() => undefined);
      if (last && until(last)) return last;
      await sleep(100);
    }
    throw new Error(`progress never matched; last: ${JSON.stringify(last)}`);
  }

  describe('a fresh onboarding, then the same input again, then a repair', () => {
    const input = freshInput();
    let first: OnboardResult;

    it('creates bucket, policy, role and connection, validates, probes and cleans up', async () => {
      first = await onboard(input);
      const row = (await catalogRows(input.connectionName))[0];
      assert.ok(row, 'the connection is in the catalog');
      assert.equal(first.connectionId, row.id);
      assert.equal(first.externalId, row.external_id);
      assert.equal(first.principal, MZ_LOCAL_PRINCIPAL);
      assert.equal(first.roleArn, `arn:aws:iam::123456789012:role/${input.roleName}`);
      assert.equal(row.assume_role_arn, first.roleArn);
      assert.equal(first.policyArn, `arn:aws:iam::123456789012:policy/${input.policyName}`);
      assert.equal(first.region, 'us-east-1');
      assert.ok(!Number.isNaN(Date.parse(first.validatedAt)));

      // The final trust policy: exactly Materialize's principal and this connection's external ID.
      assert.deepEqual(await trustPolicyOf(input.roleName), trustPolicy(row.principal, row.external_id));

      // The policy: exactly the three actions under the prefix, one version.
      const policy = await stack.aws.iam.send(new GetPolicyCommand({ PolicyArn: first.policyArn }));
      const version = await stack.aws.iam.send(
        new GetPolicyVersionCommand({ PolicyArn: first.policyArn, VersionId: policy.Policy!.DefaultVersionId! }),
      );
      assert.deepEqual(parsePolicyDocument(version.PolicyVersion!.Document!), s3AccessPolicy(input.bucket, 'exports/team'));
      assert.equal((await policyVersions(first.policyArn)).length, 1);

      // The role: tagged as ours, the policy attached and nothing else.
      const role = await stack.aws.iam.send(new GetRoleCommand({ RoleName: input.roleName }));
      const environment = (await sql<{ id: string }>('SELECT mz_environment_id() AS id'))[0].id;
      assert.deepEqual(role.Role!.Tags, [
        { Key: 'managed-by', Value: 'mz-s3-export' },
        { Key: 'mz-s3-export:connection', Value: `${environment}/${input.connectionName}` },
      ]);
      const attached = await stack.aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: input.roleName }));
      assert.deepEqual(attached.AttachedPolicies!.map((p) => p.PolicyArn), [first.policyArn]);

      // The bucket: the guide's defaults.
      const pab = await stack.aws.s3.send(new GetPublicAccessBlockCommand({ Bucket: input.bucket }));
      assert.deepEqual(pab.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      });
      const own = await stack.aws.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: input.bucket }));
      assert.equal(own.OwnershipControls!.Rules![0].ObjectOwnership, 'BucketOwnerEnforced');
      const tags = await stack.aws.s3.send(new GetBucketTaggingCommand({ Bucket: input.bucket }));
      assert.deepEqual(tags.TagSet, [{ Key: 'managed-by', Value: 'mz-s3-export' }]);

      // The probe wrote under <prefix>/_probe/ and removed it all.
      assert.match(first.probe.path, new RegExp(`^s3://${input.bucket}/exports/team/_probe/[0-9a-f-]+-0001/$`));
      assert.equal(first.probe.rows, 1);
      assert.ok(first.probe.objectsWritten >= 1);
      assert.ok(first.probe.objectsRemoved >= first.probe.objectsWritten);
      assert.deepEqual(await keysUnder(input.bucket, 'exports/team/'), []);

      for (const made of [
        `bucket ${input.bucket}: created`,
        `policy ${input.policyName}: created`,
        `role ${input.roleName}: created`,
        `connection ${input.connectionName}: created`,
      ]) {
        assert.equal(first.changes.filter((c) => c.startsWith(made)).length, 1, `${made} in ${first.changes.join('\n')}`);
      }
    });

    it('the same input again creates nothing and returns the same result', async () => {
      const second = await onboard(input);
      const stable = ({ validatedAt, validationAttempts, probe, changes, ...rest }: OnboardResult) => rest;
      assert.deepEqual(stable(second), stable(first));
      assert.deepEqual(second.changes, []);
      assert.equal((await policyVersions(first.policyArn)).length, 1);
      assert.equal(await rolesNamed(input.roleName), 1);
      assert.equal((await catalogRows(input.connectionName)).length, 1);
      assert.deepEqual(await trustPolicyOf(input.roleName), trustPolicy(first.principal, first.externalId));
      assert.deepEqual(await keysUnder(input.bucket, 'exports/team/'), []);
    });

    it('repairs the trust policy when the connection was recreated with a new external ID', async () => {
      await sql(`DROP CONNECTION ${quoteIdent(input.connectionName)}`);
      await sql(
        `CREATE CONNECTION ${quoteIdent(input.connectionName)} TO AWS (ASSUME ROLE ARN = ${quoteLiteral(first.roleArn)}) WITH (VALIDATE = false)`,
      );
      const recreated = (await catalogRows(input.connectionName))[0];
      assert.notEqual(recreated.external_id, first.externalId);

      const repaired = await onboard(input);
      assert.equal(repaired.externalId, recreated.external_id);
      assert.equal(repaired.connectionId, recreated.id);
      assert.deepEqual(await trustPolicyOf(input.roleName), trustPolicy(first.principal, recreated.external_id));
      assert.equal(repaired.changes.length, 1, repaired.changes.join('\n'));
      assert.match(repaired.changes[0], new RegExp(`trust policy now requires external ID ${recreated.external_id}`));
    });
  });

  describe('waiting out IAM propagation', () => {
    afterEach(() => setMzLocal('mz_local_propagation_delay_seconds', undefined));

    it('retries VALIDATE CONNECTION with backoff while the role is not yet assumable, reporting progress, then succeeds', async () => {
      await setMzLocal('mz_local_propagation_delay_seconds', 3);
      const input = freshInput({ materializePrincipal: MZ_LOCAL_PRINCIPAL });
      const t0 = Date.now();
      const handle = await start(input);
      const waiting = await progressUntil(handle, (p) => p.step === 'validate-connection' && p.status === 'waiting-to-retry');
      assert.equal(waiting.workflow, 'onboardAwsConnection');
      assert.equal(waiting.stepNumber, 8);
      assert.match(waiting.lastError!, /NotYetError: .*sts:AssumeRole/);
      assert.ok(waiting.nextAttemptAt);
      assert.equal(waiting.found.roleArn, `arn:aws:iam::123456789012:role/${input.roleName}`);
      assert.equal(waiting.found.policyArn, `arn:aws:iam::123456789012:policy/${input.policyName}`);
      assert.match(waiting.found.externalId!, /\S/);

      const result: OnboardResult = await handle.result();
      assert.ok(result.validationAttempts > 2, `validated after ${result.validationAttempts} attempts`);
      assert.ok(Date.now() - t0 >= 3000);
      assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
      assert.deepEqual(await trustPolicyOf(input.roleName), trustPolicy(MZ_LOCAL_PRINCIPAL, result.externalId));
    });

    // The step runner's own branches (retryNow cutting a backoff short, giving up at the bound as NotYetError)
    // are tested with stubbed activities in test/workflow/step-runner.test.ts.

    it('fails at once, not retried, when the trust policy is edited by hand to drop the external-ID condition', async () => {
      await setMzLocal('mz_local_propagation_delay_seconds', 3);
      const input = freshInput();
      const handle = await start(input);
      const waiting = await progressUntil(handle, (p) => p.step === 'validate-connection' && p.status === 'waiting-to-retry');
      await stack.aws.iam.send(
        new UpdateAssumeRolePolicyCommand({
          RoleName: input.roleName,
          PolicyDocument: serializePolicy({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { AWS: waiting.found.principal! }, Action: 'sts:AssumeRole' }],
          }),
        }),
      );
      const t0 = Date.now();
      const f = await failureOf(handle.result());
      assert.equal(f.type, 'InsecureTrustPolicyError');
      assert.equal(f.nonRetryable, true);
      assert.match(f.message, /^validate-connection: the trust policy of role .* lets it be assumed without an external ID/);
      assert.match(f.message, new RegExp(`sts:ExternalId = ${waiting.found.externalId}`));
      assert.ok(Date.now() - t0 < 5000, 'failed at the next attempt, without waiting for the validation timeout');
      const progress = await handle.query<StepProgress>('progress');
      assert.equal(progress.status, 'failed');
    });

    it("Materialize's own refusal of a trust policy without an external ID is fatal too", async () => {
      // The activity against mz-local directly: the role trusts Materialize with no condition at all.
      const id = randomUUID().slice(0, 8);
      const roleName = `mz-insecure-${id}`;
      const connectionName = `insecure_${id}`;
      const role = await stack.aws.iam.send(
        new CreateRoleCommand({
          RoleName: roleName,
          AssumeRolePolicyDocument: serializePolicy({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { AWS: MZ_LOCAL_PRINCIPAL }, Action: 'sts:AssumeRole' }],
          }),
        }),
      );
      await sql(`CREATE CONNECTION ${quoteIdent(connectionName)} TO AWS (ASSUME ROLE ARN = ${quoteLiteral(role.Role!.Arn!)}) WITH (VALIDATE = false)`);
      const config = loadConfig(stack.env);
      const acts = createActivities({ aws: stack.aws, materialize: createMaterializeConnector(config) });
      const err = await acts.validateMzConnection({ materializeProfile: 'default', connectionName }).then(
        () => assert.fail('VALIDATE CONNECTION succeeded on an insecure trust policy'),
        (e: Error) => e,
      );
      assert.equal(err.name, 'InsecureTrustPolicyError');
      assert.match(err.message, /does not require an external ID/i);
    });
  });

  describe('bad inputs and conflicts', () => {
    const cases: [string, Partial<Record<keyof OnboardInput, unknown>>, RegExp][] = [
      ['an invalid bucket name', { bucket: 'Bad_Bucket' }, /bucket: "Bad_Bucket" may contain only lower-case letters/],
      ['a bad principal ARN', { materializePrincipal: 'arn:aws:iam::12:role/x' }, /materializePrincipal: .* is not an IAM role ARN/],
      ["a prefix with '..'", { prefix: 'exports/../other' }, /prefix: .*'\.\.'/],
      ["a prefix with a leading '/'", { prefix: '/exports' }, /prefix: .*must not start with '\/'/],
      ['a connection name needing quoting', { connectionName: 'My-Conn' }, /connectionName: "My-Conn" would need quoting/],
    ];
    for (const [what, change, message] of cases) {
      it(`rejects ${what} before anything is created`, async () => {
        const input = { ...freshInput(), ...change };
        const f = await failureOf(onboard(input));
        assert.equal(f.type, 'InvalidInputError');
        assert.equal(f.nonRetryable, true);
        assert.match(f.message, message);
        const names = input as OnboardInput;
        assert.ok(await notFound(stack.aws.s3.send(new HeadBucketCommand({ Bucket: names.bucket }))), 'no bucket');
        assert.ok(await notFound(stack.aws.iam.send(new GetRoleCommand({ RoleName: names.roleName }))), 'no role');
        assert.ok(
          await notFound(stack.aws.iam.send(new GetPolicyCommand({ PolicyArn: `arn:aws:iam::123456789012:policy/${names.policyName}` }))),
          'no policy',
        );
        assert.deepEqual(await catalogRows(names.connectionName), []);
      });
    }

    it('adopts an existing bucket, policy and role made by hand, updating the policy to a new version', async () => {
      const input = freshInput({ createBucket: false });
      await stack.aws.s3.send(new CreateBucketCommand({ Bucket: input.bucket }));
      const policy = await stack.aws.iam.send(
        new CreatePolicyCommand({
          PolicyName: input.policyName,
          PolicyDocument: serializePolicy({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: `arn:aws:s3:::${input.bucket}/*` }],
          }),
        }),
      );
      await stack.aws.iam.send(
        new CreateRoleCommand({
          RoleName: input.roleName,
          AssumeRolePolicyDocument: serializePolicy(trustPolicy(MZ_LOCAL_PRINCIPAL, 'PENDING')),
        }),
      );
      const result = await onboard(input);
      assert.equal(result.policyArn, policy.Policy!.Arn);
      assert.match(result.changes.join('\n'), new RegExp(`bucket ${input.bucket}: adopted as it is`));
      assert.match(result.changes.join('\n'), /policy .*: new default version v2 replacing v1 \(.*unexpected: Allow s3:\* on arn:aws:s3:::onboard-\w+\/\*\)/);
      assert.match(result.changes.join('\n'), new RegExp(`role ${input.roleName}: adopted`));
      assert.equal((await policyVersions(result.policyArn)).length, 2);
      assert.deepEqual(await trustPolicyOf(input.roleName), trustPolicy(MZ_LOCAL_PRINCIPAL, result.externalId));
    });

    it("says what to change when the bucket is missing and may not be created, or the region is not the worker's", async () => {
      const missing = await failureOf(onboard(freshInput({ createBucket: false })));
      assert.equal(missing.type, 'UserFixableError');
      assert.match(missing.message, /^preflight: bucket onboard-\w+ does not exist and createBucket is false; create it, or set createBucket to true/);
      const region = await failureOf(onboard(freshInput({ region: 'eu-west-1' })));
      assert.equal(region.type, 'UserFixableError');
      assert.match(region.message, /region is eu-west-1 but the worker runs with AWS_REGION=us-east-1/);
    });

    it('says what differs when the connection name is taken by a connection to another role', async () => {
      const input = freshInput();
      await sql(
        `CREATE CONNECTION ${quoteIdent(input.connectionName)} TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/someone-else') WITH (VALIDATE = false)`,
      );
      const f = await failureOf(onboard(input));
      assert.equal(f.type, 'ConflictError');
      assert.match(f.message, /^preflight: connection onboard_\w+ exists and assumes role arn:aws:iam::123456789012:role\/someone-else, not arn:aws:iam::123456789012:role\/mz-onboard-/);
    });
  });

  describe('offboarding', () => {
    it('leaves no IAM object behind, keeps the data unless asked, and can run again', async () => {
      const input = freshInput();
      const onboarded = await onboard(input);
      await stack.aws.s3.send(new PutObjectCommand({ Bucket: input.bucket, Key: 'exports/team/orders/part-1.csv', Body: 'a,b\n' }));
      const names = { connectionName: input.connectionName, roleName: input.roleName, policyName: input.policyName };

      const result = await offboard(names);
      assert.deepEqual(
        { ...result, changes: undefined },
        {
          connectionDropped: true,
          policyDeleted: true,
          policyVersionsDeleted: 1,
          roleDeleted: true,
          objectsDeleted: 0,
          bucketDeleted: false,
          changes: undefined,
        },
      );
      assert.ok(await notFound(stack.aws.iam.send(new GetRoleCommand({ RoleName: input.roleName }))), 'role gone');
      assert.ok(await notFound(stack.aws.iam.send(new GetPolicyCommand({ PolicyArn: onboarded.policyArn }))), 'policy gone');
      assert.equal(await rolesNamed(input.roleName), 0);
      assert.deepEqual(await catalogRows(input.connectionName), []);
      assert.deepEqual(await keysUnder(input.bucket, 'exports/team/'), ['exports/team/orders/part-1.csv']);

      const again = await offboard(names);
      assert.deepEqual(again.changes, []);

      const withData = await offboard({ ...names, deleteData: true, bucket: input.bucket, prefix: input.prefix });
      assert.equal(withData.objectsDeleted, 1);
      assert.equal(withData.bucketDeleted, true);
      assert.ok(await notFound(stack.aws.s3.send(new HeadBucketCommand({ Bucket: input.bucket }))), 'bucket gone');
    });

    it('refuses to drop a connection of that name that assumes another role', async () => {
      const input = freshInput();
      await sql(
        `CREATE CONNECTION ${quoteIdent(input.connectionName)} TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/someone-else') WITH (VALIDATE = false)`,
      );
      const f = await failureOf(offboard({ connectionName: input.connectionName, roleName: input.roleName, policyName: input.policyName }));
      assert.equal(f.type, 'ConflictError');
      assert.equal((await catalogRows(input.connectionName)).length, 1);
    });
  });

  describe('the client script', () => {
    const CLI = path.join(PROJECT_ROOT, 'bin', 'mz-s3-export');
    const cli = (args: string[]) =>
      promisify(execFile)(CLI, args, { env: { ...process.env, ...stack.env, TEMPORAL_TASK_QUEUE: stack.taskQueue } }).then(
        (r) => ({ ...r, code: 0 }),
        (e: { stdout: string; stderr: string; code: number }) => e,
      );

    it('onboard --file --json waits with progress and prints the result; offboard undoes it', async function () {
      this.timeout(120_000);
      const input = freshInput();
      const file = path.join(stack.logDir, `onboard-${input.connectionName}.json`);
      fs.writeFileSync(file, JSON.stringify(input));
      const on = await cli(['onboard', '--file', file, '--json']);
      assert.equal(on.code, 0, on.stderr);
      const result = JSON.parse(on.stdout) as OnboardResult;
      assert.match(on.stderr, /^\[\d\/9 [a-z-]+\] (running|waiting)/m, 'a progress line');
      assert.equal(result.connectionName, input.connectionName);
      assert.deepEqual(await trustPolicyOf(input.roleName), trustPolicy(result.principal, result.externalId));

      const off = await cli(['offboard', '--file', file, '--json']);
      assert.equal(off.code, 0, off.stderr);
      assert.equal((JSON.parse(off.stdout) as OffboardResult).roleDeleted, true);
    });

    it('rejects bad input with exit code 2 before starting anything, and --plan changes nothing', async () => {
      const bad = await cli(['onboard', '--bucket', 'x', '--prefix', '/p', '--role', 'r', '--policy', 'p', '--connection', 'C']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /bucket:.*\n.*prefix:.*\n.*connectionName:/);

      const input = freshInput();
      const plan = await cli([
        'onboard', '--bucket', input.bucket, '--prefix', input.prefix, '--role', input.roleName,
        '--policy', input.policyName, '--connection', input.connectionName, '--plan',
      ]);
      assert.equal(plan.code, 0, plan.stderr);
      assert.match(plan.stdout, /CREATE CONNECTION "onboard_\w+" TO AWS/);
      assert.match(plan.stdout, /"sts:ExternalId": "<external_id from mz_internal.mz_aws_connections>"/);
      assert.doesNotMatch(plan.stdout, /PENDING/);
      assert.ok(await notFound(stack.aws.s3.send(new HeadBucketCommand({ Bucket: input.bucket }))), 'no bucket');
      assert.ok(await notFound(stack.aws.iam.send(new GetRoleCommand({ RoleName: input.roleName }))), 'no role');
    });
  });
});
