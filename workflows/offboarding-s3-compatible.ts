/**
 * offboardS3CompatibleConnection: onboardS3CompatibleConnection in reverse. Drops the connection and its two
 * secrets (only when the connection reads exactly those secrets) and, when asked, the objects under the prefix;
 * never the bucket, which onboarding did not create. Each step does nothing when its object is already gone.
 */
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../common/activities';
import { resolveCompatibleOffboardInput } from '../common/onboarding/input';
import { COMPATIBLE_OFFBOARDING_STEPS, type OffboardResult } from '../common/onboarding/progress';
import type { CompatibleOffboardInput } from '../common/onboarding/types';
import { MzConnection } from '../common/search-attributes';
import { startSteps } from './step-runner';

const acts = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '10 seconds', retry: { maximumAttempts: 1 } });

export async function offboardS3CompatibleConnection(rawInput: CompatibleOffboardInput): Promise<OffboardResult> {
  const { steps, input } = startSteps('offboardS3CompatibleConnection', COMPATIBLE_OFFBOARDING_STEPS, () => resolveCompatibleOffboardInput(rawInput));
  upsertSearchAttributes([{ key: MzConnection, value: input.connectionName }]);
  const bound = { boundSeconds: input.stepTimeoutSeconds };

  const dropped = await steps.run('connection', bound, () =>
    acts.dropMzAccessKeyConnection({ materializeProfile: input.materializeProfile, connectionName: input.connectionName }),
  );
  if (dropped.connectionDropped) steps.change(`connection ${input.connectionName}: dropped`);
  if (dropped.secretsDropped.length) steps.change(`secrets ${dropped.secretsDropped.join(', ')}: dropped`);

  let objectsDeleted = 0;
  if (input.deleteData && input.bucket && input.prefix) {
    const data = { bucket: input.bucket, prefix: input.prefix, storageProfile: input.storageProfile };
    objectsDeleted = (await steps.run('data', bound, () => acts.deleteOnboardedData(data))).objectsDeleted;
    steps.change(`bucket ${input.bucket}: ${objectsDeleted} objects under ${input.prefix}/ deleted`);
  }
  steps.progress.status = 'completed';
  return {
    connectionDropped: dropped.connectionDropped,
    policyDeleted: false,
    policyVersionsDeleted: 0,
    roleDeleted: false,
    objectsDeleted,
    bucketDeleted: false,
    secretsDropped: dropped.secretsDropped,
    changes: steps.progress.changes,
  };
}
