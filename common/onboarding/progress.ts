/** What the onboarding and offboarding workflows report: their progress query and their results. Pure types. */

export const ONBOARDING_STEPS = [
  'validate-input',
  'bucket',
  'policy',
  'role',
  'connection',
  'catalog',
  'trust-policy',
  'validate-connection',
  'probe',
] as const;

export const OFFBOARDING_STEPS = ['validate-input', 'connection', 'policy', 'role', 'data'] as const;

export interface StepProgress {
  workflow: 'onboardAwsConnection' | 'offboardAwsConnection';
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

export interface OffboardResult {
  connectionDropped: boolean;
  policyDeleted: boolean;
  policyVersionsDeleted: number;
  roleDeleted: boolean;
  objectsDeleted: number;
  bucketDeleted: boolean;
  changes: string[];
}
