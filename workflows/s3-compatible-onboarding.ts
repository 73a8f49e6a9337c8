/**
 * onboardAwsConnection and offboardAwsConnection for an S3-compatible store (the input names a storageProfile):
 * Materialize's guide "S3 compatible object storage" as durable steps. The worker reads the access key from its
 * own environment (the profile), never from this input or history; onboarding puts it into two Materialize
 * secrets and creates an access-key connection with the profile's ENDPOINT and REGION; there is no IAM and no
 * VALIDATE CONNECTION (it asks STS, which these stores do not have), so a probe COPY proves access. Running it
 * again with a rotated key updates the secrets (ALTER SECRET) and keeps the connection.
 * Not workflows of their own: the two workflows branch here, so a Web UI user starts the same workflow.
 */
import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../common/activities';
import { resolveCompatibleOffboardInput, resolveCompatibleOnboardInput } from '../common/onboarding/input';
import {
  COMPATIBLE_OFFBOARDING_STEPS,
  COMPATIBLE_ONBOARDING_STEPS,
  type CompatibleOnboardResult,
  type OffboardResult,
} from '../common/onboarding/progress';
import { MzConnection } from '../common/search-attributes';
import { startSteps, withWhatWasMade } from './step-runner';

const acts = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '10 seconds', retry: { maximumAttempts: 1 } });

export async function onboardS3Compatible(rawInput: unknown): Promise<CompatibleOnboardResult> {
  const { steps, input } = startSteps('onboardAwsConnection', COMPATIBLE_ONBOARDING_STEPS, () => resolveCompatibleOnboardInput(rawInput));
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
    throw withWhatWasMade(e, progress.changes, { storageProfile: input.storageProfile, connectionName: input.connectionName });
  }
}

export async function offboardS3Compatible(rawInput: unknown): Promise<OffboardResult> {
  const { steps, input } = startSteps('offboardAwsConnection', COMPATIBLE_OFFBOARDING_STEPS, () => resolveCompatibleOffboardInput(rawInput));
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
