import { strict as assert } from 'node:assert';
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { describeRootCause, failureNamingRootCause, rootCauseOf } from '../../common/failure-root';
import { missingWorkerText } from '../../client/worker-check';

const activityFailure = (cause: Error, activityType = 'inspectExportAttempts') =>
  new ActivityFailure('Activity task failed', activityType, '1', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker', cause);

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
