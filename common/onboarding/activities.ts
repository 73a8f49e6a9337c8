/**
 * The onboarding and offboarding activities as workflows see them: names, inputs and results (the JSON that
 * crosses the workflow/activity boundary). Declared here, free of Node, AWS and pg types, so workflows
 * type-check without them (tsconfig.workflows.json); activities/onboarding/ implements these interfaces.
 */
import type { OwnerIntent } from './ownership';

/** The probe COPY's target: one folder per run and attempt under the connection's prefix. */
export interface ProbeInput {
  materializeProfile: string;
  connectionName: string;
  bucket: string;
  prefix: string;
  runId: string;
  attempt: number;
  /** An S3-compatible store: the probe's files are listed and removed with that profile's S3 client. */
  storageProfile?: string;
}

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

export interface EnsurePolicyResult {
  policyArn: string;
  accountId: string;
  change?: string;
}

/** Whose role or policy it is: the connection it serves (see common/onboarding/ownership.ts). */
export type Owner = Pick<OwnerIntent, 'binding' | 'connectionName' | 'roleName'>;

export interface EnsurePolicyInput extends Owner {
  policyName: string;
  bucket: string;
  prefix: string;
}

export interface EnsureRoleInput extends Owner {
  policyArn: string;
  /** The role's ARN the connection was created with. */
  expectedArn: string;
  /** What Materialize reports for this connection: the only principal and external ID the role ever trusts. */
  principal: string;
  externalId: string;
}

export interface TrustPolicyInput {
  roleName: string;
  principal: string;
  externalId: string;
}

export interface AwsIdentity {
  accountId: string;
  partition: string;
}

export interface OnboardPreflightInput {
  materializeProfile: string;
  bucket: string;
  region?: string;
  createBucket: boolean;
  roleName: string;
  policyName: string;
  connectionName: string;
  materializePrincipal?: string;
  /** The second run, after CREATE CONNECTION: what Materialize reports for this connection. */
  reported?: { principal: string; externalId: string };
}

export interface OnboardPreflight extends AwsIdentity {
  roleArn: string;
  policyArn: string;
  /** The tag value binding the role and policy to this connection (environment id and connection name). */
  binding: string;
  /** Materialize's principal when known: reported for this connection, or by another of the environment. */
  principal?: string;
  connectionExists: boolean;
  /** The region the bucket is in, or will be created in (the worker's). */
  region: string;
  bucketExists: boolean;
}

export interface OffboardPreflightInput {
  materializeProfile: string;
  connectionName: string;
  roleName: string;
  policyName: string;
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

export interface PreflightActivities {
  readAwsIdentity(): Promise<AwsIdentity>;
  preflightOnboarding(input: OnboardPreflightInput): Promise<OnboardPreflight>;
  preflightOffboarding(input: OffboardPreflightInput): Promise<{ binding: string; roleArn: string }>;
}

export interface S3BucketActivities {
  ensureBucket(input: EnsureBucketInput): Promise<EnsureBucketResult>;
  /** With storageProfile (an S3-compatible store) only the objects are deleted: onboarding never creates such a bucket. */
  deleteOnboardedData(input: { bucket: string; prefix: string; storageProfile?: string }): Promise<{ objectsDeleted: number; bucketDeleted: boolean }>;
}

export interface AwsIamActivities {
  ensureIamPolicy(input: EnsurePolicyInput): Promise<EnsurePolicyResult>;
  ensureIamRole(input: EnsureRoleInput): Promise<{ roleArn: string; changes: string[] }>;
  checkTrustPolicy(input: TrustPolicyInput): Promise<void>;
  deleteIamPolicy(input: Owner & { policyName: string }): Promise<{ deleted: boolean; versionsDeleted: number }>;
  deleteIamRole(input: Owner): Promise<{ deleted: boolean }>;
}

export interface MaterializeConnectionActivities {
  ensureMzConnection(input: {
    materializeProfile: string;
    connectionName: string;
    roleArn: string;
    region: string;
  }): Promise<{ connectionId: string; change?: string }>;
  readMzConnection(input: { materializeProfile: string; connectionName: string; roleArn: string }): Promise<MzConnectionInfo>;
  validateMzConnection(input: { materializeProfile: string; connectionName: string }): Promise<void>;
  probeMzConnection(input: ProbeInput): Promise<ProbeResult>;
  dropMzConnection(input: { materializeProfile: string; connectionName: string; roleName: string }): Promise<{ dropped: boolean }>;
}

/** An S3-compatible store's connection: which worker storage profile, which Materialize, which connection. */
export interface CompatibleTarget {
  materializeProfile: string;
  storageProfile: string;
  connectionName: string;
}

export interface CompatiblePreflight {
  /** As Materialize's connection names it (the profile's MATERIALIZE_ENDPOINT, else its ENDPOINT). */
  endpoint: string;
  region: string;
  connectionExists: boolean;
}

export interface S3CompatibleActivities {
  /** Read-only: the profile and its key, the bucket through them, and an existing connection of that name. */
  preflightCompatibleOnboarding(input: CompatibleTarget & { bucket: string; prefix: string }): Promise<CompatiblePreflight>;
  /** CREATE SECRET (or ALTER SECRET: a rotated key) for both halves of the profile's current access key. */
  ensureMzStorageSecrets(input: CompatibleTarget): Promise<{ secrets: string[]; change: string }>;
  /** CREATE CONNECTION ... TO AWS (ACCESS KEY ID = SECRET ..., ENDPOINT, REGION), or adopt the same one. */
  ensureMzAccessKeyConnection(input: CompatibleTarget): Promise<{ connectionId: string; change?: string }>;
  /** Offboarding: drop the connection and its two secrets, after checking the connection reads exactly them. */
  dropMzAccessKeyConnection(input: Omit<CompatibleTarget, 'storageProfile'>): Promise<{ connectionDropped: boolean; secretsDropped: string[] }>;
}

export type OnboardingActivities = PreflightActivities &
  S3BucketActivities &
  AwsIamActivities &
  MaterializeConnectionActivities &
  S3CompatibleActivities;
