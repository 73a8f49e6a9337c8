/** S3 answers the export activities cannot retry away, turned into failures that say what to change. */
import { applicationFailure } from '../../common/failures';
import { s3ErrorFix } from '../aws-errors';

/**
 * A missing bucket or a denial is non-retryable (retrying only delays the answer by the activity's retry
 * budget); anything else (throttling, resets) is rethrown as it is, so the activity is retried.
 */
export function rethrowS3(e: Error, what: string): never {
  // The AWS error name is the root cause an operator searches for; the advice is what to change.
  const fix = s3ErrorFix(e);
  if (fix) throw applicationFailure('UserFixableError', `cannot ${what}: ${e.name}: ${e.message}. To fix: ${fix}`);
  throw e;
}
