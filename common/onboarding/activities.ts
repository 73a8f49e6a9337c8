/**
 * The onboarding and offboarding activities as workflows see them: names, inputs and results (the JSON that
 * crosses the workflow/activity boundary). Declared here, free of Node, AWS and pg types, so workflows
 * type-check without them (tsconfig.workflows.json); activities/onboarding/ implements these interfaces.
 */
import type { PolicyDocument } from '../iam-policies';

export interface EnsureBucketInput {
  bucket: string;
  region?: string;
  createBucket: boolean;
}

export interface EnsureBucketResult {
  bucket: string;
  region: string;
  created: boolean;
  managed: boolean;
  /** Whether all four public access block settings are on (false on an adopted bucket is worth a look). */
  publicAccessBlocked: boolean;
  change?: string;
}

export interface S3BucketActivities {
  ensureBucket(input: EnsureBucketInput): Promise<EnsureBucketResult>;
  deleteOnboardedData(input: { bucket: string; prefix: string }): Promise<{ objectsDeleted: number; bucketDeleted: boolean }>;
}

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

export interface AwsIamActivities {
  ensureIamPolicy(input: { policyName: string; bucket: string; prefix: string }): Promise<EnsurePolicyResult>;
  ensureIamRole(input: EnsureRoleInput): Promise<{ roleArn: string; changes: string[] }>;
  ensureTrustPolicy(input: TrustPolicyInput): Promise<{ change?: string }>;
  checkTrustPolicy(input: TrustPolicyInput): Promise<void>;
  deleteIamPolicy(input: { policyName: string; roleName: string }): Promise<{ deleted: boolean; versionsDeleted: number }>;
  deleteIamRole(input: { roleName: string }): Promise<{ deleted: boolean }>;
}

export interface MzConnectionInfo {
  connectionId: string;
  assumeRoleArn: string;
  principal: string;
  externalId: string;
}

export interface ProbeResult {
  path: string;
  rows: number;
  objectsWritten: number;
  objectsRemoved: number;
}

export interface MaterializeConnectionActivities {
  discoverMaterializePrincipal(input: { materializeProfile: string }): Promise<{ principal?: string }>;
  ensureMzConnection(input: {
    materializeProfile: string;
    connectionName: string;
    roleArn: string;
    region: string;
  }): Promise<{ connectionId: string; change?: string }>;
  readMzConnection(input: { materializeProfile: string; connectionName: string; roleArn: string }): Promise<MzConnectionInfo>;
  validateMzConnection(input: { materializeProfile: string; connectionName: string }): Promise<void>;
  probeMzConnection(input: {
    materializeProfile: string;
    connectionName: string;
    bucket: string;
    prefix: string;
    runId: string;
    attempt: number;
  }): Promise<ProbeResult>;
  dropMzConnection(input: { materializeProfile: string; connectionName: string; roleName: string }): Promise<{ dropped: boolean }>;
}

export type OnboardingActivities = S3BucketActivities & AwsIamActivities & MaterializeConnectionActivities;
