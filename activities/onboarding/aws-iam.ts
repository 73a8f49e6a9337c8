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
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListInstanceProfilesForRoleCommand,
  ListPolicyVersionsCommand,
  ListRolePoliciesCommand,
  TagPolicyCommand,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  type IAMClient,
  type Role,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { ConflictError, InsecureTrustPolicyError, UserFixableError } from '../../common/failures';
import {
  MANAGED_BY_TAG,
  assessTrustPolicy,
  parsePolicyDocument,
  policyDifferences,
  s3AccessPolicy,
  serializePolicy,
  trustPolicy,
  trustsOnlyPrincipal,
  type PolicyDocument,
} from '../../common/iam-policies';
import { aws, awsErrorName, isNotFound } from '../aws-errors';
import type { ActivityDeps } from '../deps';
import { heartbeating } from '../heartbeat';

const isManaged = (tags: { Key?: string; Value?: string }[] | undefined) =>
  (tags ?? []).some((t) => t.Key === MANAGED_BY_TAG.Key && t.Value === MANAGED_BY_TAG.Value);

export interface EnsurePolicyResult {
  policyArn: string;
  accountId: string;
  change?: string;
}

export interface EnsureRoleInput {
  roleName: string;
  policyArn: string;
  /** Materialize's principal: an existing role this project did not tag is adopted only when it trusts just it. */
  principal: string;
  /** The trust policy a new role starts with (the placeholder, or the final one when the external ID is known). */
  initialTrustPolicy: PolicyDocument;
}

export interface TrustPolicyInput {
  roleName: string;
  principal: string;
  externalId: string;
}

async function getRole(iam: IAMClient, roleName: string): Promise<Role | undefined> {
  try {
    return (await aws(`read role ${roleName}`, () => iam.send(new GetRoleCommand({ RoleName: roleName })))).Role;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export function createAwsIamActivities({ aws: clients }: ActivityDeps) {
  const { iam, sts } = clients;
  let accountId: string | undefined;
  const account = async () =>
    (accountId ??= (await aws('call sts:GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({}))))
      .Account as string);
  const policyArnOf = async (name: string) => `arn:aws:iam::${await account()}:policy/${name}`;

  async function defaultPolicyDocument(policyArn: string): Promise<{ doc: PolicyDocument; versionId: string } | undefined> {
    let policy;
    try {
      policy = (await aws(`read policy ${policyArn}`, () => iam.send(new GetPolicyCommand({ PolicyArn: policyArn })))).Policy;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const versionId = policy!.DefaultVersionId!;
    const version = await aws(`read policy ${policyArn}`, () =>
      iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId })),
    );
    return { doc: parsePolicyDocument(version.PolicyVersion!.Document!), versionId };
  }

  /** Step 2: the S3 policy with exactly the three actions; a new default version when an existing one differs. */
  async function ensureIamPolicy(input: { policyName: string; bucket: string; prefix: string }): Promise<EnsurePolicyResult> {
    const policyArn = await policyArnOf(input.policyName);
    const wanted = s3AccessPolicy(input.bucket, input.prefix);
    const existing = await defaultPolicyDocument(policyArn);
    if (!existing) {
      try {
        await aws(`create policy ${input.policyName}`, () =>
          iam.send(
            new CreatePolicyCommand({
              PolicyName: input.policyName,
              PolicyDocument: serializePolicy(wanted),
              Description: `mz-s3-export: Materialize COPY TO s3://${input.bucket}/${input.prefix}/`,
              Tags: [{ ...MANAGED_BY_TAG }],
            }),
          ),
        );
      } catch (e) {
        // Created meanwhile (a retry after a lost response): converge on what is there.
        if (awsErrorName(e) !== 'EntityAlreadyExists') throw e;
        return ensureIamPolicy(input);
      }
      return { policyArn, accountId: await account(), change: `policy ${input.policyName}: created` };
    }
    const diffs = policyDifferences(existing.doc, wanted);
    if (diffs.length === 0) return { policyArn, accountId: await account() };
    // IAM keeps at most five versions: make room by deleting the oldest that is not the default.
    const versions = (
      await aws(`list versions of policy ${policyArn}`, () => iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn })))
    ).Versions ?? [];
    if (versions.length >= 5) {
      const oldest = versions
        .filter((v) => !v.IsDefaultVersion)
        .sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0))[0];
      await aws(`delete a version of policy ${policyArn}`, () =>
        iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: oldest.VersionId })),
      );
    }
    const created = await aws(`create a version of policy ${policyArn}`, () =>
      iam.send(new CreatePolicyVersionCommand({ PolicyArn: policyArn, PolicyDocument: serializePolicy(wanted), SetAsDefault: true })),
    );
    await aws(`tag policy ${policyArn}`, () => iam.send(new TagPolicyCommand({ PolicyArn: policyArn, Tags: [{ ...MANAGED_BY_TAG }] })));
    return {
      policyArn,
      accountId: await account(),
      change: `policy ${input.policyName}: new default version ${created.PolicyVersion?.VersionId} replacing ${existing.versionId} (${diffs.join('; ')})`,
    };
  }

  return heartbeating({
    ensureIamPolicy,

    /** Step 3: the role, tagged as ours, with the policy attached. An existing role keeps its trust policy here. */
    async ensureIamRole(input: EnsureRoleInput): Promise<{ roleArn: string; changes: string[] }> {
      const changes: string[] = [];
      let role = await getRole(iam, input.roleName);
      if (!role) {
        try {
          role = (
            await aws(`create role ${input.roleName}`, () =>
              iam.send(
                new CreateRoleCommand({
                  RoleName: input.roleName,
                  AssumeRolePolicyDocument: serializePolicy(input.initialTrustPolicy),
                  Description: 'mz-s3-export: assumed by Materialize for COPY TO S3',
                  Tags: [{ ...MANAGED_BY_TAG }],
                }),
              ),
            )
          ).Role;
          const ids = assessTrustPolicy(input.initialTrustPolicy).externalIds.join(', ');
          changes.push(`role ${input.roleName}: created, trusting ${input.principal} with external ID ${ids}`);
        } catch (e) {
          if (awsErrorName(e) !== 'EntityAlreadyExists') throw e;
          role = await getRole(iam, input.roleName);
        }
      }
      if (!role) throw new Error(`role ${input.roleName} vanished right after it was created; retrying`);
      if (!isManaged(role.Tags)) {
        const doc = parsePolicyDocument(role.AssumeRolePolicyDocument!);
        if (!trustsOnlyPrincipal(doc, input.principal)) {
          const trusted = assessTrustPolicy(doc).principals.join(', ') || 'no principal';
          throw new ConflictError(
            `role ${input.roleName} exists, is not tagged ${MANAGED_BY_TAG.Key}=${MANAGED_BY_TAG.Value}, and trusts ${trusted} rather than only Materialize's principal ${input.principal}; choose another roleName, or delete that role`,
          );
        }
        await aws(`tag role ${input.roleName}`, () => iam.send(new TagRoleCommand({ RoleName: input.roleName, Tags: [{ ...MANAGED_BY_TAG }] })));
        changes.push(`role ${input.roleName}: adopted (it trusted only ${input.principal}) and tagged`);
      }
      const attached = await aws(`list the policies of role ${input.roleName}`, () =>
        iam.send(new ListAttachedRolePoliciesCommand({ RoleName: input.roleName })),
      );
      if (!(attached.AttachedPolicies ?? []).some((p) => p.PolicyArn === input.policyArn)) {
        await aws(`attach policy ${input.policyArn} to role ${input.roleName}`, () =>
          iam.send(new AttachRolePolicyCommand({ RoleName: input.roleName, PolicyArn: input.policyArn })),
        );
        changes.push(`role ${input.roleName}: policy ${input.policyArn} attached`);
      }
      return { roleArn: role.Arn!, changes };
    },

    /** Step 6: the trust policy requires exactly the connection's external ID, from exactly Materialize's principal. */
    async ensureTrustPolicy(input: TrustPolicyInput): Promise<{ change?: string }> {
      const role = await getRole(iam, input.roleName);
      if (!role) throw new UserFixableError(`role ${input.roleName} does not exist any more; run onboarding again to recreate it`);
      const wanted = trustPolicy(input.principal, input.externalId);
      const diffs = policyDifferences(parsePolicyDocument(role.AssumeRolePolicyDocument!), wanted);
      if (diffs.length === 0) return {};
      // One call replaces the whole document, so the role is never without an external-ID condition.
      await aws(`update the trust policy of role ${input.roleName}`, () =>
        iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: input.roleName, PolicyDocument: serializePolicy(wanted) })),
      );
      return { change: `role ${input.roleName}: trust policy now requires external ID ${input.externalId} (${diffs.join('; ')})` };
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

    /** Offboarding: detach the policy from the role, delete its other versions, delete it. Missing: nothing to do. */
    async deleteIamPolicy(input: { policyName: string; roleName: string }): Promise<{ deleted: boolean; versionsDeleted: number }> {
      const policyArn = await policyArnOf(input.policyName);
      try {
        await aws(`read policy ${policyArn}`, () => iam.send(new GetPolicyCommand({ PolicyArn: policyArn })));
      } catch (e) {
        if (isNotFound(e)) return { deleted: false, versionsDeleted: 0 };
        throw e;
      }
      const entities = await aws(`list what uses policy ${policyArn}`, () =>
        iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: policyArn })),
      );
      const others = [
        ...(entities.PolicyRoles ?? []).filter((r) => r.RoleName !== input.roleName).map((r) => `role ${r.RoleName}`),
        ...(entities.PolicyUsers ?? []).map((u) => `user ${u.UserName}`),
        ...(entities.PolicyGroups ?? []).map((g) => `group ${g.GroupName}`),
      ];
      if (others.length) {
        throw new ConflictError(`policy ${policyArn} is also attached to ${others.join(', ')}; detach it there first, or keep it`);
      }
      if ((entities.PolicyRoles ?? []).some((r) => r.RoleName === input.roleName)) {
        await aws(`detach policy ${policyArn} from role ${input.roleName}`, () =>
          iam.send(new DetachRolePolicyCommand({ RoleName: input.roleName, PolicyArn: policyArn })),
        );
      }
      const versions = (
        await aws(`list versions of policy ${policyArn}`, () => iam.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn })))
      ).Versions ?? [];
      let versionsDeleted = 0;
      for (const v of versions.filter((v) => !v.IsDefaultVersion)) {
        await aws(`delete a version of policy ${policyArn}`, () =>
          iam.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: v.VersionId })),
        );
        versionsDeleted++;
      }
      await aws(`delete policy ${policyArn}`, () => iam.send(new DeletePolicyCommand({ PolicyArn: policyArn })));
      return { deleted: true, versionsDeleted: versionsDeleted + 1 };
    },

    /** Offboarding: delete the role once nothing else hangs on it. Missing: nothing to do. */
    async deleteIamRole(input: { roleName: string }): Promise<{ deleted: boolean }> {
      const role = await getRole(iam, input.roleName);
      if (!role) return { deleted: false };
      const attached = (
        await aws(`list the policies of role ${input.roleName}`, () => iam.send(new ListAttachedRolePoliciesCommand({ RoleName: input.roleName })))
      ).AttachedPolicies ?? [];
      const inline = (
        await aws(`list the inline policies of role ${input.roleName}`, () => iam.send(new ListRolePoliciesCommand({ RoleName: input.roleName })))
      ).PolicyNames ?? [];
      const profiles = (
        await aws(`list the instance profiles of role ${input.roleName}`, () =>
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
      await aws(`delete role ${input.roleName}`, () => iam.send(new DeleteRoleCommand({ RoleName: input.roleName })));
      return { deleted: true };
    },
  });
}
