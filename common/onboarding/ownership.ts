/**
 * Who an IAM role or policy belongs to, and when onboarding or offboarding may touch one. Each role and policy
 * this project makes is bound to the one Materialize connection it serves by a tag (Materialize's environment id
 * and the connection's name); the rules below decide, from facts the activities read, whether adopting, changing
 * or deleting it could take it away from someone else. Pure: the preflight, the ensure activities (again, right
 * before they write) and the unit tests use the same rules, and each refusal says what to change.
 */
import { arnPartition, iamPrincipalArnProblem } from '../aws-names';
import { MANAGED_BY_TAG, PENDING_EXTERNAL_ID, assessTrustPolicy, type PolicyDocument } from '../iam-policies';

/** Materialize's principal goes into a trust policy only in the one shape Materialize uses, in the worker's partition. */
export function principalProblem(principal: string, partition: string): string | undefined {
  const shape = iamPrincipalArnProblem(principal);
  if (shape) return shape;
  const p = arnPartition(principal);
  if (p !== partition) {
    return `"${principal}" is in AWS partition ${p}, but the worker's account is in ${partition}: a role there can only trust principals of its own partition`;
  }
  return undefined;
}

/** The tag that names the connection a role or policy serves. */
export const CONNECTION_TAG_KEY = 'mz-s3-export:connection';

export type Tags = { Key?: string; Value?: string }[] | undefined;

/** The connection a role or policy serves, as its tag value: unique across Materialize environments. */
export function connectionBinding(environmentId: string, connectionName: string): string {
  return `${environmentId}/${connectionName}`;
}

/** The tags a role or policy of this connection carries. */
export function ownershipTags(binding: string): { Key: string; Value: string }[] {
  return [{ ...MANAGED_BY_TAG }, { Key: CONNECTION_TAG_KEY, Value: binding }];
}

export function bindingOf(tags: Tags): string | undefined {
  return (tags ?? []).find((t) => t.Key === CONNECTION_TAG_KEY)?.Value;
}

export function isManaged(tags: Tags): boolean {
  return (tags ?? []).some((t) => t.Key === MANAGED_BY_TAG.Key && t.Value === MANAGED_BY_TAG.Value);
}

/** The connection whose role or policy it is, and what Materialize reports for it once it exists. */
export interface OwnerIntent {
  /** connectionBinding() of the connection being onboarded or offboarded. */
  binding: string;
  connectionName: string;
  roleName: string;
  /** Materialize's principal, once known (from the input's check, another connection, or this one). */
  principal?: string;
  /** This connection's external ID, once the connection exists. */
  externalId?: string;
}

export interface RoleFacts {
  roleName: string;
  arn: string;
  tags: Tags;
  trustPolicy: PolicyDocument;
  /** Other connections of this Materialize environment that assume this role (by ARN). */
  otherConnections: string[];
}

const HOW_TO_PICK = 'choose another roleName (onboarding creates it), or';

/**
 * Why the role may not be adopted for this connection, or undefined when it may. A role serves another
 * connection when another connection of this environment assumes it, its tag names another connection, or (made
 * by hand, untagged) its trust policy names a principal or external ID that is not this connection's.
 */
export function roleAdoptionProblem(role: RoleFacts, want: OwnerIntent & { expectedArn: string }): string | undefined {
  if (role.arn !== want.expectedArn) {
    return `role ${role.roleName} has ARN ${role.arn} (an IAM path), not ${want.expectedArn}; ${HOW_TO_PICK} move it`;
  }
  if (role.otherConnections.length) {
    return `role ${role.roleName} is assumed by connection ${role.otherConnections.join(', ')} of this Materialize environment, so it serves that connection; ${HOW_TO_PICK} offboard ${role.otherConnections[0]} first`;
  }
  const bound = bindingOf(role.tags);
  if (bound !== undefined) {
    return bound === want.binding
      ? undefined
      : `role ${role.roleName} serves connection ${bound} (tag ${CONNECTION_TAG_KEY}); ${HOW_TO_PICK} offboard that connection first`;
  }
  // Untagged (made by hand, or by hand following Materialize's guide): adopted only if its trust policy is the
  // guide's for this very connection, so no one who can assume it today loses or keeps access they should not.
  const trust = assessTrustPolicy(role.trustPolicy);
  const foreignPrincipals = want.principal ? trust.principals.filter((p) => p !== want.principal) : [];
  const foreignIds = trust.externalIds.filter((id) => id !== PENDING_EXTERNAL_ID && id !== want.externalId);
  const reasons = [
    ...(foreignPrincipals.length ? [`trusts ${foreignPrincipals.join(', ')}, not only Materialize's principal ${want.principal}`] : []),
    ...(foreignIds.length ? [`requires external ID ${foreignIds.join(', ')}, which is not connection ${want.connectionName}'s`] : []),
    ...(trust.assumableWithoutExternalId ? ['can be assumed without an external ID'] : []),
  ];
  if (reasons.length) {
    return `role ${role.roleName} exists, was not made by mz-s3-export (no ${CONNECTION_TAG_KEY} tag), and ${reasons.join('; ')}: it may serve someone else; ${HOW_TO_PICK} delete that role`;
  }
  return undefined;
}

export interface PolicyFacts {
  policyName: string;
  arn: string;
  tags: Tags;
  /** Every role, user and group the policy is attached to, as 'role <name>', 'user <name>', 'group <name>'. */
  attachedTo: string[];
}

/**
 * Why the policy may not be adopted (and rewritten) for this connection's role, or undefined. Rewriting a
 * policy changes the permissions of everything it is attached to, so it must serve this connection only.
 */
export function policyAdoptionProblem(policy: PolicyFacts, want: OwnerIntent): string | undefined {
  const bound = bindingOf(policy.tags);
  if (bound !== undefined && bound !== want.binding) {
    return `policy ${policy.policyName} serves connection ${bound} (tag ${CONNECTION_TAG_KEY}); choose another policyName (onboarding creates it), or offboard that connection first`;
  }
  const others = policy.attachedTo.filter((a) => a !== `role ${want.roleName}`);
  if (others.length) {
    return `policy ${policy.policyName} is attached to ${others.join(', ')}, which mz-s3-export did not attach it to for connection ${want.connectionName}; changing it would change their permissions: choose another policyName, or detach it there`;
  }
  return undefined;
}

/** Why offboarding may not delete this role or policy: it must be bound to exactly this connection. */
export function deletionProblem(kind: 'role' | 'policy', name: string, tags: Tags, want: OwnerIntent): string | undefined {
  const bound = bindingOf(tags);
  if (bound === want.binding) return undefined;
  return bound === undefined
    ? `${kind} ${name} is not tagged ${CONNECTION_TAG_KEY}=${want.binding}: mz-s3-export did not make it for connection ${want.connectionName}, so offboarding leaves it; delete it yourself if it is not used`
    : `${kind} ${name} serves connection ${bound}, not ${want.binding}; offboard that connection instead`;
}
