/**
 * An activity interceptor that scrubs the process's secrets (platform/secret-values) from every activity result
 * and failure message before the SDK hands them to Temporal, where they would stay in the history.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { scrub, scrubDeep } from '../platform/secret-values';

function scrubError(err: unknown, depth = 0): unknown {
  if (err instanceof Error && depth < 10) {
    err.message = scrub(err.message);
    if (err.stack) err.stack = scrub(err.stack);
    const details = (err as { details?: unknown[] }).details;
    if (Array.isArray(details)) (err as { details?: unknown[] }).details = scrubDeep(details);
    if (err.cause) scrubError(err.cause, depth + 1);
  }
  return err;
}

export const scrubSecretsInterceptor: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      try {
        return scrubDeep(await next(input));
      } catch (e) {
        throw scrubError(e);
      }
    },
  },
});
