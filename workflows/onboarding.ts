/**
 * onboardAwsConnection: the guide's Steps 1 and 2 as one durable, idempotent run. Each step is an ensure
 * activity, so a crash, a restart or a second run with the same input converges instead of duplicating, and a
 * second run after the connection was recreated (new external ID) repairs the trust policy.
 *
 * Trust: the role is created only once Materialize has reported this connection's principal and external ID,
 * directly with the trust policy naming exactly those (no placeholder ever exists), and every check that can fail
 * (names owned by someone else, the bucket, the principal) runs before the first write, under claims on the role
 * and policy names so a concurrent run cannot slip in between check and write (see docs/security.md).
 */
import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { runFailure } from '../common/failures';
import type { Activities } from '../common/activities';
import { resolveOnboardInput, type ResolvedOnboardInput } from '../common/onboarding/input';
import { ONBOARDING_STEPS, type OnboardResult } from '../common/onboarding/progress';
import type { OnboardInput } from '../common/onboarding/types';
import { claimId, withClaims } from './iam-claims';
import { startSteps, withWhatWasMade, type StepRunner } from './step-runner';
import { MzConnection } from '../common/search-attributes';

// One attempt per activity call: the step runner retries, so the query sees every attempt and `retryNow` works.
// The activities heartbeat while they wait on AWS or pg: a worker lost mid-step is noticed after the heartbeat
// timeout, not the start-to-close bound, which stays the limit for a step that is alive but stuck.
const heartbeatTimeout = '10 seconds';
const quick = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', heartbeatTimeout, retry: { maximumAttempts: 1 } });
const slow = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout, retry: { maximumAttempts: 1 } });

export async function onboardAwsConnection(rawInput: OnboardInput): Promise<OnboardResult> {
  const { steps, input } = startSteps('onboardAwsConnection', ONBOARDING_STEPS, () => resolveOnboardInput(rawInput));
  upsertSearchAttributes([{ key: MzConnection, value: input.connectionName }]);
  try {
    return await onboard(steps, input);
  } catch (e) {
    throw withWhatWasMade(e, steps.progress.changes, { connectionName: input.connectionName, roleName: input.roleName, policyName: input.policyName });
  }
}

function withNote(e: unknown, note: string): unknown {
  if (!(e instanceof ApplicationFailure)) return e;
  return runFailure(e.type ?? 'Error', `${e.message} (${note})`);
}

async function onboard(steps: StepRunner, input: ResolvedOnboardInput): Promise<OnboardResult> {
  const progress = steps.progress;
  const found = progress.found;
  const profile = input.materializeProfile;
  const bound = { boundSeconds: input.stepTimeoutSeconds };

  // 2. Preflight: claim the role and policy names (one run at a time per name), then check everything read-only.
  const identity = await steps.run('preflight', bound, () => quick.readAwsIdentity());
  const claims = [claimId(identity.accountId, 'role', input.roleName), claimId(identity.accountId, 'policy', input.policyName)];
  return withClaims(claims, (message) => steps.fail('preflight', 'ConflictError', message), async () => {
    const checks = {
      materializeProfile: profile,
      bucket: input.bucket,
      region: input.region,
      createBucket: input.createBucket,
      roleName: input.roleName,
      policyName: input.policyName,
      connectionName: input.connectionName,
      materializePrincipal: input.materializePrincipal,
    };
    const pre = await steps.run('preflight', bound, () => quick.preflightOnboarding(checks));
    const roleArn = pre.roleArn;

    // 3. CREATE CONNECTION with the role's ARN, known before the role exists (validation off until it does).
    const connection = await steps.run('connection', bound, () =>
      quick.ensureMzConnection({ materializeProfile: profile, connectionName: input.connectionName, roleArn, region: pre.region }),
    );
    steps.change(connection.change);
    found.connectionId = connection.connectionId;

    // 4. What Materialize says: its principal and the connection's external ID; every check again with them.
    const mz = await steps.run('catalog', bound, () =>
      quick.readMzConnection({ materializeProfile: profile, connectionName: input.connectionName, roleArn }),
    );
    found.connectionId = mz.connectionId;
    found.principal = mz.principal;
    found.externalId = mz.externalId;
    try {
      await steps.run('catalog', bound, () =>
        quick.preflightOnboarding({ ...checks, reported: { principal: mz.principal, externalId: mz.externalId } }),
      );
    } catch (e) {
      // The connection is the only write so far: one this run created is dropped again, so nothing is left.
      if (!connection.change) throw e;
      const drop = { materializeProfile: profile, connectionName: input.connectionName, roleName: input.roleName };
      const dropped = await quick.dropMzConnection(drop).then(
        () => true,
        () => false,
      );
      if (!dropped) throw e; // reported with the creation among the run's changes
      progress.changes.length = 0;
      throw withNote(e, `connection ${input.connectionName}, which this run had created, was dropped again: nothing is left`);
    }

    // 5. Bucket: created with the guide's defaults, or adopted.
    const bucket = await steps.run('bucket', bound, () =>
      quick.ensureBucket({ bucket: input.bucket, region: input.region, createBucket: input.createBucket }),
    );
    steps.change(bucket.change);
    found.bucketRegion = bucket.region;

    // 6. Policy: exactly the three actions on <bucket>/<prefix>/*, bound to this connection.
    const owner = { binding: pre.binding, connectionName: input.connectionName, roleName: input.roleName };
    const policy = await steps.run('policy', bound, () =>
      quick.ensureIamPolicy({ ...owner, policyName: input.policyName, bucket: input.bucket, prefix: input.prefix }),
    );
    steps.change(policy.change);
    found.policyArn = policy.policyArn;

    // 7. Role: trusting exactly Materialize's principal with this connection's external ID from its first moment.
    const trust = { roleName: input.roleName, principal: mz.principal, externalId: mz.externalId };
    const role = await steps.run('role', bound, () =>
      quick.ensureIamRole({ ...owner, ...trust, policyArn: policy.policyArn, expectedArn: roleArn }),
    );
    role.changes.forEach((c) => steps.change(c));
    found.roleArn = role.roleArn;

    // 8. VALIDATE CONNECTION, waiting out IAM propagation; fatal at once for what waiting cannot fix.
    await steps.run(
      'validate-connection',
      {
        boundSeconds: input.validationTimeoutSeconds,
        timeoutHint: `IAM may need longer (run again with a larger validationTimeoutSeconds), or role ${roleArn} does not let ${mz.principal} assume it with external ID ${mz.externalId}`,
      },
      async () => {
        await quick.checkTrustPolicy(trust);
        await slow.validateMzConnection({ materializeProfile: profile, connectionName: input.connectionName });
      },
    );
    const validatedAt = new Date().toISOString();
    const validationAttempts = progress.attempts;

    // 9. Prove PutObject, ListBucket and DeleteObject with a tiny COPY, then remove what it wrote.
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
      principal: mz.principal,
      externalId: mz.externalId,
      validatedAt,
      validationAttempts,
      probe,
      changes: progress.changes,
    };
  });
}
