import { strict as assert } from 'node:assert';
import { ActivityFailure, ApplicationFailure, ApplicationFailureCategory, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import {
  applicationFailure,
  asApplicationFailure,
  ConflictError,
  describeRootCause,
  FAILURE_CATALOG,
  failureNamingRootCause,
  InvalidInputError,
  NON_RETRYABLE_ERROR_TYPES,
  NotYetError,
  readFailure,
  rootCauseOf,
  runFailure,
  UserFixableError,
} from '../../common/failures';
import { missingWorkerText } from '../../client/worker-check';

const activityFailure = (cause: Error, activityType = 'inspectExportAttempts') =>
  new ActivityFailure('Activity task failed', activityType, '1', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker', cause);

describe('the failure catalog', () => {
  it('raises a user-fixable failure non-retryable and BENIGN, a wait-and-see one retryable and uncategorised', () => {
    const fixable = applicationFailure('UserFixableError', 'no such object');
    assert.deepEqual([fixable.type, fixable.nonRetryable, fixable.category], ['UserFixableError', true, ApplicationFailureCategory.BENIGN]);
    const notYet = applicationFailure('NotYetError', 'IAM still propagating');
    assert.deepEqual([notYet.nonRetryable, notYet.category], [false, undefined]);
    const verification = applicationFailure('ExportVerificationError', 'row count differs');
    assert.deepEqual([verification.nonRetryable, verification.category], [true, undefined], 'a mismatch is no user error: it is not benign');
    const transient = applicationFailure('CopyTransientError', 'lost', { details: [{ started: false }] });
    assert.deepEqual([transient.nonRetryable, transient.details], [true, [{ started: false }]], 'the workflow, not Temporal, takes another attempt');
  });

  it('lists exactly the types retrying cannot fix as nonRetryableErrorTypes', () => {
    assert.deepEqual([...NON_RETRYABLE_ERROR_TYPES].sort(), [
      'ConflictError',
      'ExportVerificationError',
      'InsecureTrustPolicyError',
      'InvalidInputError',
      'StepTimeoutError',
      'UserFixableError',
    ]);
    for (const [type, spec] of Object.entries(FAILURE_CATALOG)) assert.ok(spec.means.length > 10, `${type} says what it means`);
  });

  it('turns a thrown catalog class into its ApplicationFailure, keeping message and stack; leaves other errors alone', () => {
    const thrown = new ConflictError('policy p is bound to connection c');
    const raised = asApplicationFailure(thrown) as ApplicationFailure;
    assert.ok(raised instanceof ApplicationFailure);
    assert.deepEqual([raised.type, raised.message, raised.nonRetryable, raised.category], ['ConflictError', thrown.message, true, 'BENIGN']);
    assert.equal(raised.stack, thrown.stack);
    assert.equal((asApplicationFailure(new NotYetError('x')) as ApplicationFailure).nonRetryable, false);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    assert.equal(asApplicationFailure(throttled), throttled, 'not in the catalog: the SDK sends it as a retryable failure');
    assert.equal(new InvalidInputError('must be a string', 'bucket').message, 'bucket: must be a string');
  });

  it('reads an activity failure the way workflows decide on it', () => {
    assert.deepEqual(readFailure(activityFailure(applicationFailure('UserFixableError', 'denied'))), {
      type: 'UserFixableError',
      message: 'denied',
      retry: 'no',
      application: true,
    });
    const copy = readFailure(activityFailure(applicationFailure('CopyTransientError', 'reset', { details: [{ started: true }] })));
    assert.deepEqual([copy.retry, copy.details], ['next-attempt', [{ started: true }]]);
    assert.equal(readFailure(activityFailure(ApplicationFailure.create({ type: 'ThrottlingException', message: 'slow down' }))).retry, 'wait');
    assert.equal(readFailure(activityFailure(ApplicationFailure.create({ type: 'Error', message: 'x', nonRetryable: true }))).retry, 'no');
    assert.equal(readFailure(activityFailure(ApplicationFailure.create({ type: 'NotYetError', message: 'x', nonRetryable: true }))).retry, 'no', 'raised non-retryable stays so');
    const timeout = readFailure(activityFailure(new TimeoutFailure('t', undefined, TimeoutType.HEARTBEAT)));
    assert.deepEqual([timeout.type, timeout.retry, timeout.timeoutType, timeout.application], ['TimeoutError', 'wait', 'HEARTBEAT', false]);
    assert.equal(readFailure(new UserFixableError('thrown in workflow code')).retry, 'no');
  });

  it("a run's own failure is non-retryable, and BENIGN only for a catalog type the user fixes", () => {
    assert.deepEqual([runFailure('CopyFailedError', 'gave up').nonRetryable, runFailure('CopyFailedError', 'gave up').category], [true, undefined]);
    assert.equal(runFailure('ConflictError', 'x').category, 'BENIGN');
    assert.equal(runFailure('NoSuchBucket', 'x').category, undefined);
  });
});

describe('failures told by their root cause', () => {
  it('walks the chain to the innermost cause and names the activity', () => {
    const root = ApplicationFailure.create({ type: 'UserFixableError', message: 'cannot list s3://b/p/: NoSuchBucket. To fix: check the bucket name' });
    const wrapped = activityFailure(root);
    assert.deepEqual(rootCauseOf(wrapped), { type: 'UserFixableError', message: root.message, activityType: 'inspectExportAttempts' });
    assert.equal(describeRootCause(wrapped), `${root.message} [UserFixableError in activity inspectExportAttempts]`);
  });

  it("adds what to change where the message does not say it (an AWS error that reached us raw)", () => {
    const raw = ApplicationFailure.create({ type: 'NoSuchBucket', message: 'The specified bucket does not exist' });
    assert.match(rootCauseOf(activityFailure(raw)).message, /^The specified bucket does not exist\. To fix: check the bucket name/);
    const explained = ApplicationFailure.create({ type: 'UserFixableError', message: 'AccessDenied. To fix: widen the policy' });
    assert.equal(rootCauseOf(explained).message, 'AccessDenied. To fix: widen the policy');
  });

  it('says what a timeout means', () => {
    const heartbeat = activityFailure(new TimeoutFailure('heartbeat timeout', undefined, TimeoutType.HEARTBEAT), 'copyToS3');
    assert.match(rootCauseOf(heartbeat).message, /activity copyToS3 stopped heartbeating: its worker crashed/);
    assert.equal(rootCauseOf(heartbeat).type, 'Timeout(HEARTBEAT)');
  });

  it("the workflow's own failure carries the root cause in its message and keeps the chain", () => {
    const root = ApplicationFailure.create({ type: 'UserFixableError', message: 'NoSuchBucket. To fix: x' });
    const wrapped = activityFailure(root);
    const thrown = failureNamingRootCause(wrapped) as ApplicationFailure;
    assert.equal(thrown.message, 'inspectExportAttempts: NoSuchBucket. To fix: x');
    assert.equal(thrown.type, 'UserFixableError');
    assert.equal(thrown.nonRetryable, true);
    assert.equal(thrown.cause, wrapped);
    const own = ApplicationFailure.nonRetryable('export x failed: y', 'UserFixableError');
    assert.equal(failureNamingRootCause(own), own, 'a failure the workflow raised itself stays as it is');
  });

  it('names the queue without a worker and how to start one', () => {
    assert.equal(missingWorkerText('q', 'default', { workflow: 1, activity: 2 }), undefined);
    assert.match(missingWorkerText('q', 'default', { workflow: 0, activity: 0 })!, /^no worker polls task queue "q" \(namespace default\)\. Start one with 'mz-s3-export worker'/);
    assert.match(missingWorkerText('q', 'ns', { workflow: 1, activity: 0 })!, /^no worker polls the activity tasks of task queue "q"/);
  });
});
