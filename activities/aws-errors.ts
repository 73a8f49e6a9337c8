/** Reading AWS SDK errors: which ones mean "not there", "denied", and wrapping denials into a message to act on. */
import { UserFixableError } from '../common/failures';

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
