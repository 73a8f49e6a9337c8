import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../common/activities';

const { checkDependencies } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 1 },
});

/** Asks the worker to reach S3, STS and Materialize: proves the worker's configuration end to end. */
export async function healthCheck(input: { materializeProfile?: string } = {}) {
  return checkDependencies(input);
}
