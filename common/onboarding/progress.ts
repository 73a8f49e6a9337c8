/** What the onboarding and offboarding workflows report: their progress query and their results. Pure types. */

/**
 * Every check that can fail runs in `preflight`, before the first write. The connection comes first because it is
 * the one write that tells what Materialize will assume the role as (its principal and this connection's external
 * ID, read in `catalog`, which checks again with them); the role is then created trusting exactly that.
 */
export const ONBOARDING_STEPS = [
  'validate-input',
  'preflight',
  'connection',
  'catalog',
  'bucket',
  'policy',
  'role',
  'validate-connection',
  'probe',
] as const;

export const OFFBOARDING_STEPS = ['validate-input', 'preflight', 'connection', 'policy', 'role', 'data'] as const;

/** An S3-compatible store (storageProfile): no IAM, and no VALIDATE CONNECTION (it asks STS); the probe proves access. */
export const COMPATIBLE_ONBOARDING_STEPS = ['validate-input', 'preflight', 'secrets', 'connection', 'probe'] as const;
export const COMPATIBLE_OFFBOARDING_STEPS = ['validate-input', 'connection', 'data'] as const;

export interface StepProgress {
  workflow: 'onboardAwsConnection' | 'offboardAwsConnection' | 'onboardS3CompatibleConnection' | 'offboardS3CompatibleConnection';
  status: 'running' | 'waiting-to-retry' | 'completed' | 'failed';
  /** The current step (last one when finished), and its position among `steps`. */
  step: string;
  stepNumber: number;
  steps: readonly string[];
  /** Attempts of the current step so far. */
  attempts: number;
  /** The last failure of the current step, when it is being retried. */
  lastError?: string;
  /** When waiting to retry: the next attempt's time (a `retryNow` signal makes it now). */
  nextAttemptAt?: string;
  /** What was found or made so far. */
  found: {
    bucketRegion?: string;
    policyArn?: string;
    roleArn?: string;
    connectionId?: string;
    principal?: string;
    externalId?: string;
    /** An S3-compatible store's endpoint, as its connection names it. */
    endpoint?: string;
  };
  /** One line per change made (or adoption), in order. */
  changes: string[];
}

export interface OnboardResult {
  bucket: string;
  prefix: string;
  region: string;
  roleArn: string;
  policyArn: string;
  connectionName: string;
  connectionId: string;
  principal: string;
  externalId: string;
  /** When VALIDATE CONNECTION first succeeded in this run (workflow time, ISO 8601). */
  validatedAt: string;
  validationAttempts: number;
  /** The probe export: where it wrote, and that it cleaned up. */
  probe: { path: string; rows: number; objectsWritten: number; objectsRemoved: number };
  /** What this run created, changed or adopted; empty parts mean the resources already matched. */
  changes: string[];
}

/** onboardAwsConnection's result for an S3-compatible store (storageProfile). */
export interface CompatibleOnboardResult {
  storageProfile: string;
  bucket: string;
  prefix: string;
  endpoint: string;
  region: string;
  connectionName: string;
  connectionId: string;
  /** The Materialize secrets holding the access key (names only). */
  secrets: string[];
  probe: { path: string; rows: number; objectsWritten: number; objectsRemoved: number };
  changes: string[];
}

export interface OffboardResult {
  connectionDropped: boolean;
  policyDeleted: boolean;
  policyVersionsDeleted: number;
  roleDeleted: boolean;
  objectsDeleted: number;
  bucketDeleted: boolean;
  /** An S3-compatible store's connection: the secrets dropped with it. */
  secretsDropped?: string[];
  changes: string[];
}
