/**
 * The IAM permissions the worker's own AWS identity needs for onboarding and offboarding, as a policy document:
 * exactly the calls activities/onboarding/{aws-iam,iam-ownership,preflight,s3-bucket}.ts make, on
 * the roles, policies and buckets they may touch. docs/security.md prints it; a test checks the two agree and
 * runs onboarding with a worker restricted to these actions. Pure.
 */
import { POLICY_VERSION, type PolicyDocument } from '../iam-policies';

export interface WorkerPolicyScope {
  partition?: string;
  accountId?: string;
  /** Role, policy and bucket names the worker may manage: '*' or a reserved prefix such as 'mz-s3-export-*'. */
  roles?: string;
  policies?: string;
  buckets?: string;
}

export const WORKER_ONBOARDING_ACTIONS = {
  identity: ['sts:GetCallerIdentity'],
  roles: [
    'iam:GetRole',
    'iam:ListRoleTags',
    'iam:CreateRole',
    'iam:TagRole',
    'iam:UpdateAssumeRolePolicy',
    'iam:ListAttachedRolePolicies',
    'iam:AttachRolePolicy',
    'iam:DetachRolePolicy',
    'iam:ListRolePolicies',
    'iam:ListInstanceProfilesForRole',
    'iam:DeleteRole',
  ],
  policies: [
    'iam:GetPolicy',
    'iam:GetPolicyVersion',
    'iam:ListPolicyTags',
    'iam:ListEntitiesForPolicy',
    'iam:ListPolicyVersions',
    'iam:CreatePolicy',
    'iam:TagPolicy',
    'iam:CreatePolicyVersion',
    'iam:DeletePolicyVersion',
    'iam:DeletePolicy',
  ],
  buckets: [
    's3:ListBucket',
    's3:GetBucketLocation',
    's3:CreateBucket',
    's3:GetBucketTagging',
    's3:PutBucketTagging',
    's3:GetBucketPublicAccessBlock',
    's3:PutBucketPublicAccessBlock',
    's3:PutBucketOwnershipControls',
    's3:DeleteBucket',
  ],
  /** Removing the probe's files, and offboarding's optional data removal. */
  objects: ['s3:DeleteObject'],
} as const;

export function workerOnboardingPolicy(scope: WorkerPolicyScope = {}): PolicyDocument {
  const partition = scope.partition ?? 'aws';
  const account = scope.accountId ?? '<ACCOUNT_ID>';
  const bucketArn = `arn:${partition}:s3:::${scope.buckets ?? '*'}`;
  const a = WORKER_ONBOARDING_ACTIONS;
  return {
    Version: POLICY_VERSION,
    Statement: [
      { Sid: 'WhoAmI', Effect: 'Allow', Action: [...a.identity], Resource: '*' },
      { Sid: 'ConnectionRoles', Effect: 'Allow', Action: [...a.roles], Resource: `arn:${partition}:iam::${account}:role/${scope.roles ?? '*'}` },
      { Sid: 'ConnectionPolicies', Effect: 'Allow', Action: [...a.policies], Resource: `arn:${partition}:iam::${account}:policy/${scope.policies ?? '*'}` },
      { Sid: 'ExportBuckets', Effect: 'Allow', Action: [...a.buckets], Resource: bucketArn },
      { Sid: 'ProbeAndDataCleanup', Effect: 'Allow', Action: [...a.objects], Resource: `${bucketArn}/*` },
    ],
  };
}
