/**
 * The onboarding and offboarding step runner (workflows/step-runner.ts) with stubbed activities: one test per
 * branch: a step that passes, one that passes after retryable failures, a failure waiting cannot fix, the time
 * bound (NotYetError keeps its type, anything else becomes StepTimeoutError), `retryNow` cutting a wait short,
 * invalid input, a name another run holds, and what a failed run reports about what it made. IAM, S3 and
 * Materialize behind the activities are tested on the real stack in test/integration/onboarding.test.ts.
 */
import { strict as assert } from 'node:assert';
import { ApplicationFailureCategory, type ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { ConflictError, NotYetError } from '../../common/failures';
import type { OnboardPreflight } from '../../common/onboarding/activities';
import type { OnboardResult, StepProgress } from '../../common/onboarding/progress';
import type { OffboardInput, OnboardInput } from '../../common/onboarding/types';
import { claimId, iamNameClaim } from '../../workflows/iam-claims';
import { offboardAwsConnection, onboardAwsConnection } from '../../workflows';
import { progressQuery, retryNowSignal } from '../../workflows/step-runner';
import { callsOf, withStubbedWorker, workflowEnv, type ActivityStubs, type WorkflowRun } from './harness';

const ACCOUNT = '123456789012';
const PRINCIPAL = 'arn:aws:iam::664411391173:role/MaterializeConnection';
let names = 0;

/** An input with names no other test uses: the IAM name claims are per account and name. */
function onboardInput(extra: Partial<OnboardInput> = {}): OnboardInput {
  const n = `${process.pid}-${++names}`;
  return {
    bucket: 'exports-bucket',
    prefix: 'exports',
    roleName: `role-${n}`,
    policyName: `policy-${n}`,
    connectionName: 's3_conn',
    retry: { initialIntervalSeconds: 0.1, maximumIntervalSeconds: 0.2 },
    ...extra,
  };
}

function happyPath(input: OnboardInput): ActivityStubs {
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/${input.roleName}`;
  const policyArn = `arn:aws:iam::${ACCOUNT}:policy/${input.policyName}`;
  const preflight: OnboardPreflight = {
    accountId: ACCOUNT,
    partition: 'aws',
    roleArn,
    policyArn,
    binding: 'env-1/s3_conn',
    connectionExists: false,
    region: 'us-east-1',
    bucketExists: false,
  };
  return {
    readAwsIdentity: async () => ({ accountId: ACCOUNT, partition: 'aws' }),
    preflightOnboarding: async () => preflight,
    ensureMzConnection: async () => ({ connectionId: 'u1', change: 'connection s3_conn: created' }),
    readMzConnection: async () => ({ connectionId: 'u1', assumeRoleArn: roleArn, principal: PRINCIPAL, externalId: 'mz_ext_1' }),
    ensureBucket: async () => ({ bucket: input.bucket, region: 'us-east-1', created: true, managed: true, publicAccessBlocked: true, change: 'bucket: created' }),
    ensureIamPolicy: async () => ({ policyArn, accountId: ACCOUNT, change: 'policy: created' }),
    ensureIamRole: async () => ({ roleArn, changes: ['role: created'] }),
    checkTrustPolicy: async () => undefined,
    validateMzConnection: async () => undefined,
    probeMzConnection: async (p) => ({ path: `s3://${p.bucket}/${p.prefix}/_probe/x/`, rows: 1, objectsWritten: 1, objectsRemoved: 1 }),
    dropMzConnection: async () => ({ dropped: true }),
  };
}

/** Fails `times` times with `error`, then does what `then` does. */
function failing<A extends unknown[], R>(times: number, error: () => Error, then: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  let calls = 0;
  return (...args: A) => (++calls <= times ? Promise.reject(error()) : then(...args));
}

async function onboardWith(
  input: OnboardInput,
  stubs: ActivityStubs,
): Promise<{ run: WorkflowRun; result?: OnboardResult; failure?: ApplicationFailure; progress: StepProgress }> {
  const { client } = await workflowEnv();
  return withStubbedWorker(stubs, async (run) => {
    const handle = await client.workflow.start(onboardAwsConnection, { taskQueue: run.taskQueue, workflowId: `${run.id}-onboard`, args: [input] });
    try {
      const result = await handle.result();
      return { run, result, progress: await handle.query(progressQuery) };
    } catch (e) {
      assert.ok(e instanceof WorkflowFailedError, String(e));
      return { run, failure: e.cause as ApplicationFailure, progress: await handle.query(progressQuery) };
    }
  });
}

describe('onboarding step runner (stubbed activities)', function () {
  this.timeout(60_000);

  it('runs every step once, in order, and reports what it made', async () => {
    const input = onboardInput();
    const { run, result, progress } = await onboardWith(input, happyPath(input));
    assert.deepEqual(
      run.calls.map((c) => c.name),
      ['readAwsIdentity', 'preflightOnboarding', 'ensureMzConnection', 'readMzConnection', 'preflightOnboarding', 'ensureBucket', 'ensureIamPolicy', 'ensureIamRole', 'checkTrustPolicy', 'validateMzConnection', 'probeMzConnection'],
    );
    assert.deepEqual(callsOf(run, 'preflightOnboarding')[1].reported, { principal: PRINCIPAL, externalId: 'mz_ext_1' });
    assert.equal(result?.externalId, 'mz_ext_1');
    assert.equal(result?.validationAttempts, 1);
    assert.deepEqual(result?.changes, ['connection s3_conn: created', 'bucket: created', 'policy: created', 'role: created']);
    assert.deepEqual([progress.status, progress.step], ['completed', 'probe']);
  });

  it('retries a step while waiting can help, counting attempts (IAM not yet propagated)', async () => {
    const input = onboardInput();
    const stubs = happyPath(input);
    stubs.validateMzConnection = failing(2, () => new NotYetError('not authorized to perform: sts:AssumeRole'), async () => undefined);
    const { run, result } = await onboardWith(input, stubs);
    assert.equal(callsOf(run, 'validateMzConnection').length, 3);
    assert.equal(callsOf(run, 'checkTrustPolicy').length, 3, 'the whole step is retried, not only the failed call');
    assert.equal(result?.validationAttempts, 3);
  });

  it('retries a transient error (not in the catalog) the same way', async () => {
    const input = onboardInput();
    const stubs = happyPath(input);
    stubs.ensureBucket = failing(1, () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }), happyPath(input).ensureBucket!);
    const { run, progress } = await onboardWith(input, stubs);
    assert.equal(callsOf(run, 'ensureBucket').length, 2);
    assert.equal(progress.status, 'completed');
  });

  it('a failure waiting cannot fix ends the run at once, naming the step, BENIGN', async () => {
    const input = onboardInput();
    const stubs = happyPath(input);
    stubs.preflightOnboarding = async () => Promise.reject(new ConflictError('role r is bound to connection other; choose another roleName'));
    const { run, failure, progress } = await onboardWith(input, stubs);
    assert.equal(failure?.type, 'ConflictError');
    assert.equal(failure?.category, ApplicationFailureCategory.BENIGN);
    assert.equal(failure?.message, 'preflight: role r is bound to connection other; choose another roleName');
    assert.equal(callsOf(run, 'preflightOnboarding').length, 1);
    assert.deepEqual(callsOf(run, 'ensureMzConnection'), []);
    assert.deepEqual([progress.status, progress.step, progress.lastError], ['failed', 'preflight', 'ConflictError: role r is bound to connection other; choose another roleName']);
  });

  it('at the time bound a NotYetError stays one, with the hint of what to do', async () => {
    const input = onboardInput({ validationTimeoutSeconds: 1 });
    const stubs = happyPath(input);
    stubs.validateMzConnection = async () => Promise.reject(new NotYetError('not authorized to perform: sts:AssumeRole'));
    const { run, failure } = await onboardWith(input, stubs);
    assert.equal(failure?.type, 'NotYetError');
    assert.match(failure!.message, /^validate-connection: still failing after \d+ attempts over 1 s: not authorized .*IAM may need longer/);
    assert.ok(callsOf(run, 'validateMzConnection').length >= 2);
    assert.deepEqual(callsOf(run, 'probeMzConnection'), []);
  });

  it('at the time bound any other retryable error becomes StepTimeoutError; the run names what it made and how to remove it', async () => {
    const input = onboardInput({ stepTimeoutSeconds: 1 });
    const stubs = happyPath(input);
    stubs.ensureBucket = async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5000'));
    const { failure } = await onboardWith(input, stubs);
    assert.equal(failure?.type, 'StepTimeoutError');
    assert.equal(failure?.category, undefined, 'an outage is no user error');
    assert.match(failure!.message, /^bucket: still failing after \d+ attempts over 1 s: connect ECONNREFUSED/);
    assert.match(failure!.message, /This run's changes, which stay in place: connection s3_conn: created\. Once fixed, run onboarding again .* offboardAwsConnection \{"connectionName":"s3_conn"/);
  });

  it("retryNow cuts the backoff short", async () => {
    const input = onboardInput({ retry: { initialIntervalSeconds: 600, maximumIntervalSeconds: 600 } });
    const stubs = happyPath(input);
    stubs.ensureBucket = failing(1, () => new Error('Rate exceeded'), happyPath(input).ensureBucket!);
    const { client } = await workflowEnv();
    await withStubbedWorker(stubs, async (run) => {
      const handle = await client.workflow.start(onboardAwsConnection, { taskQueue: run.taskQueue, workflowId: `${run.id}-onboard`, args: [input] });
      let progress: StepProgress;
      do progress = await handle.query(progressQuery);
      while (progress.status !== 'waiting-to-retry');
      assert.equal(progress.step, 'bucket');
      assert.match(progress.lastError!, /Rate exceeded/);
      assert.ok(Date.parse(progress.nextAttemptAt!) - Date.now() > 200_000, 'the next attempt is minutes away (the backoff, cut to the step bound)');
      await handle.signal(retryNowSignal);
      const result = await handle.result();
      assert.equal(result.bucket, input.bucket);
      assert.equal(callsOf(run, 'ensureBucket').length, 2);
    });
  });

  it('invalid input fails the validate-input step at once, before any activity', async () => {
    const { run, failure } = await onboardWith(onboardInput({ bucket: 'Not_A_Bucket' }), {});
    assert.equal(failure?.type, 'InvalidInputError');
    assert.equal(failure?.category, ApplicationFailureCategory.BENIGN);
    assert.match(failure!.message, /^validate-input: the onboarding input is invalid:\n {2}- bucket: /);
    assert.deepEqual(run.calls, []);
  });

  it('a role name another run holds: ConflictError before the first write', async () => {
    const input = onboardInput();
    const { client } = await workflowEnv();
    await withStubbedWorker(happyPath(input), async (run) => {
      const id = claimId(ACCOUNT, 'role', input.roleName);
      const holder = await client.workflow.start(iamNameClaim, { taskQueue: run.taskQueue, workflowId: id, args: [{ name: id, heldBy: 'another-run' }] });
      try {
        const e = await client.workflow
          .execute(onboardAwsConnection, { taskQueue: run.taskQueue, workflowId: `${run.id}-onboard`, args: [input] })
          .then(() => assert.fail('expected a conflict'), (err: unknown) => err);
        assert.ok(e instanceof WorkflowFailedError);
        const failure = e.cause as ApplicationFailure;
        assert.equal(failure.type, 'ConflictError');
        assert.match(failure.message, new RegExp(`^preflight: another run holds role/${input.roleName} right now`));
        assert.deepEqual(run.calls.map((c) => c.name), ['readAwsIdentity']);
      } finally {
        await holder.terminate();
      }
    });
  });

  it('a check that fails once Materialize reported its principal drops the connection this run created: nothing is left', async () => {
    const input = onboardInput();
    const stubs = happyPath(input);
    stubs.preflightOnboarding = async (p) =>
      p.reported ? Promise.reject(new ConflictError('Materialize reports principal x, which no role of this project will trust')) : happyPath(input).preflightOnboarding!(p);
    const { run, failure } = await onboardWith(input, stubs);
    assert.equal(failure?.type, 'ConflictError');
    assert.match(failure!.message, /^catalog: Materialize reports principal x.*\(connection s3_conn, which this run had created, was dropped again: nothing is left\)$/);
    assert.equal(callsOf(run, 'dropMzConnection').length, 1);
    assert.deepEqual(callsOf(run, 'ensureBucket'), []);
  });
});

describe('offboarding step runner (stubbed activities)', function () {
  this.timeout(60_000);

  it('drops, detaches and deletes in order; deletes data only when asked', async () => {
    const n = `${process.pid}-${++names}`;
    const input: OffboardInput = { connectionName: 's3_conn', roleName: `role-${n}`, policyName: `policy-${n}`, deleteData: true, bucket: 'exports-bucket', prefix: 'exports' };
    const { client } = await workflowEnv();
    await withStubbedWorker(
      {
        readAwsIdentity: async () => ({ accountId: ACCOUNT, partition: 'aws' }),
        preflightOffboarding: async () => ({ binding: 'env-1/s3_conn', roleArn: `arn:aws:iam::${ACCOUNT}:role/${input.roleName}` }),
        dropMzConnection: async () => ({ dropped: true }),
        deleteIamPolicy: async () => ({ deleted: true, versionsDeleted: 2 }),
        deleteIamRole: async () => ({ deleted: false }),
        deleteOnboardedData: async () => ({ objectsDeleted: 4, bucketDeleted: false }),
      },
      async (run) => {
        const result = await client.workflow.execute(offboardAwsConnection, { taskQueue: run.taskQueue, workflowId: `${run.id}-offboard`, args: [input] });
        assert.deepEqual(
          run.calls.map((c) => c.name),
          ['readAwsIdentity', 'preflightOffboarding', 'dropMzConnection', 'deleteIamPolicy', 'deleteIamRole', 'deleteOnboardedData'],
        );
        assert.deepEqual(result.changes, [
          'connection s3_conn: dropped',
          `policy ${input.policyName}: detached and deleted (2 versions)`,
          'bucket exports-bucket: 4 objects under exports/ deleted',
        ]);
        assert.equal(result.roleDeleted, false);
      },
    );
  });
});
