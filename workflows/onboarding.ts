/**
 * onboardAwsConnection: the guide's Steps 1 and 2 as one durable, idempotent run. Each step is an ensure
 * activity, so a crash, a restart or a second run with the same input converges instead of duplicating, and a
 * second run after the connection was recreated (new external ID) repairs the trust policy.
 */
import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { placeholderTrustPolicy, trustPolicy } from '../common/iam-policies';
import { resolveOnboardInput } from '../common/onboarding/input';
import { ONBOARDING_STEPS, type OnboardResult } from '../common/onboarding/progress';
import type { OnboardInput } from '../common/onboarding/types';
import { startSteps } from './onboarding-messages';

// One attempt per activity call: the step runner retries, so the query sees every attempt and `retryNow` works.
// The activities heartbeat while they wait on AWS or pg: a worker lost mid-step is noticed after the heartbeat
// timeout, not the start-to-close bound, which stays the limit for a step that is alive but stuck.
const heartbeatTimeout = '10 seconds';
const quick = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', heartbeatTimeout, retry: { maximumAttempts: 1 } });
const slow = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout, retry: { maximumAttempts: 1 } });

export async function onboardAwsConnection(rawInput: OnboardInput): Promise<OnboardResult> {
  const { steps, input } = startSteps('onboardAwsConnection', ONBOARDING_STEPS, () => resolveOnboardInput(rawInput));
  const progress = steps.progress;
  const found = progress.found;
  const profile = input.materializeProfile;
  const bound = { boundSeconds: input.stepTimeoutSeconds };
  upsertSearchAttributes({ MzConnection: [input.connectionName] });

  // 1. Bucket: created with the guide's defaults, or adopted.
  const bucket = await steps.run('bucket', bound, () =>
    quick.ensureBucket({ bucket: input.bucket, region: input.region, createBucket: input.createBucket }),
  );
  steps.change(bucket.change);
  found.bucketRegion = bucket.region;

  // 2. Policy: exactly the three actions on <bucket>/<prefix>/*.
  const policy = await steps.run('policy', bound, () =>
    quick.ensureIamPolicy({ policyName: input.policyName, bucket: input.bucket, prefix: input.prefix }),
  );
  steps.change(policy.change);
  found.policyArn = policy.policyArn;

  // 3. Role with the placeholder trust policy, when Materialize's principal is known already (from the input or
  //    another connection of this environment). Otherwise the role waits until the connection reports it, and is
  //    then created with the final trust policy directly: never a trust policy without a principal's external ID.
  const roleStep = async (initial: ReturnType<typeof trustPolicy>, principal: string) => {
    const role = await steps.run('role', bound, () =>
      quick.ensureIamRole({ roleName: input.roleName, policyArn: policy.policyArn, principal, initialTrustPolicy: initial }),
    );
    role.changes.forEach((c) => steps.change(c));
    found.roleArn = role.roleArn;
    return role.roleArn;
  };
  let principal =
    input.materializePrincipal ??
    (await steps.run('role', bound, () => quick.discoverMaterializePrincipal({ materializeProfile: profile }))).principal;
  const expectedRoleArn = `arn:aws:iam::${policy.accountId}:role/${input.roleName}`;
  let roleArn = principal ? await roleStep(placeholderTrustPolicy(principal), principal) : expectedRoleArn;

  // 4. CREATE CONNECTION with the role ARN (validation off until the trust policy names the external ID).
  const connection = await steps.run('connection', bound, () =>
    quick.ensureMzConnection({ materializeProfile: profile, connectionName: input.connectionName, roleArn, region: bucket.region }),
  );
  steps.change(connection.change);
  found.connectionId = connection.connectionId;

  // 5. What Materialize says: its principal and the connection's external ID.
  const mz = await steps.run('catalog', bound, () =>
    quick.readMzConnection({ materializeProfile: profile, connectionName: input.connectionName, roleArn }),
  );
  found.connectionId = mz.connectionId;
  found.principal = mz.principal;
  found.externalId = mz.externalId;
  if (principal && principal !== mz.principal) {
    steps.fail(
      'catalog',
      'ConflictError',
      `materializePrincipal is ${principal} but Materialize reports ${mz.principal}; remove materializePrincipal from the input or correct it`,
    );
  }
  if (!principal) {
    principal = mz.principal;
    roleArn = await roleStep(trustPolicy(principal, mz.externalId), principal);
    if (roleArn !== expectedRoleArn) {
      steps.fail(
        'role',
        'ConflictError',
        `role ${input.roleName} has ARN ${roleArn} (an IAM path), but the connection was created for ${expectedRoleArn}; drop connection ${input.connectionName} or choose another roleName`,
      );
    }
  }

  // 6. The trust policy requires exactly this external ID (also repairs it after the connection was recreated).
  const trust = { roleName: input.roleName, principal, externalId: mz.externalId };
  steps.change((await steps.run('trust-policy', bound, () => quick.ensureTrustPolicy(trust))).change);

  // 7. VALIDATE CONNECTION, waiting out IAM propagation; fatal at once for what waiting cannot fix.
  await steps.run(
    'validate-connection',
    {
      boundSeconds: input.validationTimeoutSeconds,
      timeoutHint: `IAM may need longer (run again with a larger validationTimeoutSeconds), or role ${roleArn} does not let ${principal} assume it with external ID ${mz.externalId}`,
    },
    async () => {
      await quick.checkTrustPolicy(trust);
      await slow.validateMzConnection({ materializeProfile: profile, connectionName: input.connectionName });
    },
  );
  const validatedAt = new Date().toISOString();
  const validationAttempts = progress.attempts;

  // 8. Prove PutObject, ListBucket and DeleteObject with a tiny COPY, then remove what it wrote.
  const runId = workflowInfo().runId;
  const probe = await steps.run('probe', bound, (attempt) =>
    slow.probeMzConnection({
      materializeProfile: profile,
      connectionName: input.connectionName,
      bucket: input.bucket,
      prefix: input.prefix,
      runId,
      attempt,
    }),
  );

  progress.status = 'completed';
  return {
    bucket: input.bucket,
    prefix: input.prefix,
    region: bucket.region,
    roleArn,
    policyArn: policy.policyArn,
    connectionName: input.connectionName,
    connectionId: mz.connectionId,
    principal,
    externalId: mz.externalId,
    validatedAt,
    validationAttempts,
    probe,
    changes: progress.changes,
  };
}
