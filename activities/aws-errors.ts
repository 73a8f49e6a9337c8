/**
 * Reading AWS SDK errors, in one place: which ones mean "not there", "denied", "changed meanwhile", and turning
 * the ones a user causes into catalog failures (common/failures.ts) that say what to change.
 */
import { S3_ERROR_FIXES, UserFixableError } from '../common/failures';

export function awsErrorName(e: unknown): string {
  return (e as { name?: string })?.name ?? '';
}

export function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

export function isNotFound(e: unknown): boolean {
  return ['NoSuchEntity', 'NoSuchEntityException', 'NotFound', 'NoSuchBucket', 'NoSuchKey'].includes(awsErrorName(e)) || httpStatus(e) === 404;
}

export function isAccessDenied(e: unknown): boolean {
  return ['AccessDenied', 'AccessDeniedException', 'Forbidden'].includes(awsErrorName(e)) || httpStatus(e) === 403;
}

/** A conditional S3 write or read whose condition (If-Match, If-None-Match) did not hold. */
export function isPreconditionFailed(e: unknown): boolean {
  return awsErrorName(e) === 'PreconditionFailed' || httpStatus(e) === 412;
}

/** S3 answers 409 ConditionalRequestConflict when two conditional writes of one key overlap: try again. */
export function isConditionalConflict(e: unknown): boolean {
  return awsErrorName(e) === 'ConditionalRequestConflict' || httpStatus(e) === 409;
}

/** What to change when an S3 call failed for a reason the user caused (a missing bucket, a denial), else undefined. */
export function s3ErrorFix(e: unknown): string | undefined {
  const name = awsErrorName(e);
  return Object.hasOwn(S3_ERROR_FIXES, name) ? S3_ERROR_FIXES[name] : undefined;
}

/**
 * Runs one AWS call; a denial becomes a UserFixableError naming what the worker's credentials must be allowed
 * to do, anything else (throttling, resets) stays as it is, so the step is retried.
 */
export async function explainAccessDenied<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (isAccessDenied(e)) {
      throw new UserFixableError(
        `the worker's AWS credentials may not ${what} (${awsErrorName(e)}: ${(e as Error).message}); grant that permission to the worker's identity`,
      );
    }
    throw e;
  }
}
