/** S3 answers the export activities cannot retry away, turned into failures that say what to change. */
import { ApplicationFailure } from '@temporalio/activity';
import { S3_ERROR_FIXES } from '../../common/failures';

/**
 * A missing bucket or a denial is non-retryable (retrying only delays the answer by the activity's retry
 * budget); anything else (throttling, resets) is rethrown as it is, so the activity is retried.
 */
export function rethrowS3(e: Error, what: string): never {
  // The AWS error name is the root cause an operator searches for; the advice is what to change.
  if (e.name === 'NoSuchBucket' || e.name === 'AccessDenied') {
    throw ApplicationFailure.create({
      type: 'UserFixableError',
      message: `cannot ${what}: ${e.name}: ${e.message}. To fix: ${S3_ERROR_FIXES[e.name]}`,
      nonRetryable: true,
    });
  }
  throw e;
}
