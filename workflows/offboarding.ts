/**
 * offboardAwsConnection: onboarding in reverse. Drop the connection (so Materialize stops using the role), detach
 * and delete the policy with all its versions, delete the role. Only what is bound to this connection (the tags
 * onboarding puts on its role and policy), all checked before anything is dropped, under the same claims on the
 * role and policy names as onboarding; each step does nothing when its object is already gone, so it can be run
 * again. The bucket's data stays unless deleteData is set. Trust only ever narrows: the role's trust policy is
 * never edited, only the role deleted.
 */
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../common/activities';
import { resolveOffboardInput } from '../common/onboarding/input';
import { OFFBOARDING_STEPS, type OffboardResult } from '../common/onboarding/progress';
import type { OffboardInput } from '../common/onboarding/types';
import { claimId, withClaims } from './iam-claims';
import { startSteps } from './step-runner';
import { MzConnection } from '../common/search-attributes';

// The activities heartbeat while they wait on AWS or pg, so a lost worker is noticed within the heartbeat timeout.
const acts = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { maximumAttempts: 1 },
});

export async function offboardAwsConnection(rawInput: OffboardInput): Promise<OffboardResult> {
  const { steps, input } = startSteps('offboardAwsConnection', OFFBOARDING_STEPS, () => resolveOffboardInput(rawInput));
  const progress = steps.progress;
  const bound = { boundSeconds: input.stepTimeoutSeconds };
  upsertSearchAttributes([{ key: MzConnection, value: input.connectionName }]);

  const identity = await steps.run('preflight', bound, () => acts.readAwsIdentity());
  const claims = [claimId(identity.accountId, 'role', input.roleName), claimId(identity.accountId, 'policy', input.policyName)];
  return withClaims(claims, (message) => steps.fail('preflight', 'ConflictError', message), async () => {
    const names = {
      materializeProfile: input.materializeProfile,
      connectionName: input.connectionName,
      roleName: input.roleName,
      policyName: input.policyName,
    };
    const pre = await steps.run('preflight', bound, () => acts.preflightOffboarding(names));
    const owner = { binding: pre.binding, connectionName: input.connectionName, roleName: input.roleName };

    const connection = await steps.run('connection', bound, () => acts.dropMzConnection(names));
    if (connection.dropped) steps.change(`connection ${input.connectionName}: dropped`);

    const policy = await steps.run('policy', bound, () => acts.deleteIamPolicy({ ...owner, policyName: input.policyName }));
    if (policy.deleted) steps.change(`policy ${input.policyName}: detached and deleted (${policy.versionsDeleted} versions)`);

    const role = await steps.run('role', bound, () => acts.deleteIamRole(owner));
    if (role.deleted) steps.change(`role ${input.roleName}: deleted`);

    let data = { objectsDeleted: 0, bucketDeleted: false };
    if (input.deleteData && input.bucket && input.prefix) {
      const target = { bucket: input.bucket, prefix: input.prefix };
      data = await steps.run('data', bound, () => acts.deleteOnboardedData(target));
      steps.change(`bucket ${input.bucket}: ${data.objectsDeleted} objects under ${input.prefix}/ deleted`);
      if (data.bucketDeleted) steps.change(`bucket ${input.bucket}: deleted`);
    }

    progress.status = 'completed';
    return {
      connectionDropped: connection.dropped,
      policyDeleted: policy.deleted,
      policyVersionsDeleted: policy.versionsDeleted,
      roleDeleted: role.deleted,
      objectsDeleted: data.objectsDeleted,
      bucketDeleted: data.bucketDeleted,
      changes: progress.changes,
    };
  });
}
