/**
 * onboardS3CompatibleConnection: Materialize's guide "S3 compatible object storage" (Google Cloud Storage,
 * Cloudflare R2, MinIO, ...) as durable steps. The input names the worker's storage profile; the worker reads the
 * access key from its own environment, never from this input or history, and puts it into two Materialize
 * secrets; the connection is an AWS connection with ACCESS KEY ID and SECRET ACCESS KEY read from them, ENDPOINT
 * and REGION. No IAM, and no VALIDATE CONNECTION (it asks STS, which these stores do not have): a probe COPY
 * proves access. Running it again with a rotated key updates the secrets (ALTER SECRET) and keeps the connection.
 */
import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../common/activities';
import { resolveCompatibleOnboardInput } from '../common/onboarding/input';
import { COMPATIBLE_ONBOARDING_STEPS, type CompatibleOnboardResult } from '../common/onboarding/progress';
import type { CompatibleOnboardInput } from '../common/onboarding/types';
import { MzConnection } from '../common/search-attributes';
import { startSteps, withWhatWasMade } from './step-runner';

const acts = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '10 seconds', retry: { maximumAttempts: 1 } });

export async function onboardS3CompatibleConnection(rawInput: CompatibleOnboardInput): Promise<CompatibleOnboardResult> {
  const { steps, input } = startSteps('onboardS3CompatibleConnection', COMPATIBLE_ONBOARDING_STEPS, () => resolveCompatibleOnboardInput(rawInput));
  upsertSearchAttributes([{ key: MzConnection, value: input.connectionName }]);
  const progress = steps.progress;
  const bound = { boundSeconds: input.stepTimeoutSeconds };
  const target = { materializeProfile: input.materializeProfile, storageProfile: input.storageProfile, connectionName: input.connectionName };
  try {
    const pre = await steps.run('preflight', bound, () => acts.preflightCompatibleOnboarding({ ...target, bucket: input.bucket, prefix: input.prefix }));
    progress.found.endpoint = pre.endpoint;

    const secrets = await steps.run('secrets', bound, () => acts.ensureMzStorageSecrets(target));
    steps.change(secrets.change);

    const connection = await steps.run('connection', bound, () => acts.ensureMzAccessKeyConnection(target));
    steps.change(connection.change);
    progress.found.connectionId = connection.connectionId;

    const runId = workflowInfo().runId;
    const probe = await steps.run('probe', bound, (attempt) =>
      acts.probeMzConnection({ ...target, bucket: input.bucket, prefix: input.prefix, runId, attempt }),
    );
    progress.status = 'completed';
    return {
      storageProfile: input.storageProfile,
      bucket: input.bucket,
      prefix: input.prefix,
      endpoint: pre.endpoint,
      region: pre.region,
      connectionName: input.connectionName,
      connectionId: connection.connectionId,
      secrets: secrets.secrets,
      probe,
      changes: progress.changes,
    };
  } catch (e) {
    throw withWhatWasMade(e, progress.changes, { storageProfile: input.storageProfile, connectionName: input.connectionName }, 'offboardS3CompatibleConnection');
  }
}
