/**
 * An activity interceptor that raises a thrown failure-catalog class (ConflictError, UserFixableError, ...) as its
 * ApplicationFailure (common/failures.ts): non-retryable unless waiting helps, and BENIGN when the user must
 * fix it, so the worker logs it at DEBUG and counts no failed activity for it. Without this the SDK would send
 * it as a retryable failure of that type, with no category.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { asApplicationFailure } from '../common/failures';

export const catalogFailuresInterceptor: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (e) {
        throw asApplicationFailure(e);
      }
    },
  },
});
