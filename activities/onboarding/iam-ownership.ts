/**
 * Reads what the ownership rules of common/onboarding/ownership.ts decide on: a role's or policy's tags, trust
 * policy and attachments. Read-only; the preflight and the ensure/delete activities (right before they write)
 * share these readers.
 */
import {
  GetPolicyCommand,
  GetRoleCommand,
  ListEntitiesForPolicyCommand,
  ListPolicyTagsCommand,
  ListRoleTagsCommand,
  type IAMClient,
  type Role,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { arnPartition } from '../../common/aws-names';
import { parsePolicyDocument } from '../../common/iam-policies';
import type { PolicyFacts, RoleFacts, Tags } from '../../common/onboarding/ownership';
import { explainAccessDenied, isNotFound } from '../aws-errors';
import type { AwsIdentity } from '../../common/onboarding/activities';

export async function awsIdentity(sts: STSClient): Promise<AwsIdentity> {
  const who = await explainAccessDenied('call sts:GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({})));
  return { accountId: who.Account!, partition: arnPartition(who.Arn ?? '') ?? 'aws' };
}

export async function getRole(iam: IAMClient, roleName: string): Promise<Role | undefined> {
  try {
    return (await explainAccessDenied(`read role ${roleName}`, () => iam.send(new GetRoleCommand({ RoleName: roleName })))).Role;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** A role's facts; `otherConnections` is filled in by the caller that can ask Materialize. */
export async function readRoleFacts(iam: IAMClient, roleName: string, otherConnections: string[] = []): Promise<RoleFacts | undefined> {
  const role = await getRole(iam, roleName);
  if (!role) return undefined;
  // GetRole returns tags on AWS; ListRoleTags is the documented way and also works where GetRole omits them.
  const tags: Tags =
    role.Tags ?? (await explainAccessDenied(`read the tags of role ${roleName}`, () => iam.send(new ListRoleTagsCommand({ RoleName: roleName })))).Tags;
  return { roleName, arn: role.Arn!, tags, trustPolicy: parsePolicyDocument(role.AssumeRolePolicyDocument!), otherConnections };
}

export async function readPolicyFacts(iam: IAMClient, policyName: string, policyArn: string): Promise<(PolicyFacts & { defaultVersionId: string }) | undefined> {
  let policy;
  try {
    policy = (await explainAccessDenied(`read policy ${policyArn}`, () => iam.send(new GetPolicyCommand({ PolicyArn: policyArn })))).Policy!;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  const tags: Tags =
    policy.Tags ?? (await explainAccessDenied(`read the tags of policy ${policyArn}`, () => iam.send(new ListPolicyTagsCommand({ PolicyArn: policyArn })))).Tags;
  const entities = await explainAccessDenied(`list what uses policy ${policyArn}`, () => iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: policyArn })));
  const attachedTo = [
    ...(entities.PolicyRoles ?? []).map((r) => `role ${r.RoleName}`),
    ...(entities.PolicyUsers ?? []).map((u) => `user ${u.UserName}`),
    ...(entities.PolicyGroups ?? []).map((g) => `group ${g.GroupName}`),
  ];
  return { policyName, arn: policyArn, tags, attachedTo, defaultVersionId: policy.DefaultVersionId! };
}
