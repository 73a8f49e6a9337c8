/**
 * Reads the real IAM documents of a role through the IAM API of the configured endpoint (moto): the trust
 * policy (GetRole), attached managed policies (ListAttachedRolePolicies, GetPolicy, GetPolicyVersion),
 * inline policies (ListRolePolicies, GetRolePolicy) and a permissions boundary if the role has one.
 */
import {
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { parsePolicyDocument, type PolicyDocument } from './policy-evaluator';

export interface RoleInfo {
  arn: string;
  name: string;
  account: string;
  /** The trust policy as IAM stores it (decoded JSON text). */
  trustPolicyText: string;
  trustPolicy: PolicyDocument;
  createDate: Date | undefined;
  permissionsBoundaryArn: string | undefined;
}

export interface NamedPolicy {
  name: string;
  document: PolicyDocument;
}

export interface ParsedRoleArn {
  account: string;
  name: string;
  path: string;
}

/** Parses `arn:aws:iam::<account>:role/<path/><name>`; null when it is not a role ARN. */
export function parseRoleArn(arn: string): ParsedRoleArn | null {
  const m = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(.+)$/.exec(arn);
  if (!m) return null;
  const full = m[2];
  const slash = full.lastIndexOf('/');
  return { account: m[1], name: full.slice(slash + 1), path: slash < 0 ? '/' : '/' + full.slice(0, slash + 1) };
}

export class IamDirectory {
  constructor(readonly iam: IAMClient) {}

  /** The role, or null when IAM says it does not exist. */
  async getRole(name: string): Promise<RoleInfo | null> {
    try {
      const res = await this.iam.send(new GetRoleCommand({ RoleName: name }));
      const role = res.Role!;
      const raw = role.AssumeRolePolicyDocument ?? '{}';
      const doc = parsePolicyDocument(raw);
      return {
        arn: role.Arn!,
        name: role.RoleName!,
        account: parseRoleArn(role.Arn!)?.account ?? '',
        trustPolicyText: JSON.stringify(doc),
        trustPolicy: doc,
        createDate: role.CreateDate,
        permissionsBoundaryArn: role.PermissionsBoundary?.PermissionsBoundaryArn,
      };
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchEntityException' || (e as { name?: string }).name === 'NoSuchEntity') return null;
      throw e;
    }
  }

  /** All identity-based policies of the role: attached managed policies and inline policies. */
  async getRolePolicies(name: string): Promise<NamedPolicy[]> {
    const out: NamedPolicy[] = [];
    let marker: string | undefined;
    do {
      const page = await this.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name, Marker: marker }));
      for (const p of page.AttachedPolicies ?? []) out.push({ name: p.PolicyName ?? p.PolicyArn!, document: await this.getManagedPolicy(p.PolicyArn!) });
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    do {
      const page = await this.iam.send(new ListRolePoliciesCommand({ RoleName: name, Marker: marker }));
      for (const policyName of page.PolicyNames ?? []) {
        const p = await this.iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: policyName }));
        out.push({ name: `inline:${policyName}`, document: parsePolicyDocument(p.PolicyDocument ?? '{}') });
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return out;
  }

  /** The IAM user an access key belongs to (ARN and name), or null when IAM has no such key. */
  async userOfAccessKey(accessKeyId: string): Promise<{ arn: string; name: string } | null> {
    try {
      const res = await this.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }));
      if (!res.UserName) return null;
      const user = await this.iam.send(new GetUserCommand({ UserName: res.UserName }));
      return { arn: user.User!.Arn!, name: res.UserName };
    } catch (e) {
      const name = (e as { name?: string }).name ?? '';
      if (/NoSuchEntity|InvalidClientTokenId|AccessDenied/.test(name)) return null;
      throw e;
    }
  }

  /** The identity-based policies of an IAM user: attached managed policies and inline policies. */
  async getUserPolicies(name: string): Promise<NamedPolicy[]> {
    const out: NamedPolicy[] = [];
    let marker: string | undefined;
    do {
      const page = await this.iam.send(new ListAttachedUserPoliciesCommand({ UserName: name, Marker: marker }));
      for (const p of page.AttachedPolicies ?? []) out.push({ name: p.PolicyName ?? p.PolicyArn!, document: await this.getManagedPolicy(p.PolicyArn!) });
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    do {
      const page = await this.iam.send(new ListUserPoliciesCommand({ UserName: name, Marker: marker }));
      for (const policyName of page.PolicyNames ?? []) {
        const p = await this.iam.send(new GetUserPolicyCommand({ UserName: name, PolicyName: policyName }));
        out.push({ name: `inline:${policyName}`, document: parsePolicyDocument(p.PolicyDocument ?? '{}') });
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return out;
  }

  async getManagedPolicy(arn: string): Promise<PolicyDocument> {
    const policy = await this.iam.send(new GetPolicyCommand({ PolicyArn: arn }));
    const version = await this.iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: policy.Policy!.DefaultVersionId! }));
    return parsePolicyDocument(version.PolicyVersion?.Document ?? '{}');
  }
}
