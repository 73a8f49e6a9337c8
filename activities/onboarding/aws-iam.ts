/**
 * The IAM side of onboarding and offboarding. Each ensure-activity converges: it creates what is missing,
 * adopts what matches, updates what this project owns, and fails with a ConflictError saying what differs when
 * adopting would be wrong. Documents come from common/iam-policies.ts.
 */
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  GetPolicyVersionCommand,
  ListAttachedRolePoliciesCommand,
  ListInstanceProfilesForRoleCommand,
  ListPolicyVersionsCommand,
  ListRolePoliciesCommand,
  TagPolicyCommand,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { ConflictError, InsecureTrustPolicyError, UserFixableError } from '../../common/failures';
import {
  assessTrustPolicy,
  parsePolicyDocument,
  policyDifferences,
  s3AccessPolicy,
  serializePolicy,
  trustPolicy,
  type PolicyDocument,
} from '../../common/iam-policies';
import {
  bindingOf,
  deletionProblem,
  ownershipTags,
  policyAdoptionProblem,
  principalProblem,
  roleAdoptionProblem,
  type OwnerIntent,
} from '../../common/onboarding/ownership';
import { explainAccessDenied, awsErrorName } from '../aws-errors';
import type { ActivityDeps } from '../deps';
import { heartbeating } from '../heartbeat';
import type {
  AwsIamActivities,
  AwsIdentity,
  EnsurePolicyInput,
  EnsurePolicyResult,
  EnsureRoleInput,
  Owner,
  TrustPolicyInput,
} from '../../common/onboarding/activities';
import { awsIdentity, getRole, readPolicyFacts, readRoleFacts } from './iam-ownership';

export function createAwsIamActivities({ aws: clients }: ActivityDeps): AwsIamActivities {
  const { iam, sts } = clients;
  // The worker's identity does not change while it runs: asked once (a failed call is asked again).
  let identity: AwsIdentity | undefined;
  const whoAmI = async () => (identity ??= await awsIdentity(sts));
  const account = async () => (await whoAmI()).accountId;
  const policyArnOf = async (name: string) => {
    const { partition, accountId } = await whoAmI();
    return `arn:${partition}:iam::${accountId}:policy/${name}`;
  };

  async function policyDocument(policyArn: string, versionId: string): Promise<PolicyDocument> {
    const version = await explainAccessDenied(`read policy ${policyArn}`, () =>
      iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId })),
    );
    return parsePolicyDocument(version.PolicyVersion!.Document!);
  }

  /**
   * The S3 policy with exactly the three actions, tagged with the connection it serves; a new default version
   * when an existing one of this connection differs. One that serves anything else is refused, never rewritten.
   */
  async function ensureIamPolicy(input: EnsurePolicyInput): Promise<EnsurePolicyResult> {
    const policyArn = await policyArnOf(input.policyName);
    const wanted = s3AccessPolicy(input.bucket, input.prefix);
    const facts = await readPolicyFacts(iam, input.policyName, policyArn);
    if (!facts) {
      try {
        await explainAccessDenied(`create policy ${input.policyName}`, () =>
          iam.send(
            new CreatePolicyCommand({
              PolicyName: input.policyName,
              PolicyDocument: serializePolicy(wanted),
              Description: `mz-s3-export: Materialize COPY TO s3://${input.bucket}/${input.prefix}/`,
              Tags: ownershipTags(input.binding),
            }),
          ),
        );
      } catch (e) {
        // Created meanwhile (a retry after a lost response, or someone else): converge on, or refuse, what is there.
        if (awsErrorName(e) !== 'EntityAlreadyExists') throw e;
        return ensureIamPolicy(input);
      }
      return { policyArn, accountId: await account(), change: `policy ${input.policyName}: created` };
    }
    const problem = policyAdoptionProblem(facts, input);
    if (problem) throw new ConflictError(problem);
    let adopted: string | undefined;
    if (bindingOf(facts.tags) !== input.binding) {
      await explainAccessDenied(`tag policy ${policyArn}`, () => iam.send(new TagPolicyCommand({ PolicyArn: policyArn, Tags: ownershipTags(input.binding) })));
      adopted = `policy ${input.policyName}: adopted for connection ${input.connectionName} and tagged`;
    }
    const diffs = policyDifferences(await policyDocument(policyArn, facts.defaultVersionId), wanted);
    if (diffs.length === 0) return { policyArn, accountId: await account(), change: adopted };
    // IAM keeps at most five versions: make room by deleting the oldest that is not the default.
    const versions = (
      await explainAccessDenied(`list versions of policy ${policyArn}`, () => iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn })))
    ).Versions ?? [];
    if (versions.length >= 5) {
      const oldest = versions
        .filter((v) => !v.IsDefaultVersion)
        .sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0))[0];
      await explainAccessDenied(`delete a version of policy ${policyArn}`, () =>
        iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: oldest.VersionId })),
      );
    }
    const created = await explainAccessDenied(`create a version of policy ${policyArn}`, () =>
      iam.send(new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: serializePolicy(wanted), SetAsDefault: true })),
    );
    const changed = `policy ${input.policyName}: new default version ${created.PolicyVersion?.VersionId} replacing ${facts.defaultVersionId} (${diffs.join('; ')})`;
    return { policyArn, accountId: await account(), change: adopted ? `${adopted}; ${changed}` : changed };
  }

  return heartbeating({
    ensureIamPolicy,

    /**
     * The role, tagged with the connection it serves, trusting exactly Materialize's principal with this
     * connection's external ID from the moment it exists (never a placeholder), the policy attached. An existing
     * role of this connection gets that trust policy in one call (also the repair after the connection was
     * recreated); one that serves anything else is refused, never taken over.
     */
    async ensureIamRole(input: EnsureRoleInput): Promise<{ roleArn: string; changes: string[] }> {
      const principal = principalProblem(input.principal, input.expectedArn.split(':')[1]);
      if (principal) throw new ConflictError(`Materialize's principal: ${principal}; no role is created for it`);
      const wanted = trustPolicy(input.principal, input.externalId);
      const changes: string[] = [];
      let role = await readRoleFacts(iam, input.roleName);
      if (!role) {
        try {
          await explainAccessDenied(`create role ${input.roleName}`, () =>
            iam.send(
              new CreateRoleCommand({
                RoleName: input.roleName,
                AssumeRolePolicyDocument: serializePolicy(wanted),
                Description: `mz-s3-export: assumed by Materialize for COPY TO S3 (connection ${input.connectionName})`,
                Tags: ownershipTags(input.binding),
              }),
            ),
          );
          changes.push(`role ${input.roleName}: created, trusting ${input.principal} with external ID ${input.externalId}`);
        } catch (e) {
          if (awsErrorName(e) !== 'EntityAlreadyExists') throw e;
        }
        role = await readRoleFacts(iam, input.roleName);
        if (!role) throw new Error(`role ${input.roleName} vanished right after it was created; retrying`);
      }
      const problem = roleAdoptionProblem(role, { ...input, expectedArn: input.expectedArn });
      if (problem) throw new ConflictError(problem);
      if (bindingOf(role.tags) !== input.binding) {
        await explainAccessDenied(`tag role ${input.roleName}`, () => iam.send(new TagRoleCommand({ RoleName: input.roleName, Tags: ownershipTags(input.binding) })));
        changes.push(`role ${input.roleName}: adopted for connection ${input.connectionName} and tagged`);
      }
      const diffs = policyDifferences(role.trustPolicy, wanted);
      if (diffs.length) {
        // One call replaces the whole document, so the role is never without an external-ID condition.
        await explainAccessDenied(`update the trust policy of role ${input.roleName}`, () =>
          iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: input.roleName, PolicyDocument: serializePolicy(wanted) })),
        );
        changes.push(`role ${input.roleName}: trust policy now requires external ID ${input.externalId} (${diffs.join('; ')})`);
      }
      const attached = await explainAccessDenied(`list the policies of role ${input.roleName}`, () =>
        iam.send(new ListAttachedRolePoliciesCommand({ RoleName: input.roleName })),
      );
      if (!(attached.AttachedPolicies ?? []).some((p) => p.PolicyArn === input.policyArn)) {
        await explainAccessDenied(`attach policy ${input.policyArn} to role ${input.roleName}`, () =>
          iam.send(new AttachRolePolicyCommand({ RoleName: input.roleName, PolicyArn: input.policyArn })),
        );
        changes.push(`role ${input.roleName}: policy ${input.policyArn} attached`);
      }
      return { roleArn: role.arn, changes };
    },

    /**
     * Before each VALIDATE CONNECTION: errors that waiting cannot fix fail at once (role gone, trust policy
     * without an external ID, or edited to something else meanwhile).
     */
    async checkTrustPolicy(input: TrustPolicyInput): Promise<void> {
      const role = await getRole(iam, input.roleName);
      if (!role) {
        throw new UserFixableError(`role ${input.roleName} does not exist (deleted during onboarding?); run onboarding again to recreate it`);
      }
      const doc = parsePolicyDocument(role.AssumeRolePolicyDocument!);
      if (assessTrustPolicy(doc).assumableWithoutExternalId) {
        throw new InsecureTrustPolicyError(
          `the trust policy of role ${role.Arn} lets it be assumed without an external ID, so any Materialize customer could assume it; ` +
            `restore the condition StringEquals sts:ExternalId = ${input.externalId} (running onboarding again rewrites it)`,
        );
      }
      const diffs = policyDifferences(doc, trustPolicy(input.principal, input.externalId));
      if (diffs.length) {
        throw new ConflictError(
          `the trust policy of role ${role.Arn} changed during onboarding (${diffs.join('; ')}); run onboarding again to restore it`,
        );
      }
    },

    /**
     * Offboarding: detach the policy from the role, delete its other versions, delete it; only a policy bound to
     * this connection and attached to nothing else. Missing: nothing to do.
     */
    async deleteIamPolicy(input: Owner & { policyName: string }): Promise<{ deleted: boolean; versionsDeleted: number }> {
      const policyArn = await policyArnOf(input.policyName);
      const facts = await readPolicyFacts(iam, input.policyName, policyArn);
      if (!facts) return { deleted: false, versionsDeleted: 0 };
      const problem = deletionProblem('policy', input.policyName, facts.tags, input) ?? policyAdoptionProblem(facts, input);
      if (problem) throw new ConflictError(problem);
      if (facts.attachedTo.includes(`role ${input.roleName}`)) {
        await explainAccessDenied(`detach policy ${policyArn} from role ${input.roleName}`, () =>
          iam.send(new DetachRolePolicyCommand({ RoleName: input.roleName, PolicyArn: policyArn })),
        );
      }
      const versions = (
        await explainAccessDenied(`list versions of policy ${policyArn}`, () => iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn })))
      ).Versions ?? [];
      let versionsDeleted = 0;
      for (const v of versions.filter((v) => !v.IsDefaultVersion)) {
        await explainAccessDenied(`delete a version of policy ${policyArn}`, () =>
          iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: v.VersionId })),
        );
        versionsDeleted++;
      }
      await explainAccessDenied(`delete policy ${policyArn}`, () => iam.send(new DeletePolicyCommand({ PolicyArn: policyArn })));
      return { deleted: true, versionsDeleted: versionsDeleted + 1 };
    },

    /** Offboarding: delete the role bound to this connection once nothing else hangs on it. Missing: nothing to do. */
    async deleteIamRole(input: Owner): Promise<{ deleted: boolean }> {
      const role = await readRoleFacts(iam, input.roleName);
      if (!role) return { deleted: false };
      const problem = deletionProblem('role', input.roleName, role.tags, input);
      if (problem) throw new ConflictError(problem);
      const attached = (
        await explainAccessDenied(`list the policies of role ${input.roleName}`, () => iam.send(new ListAttachedRolePoliciesCommand({ RoleName: input.roleName })))
      ).AttachedPolicies ?? [];
      const inline = (
        await explainAccessDenied(`list the inline policies of role ${input.roleName}`, () => iam.send(new ListRolePoliciesCommand({ RoleName: input.roleName })))
      ).PolicyNames ?? [];
      const profiles = (
        await explainAccessDenied(`list the instance profiles of role ${input.roleName}`, () =>
          iam.send(new ListInstanceProfilesForRoleCommand({ RoleName: input.roleName })),
        )
      ).InstanceProfiles ?? [];
      const blockers = [
        ...attached.map((p) => `attached policy ${p.PolicyArn}`),
        ...inline.map((n) => `inline policy ${n}`),
        ...profiles.map((p) => `instance profile ${p.InstanceProfileName}`),
      ];
      if (blockers.length) {
        throw new ConflictError(
          `role ${input.roleName} still has ${blockers.join(', ')}, which this project did not put there; remove them first, or keep the role`,
        );
      }
      await explainAccessDenied(`delete role ${input.roleName}`, () => iam.send(new DeleteRoleCommand({ RoleName: input.roleName })));
      return { deleted: true };
    },
  });
}
