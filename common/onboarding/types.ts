/** The onboarding and offboarding workflows' inputs: single JSON objects, no secrets. */
export interface OnboardInput {
  bucket: string;
  /** Key prefix the role may write under, e.g. 'exports'. */
  prefix: string;
  /** Create the bucket when missing (default true); an existing bucket is adopted either way. */
  createBucket?: boolean;
  region?: string;
  roleName: string;
  policyName: string;
  connectionName: string;
  /** Materialize's principal ARN; normally read from Materialize, set only to check against it. */
  materializePrincipal?: string;
  materializeProfile?: string;
  /** Upper bound for waiting on IAM propagation during VALIDATE CONNECTION. Default 600. */
  validationTimeoutSeconds?: number;
  /** Backoff between attempts of any step (and of VALIDATE CONNECTION while IAM propagates). */
  retry?: RetryInput;
  /** Upper bound for retrying any other step on transient errors (throttling, connection resets). Default 300. */
  stepTimeoutSeconds?: number;
}

export interface RetryInput {
  /** Wait before the second attempt. Default 2. */
  initialIntervalSeconds?: number;
  /** The wait never grows beyond this. Default 30. */
  maximumIntervalSeconds?: number;
  /** Each wait is the previous one times this. Default 2. */
  backoffCoefficient?: number;
}

export interface OffboardInput {
  connectionName: string;
  roleName: string;
  policyName: string;
  materializeProfile?: string;
  /** Also delete the objects under bucket/prefix (and the bucket when empty). Default false. */
  deleteData?: boolean;
  bucket?: string;
  prefix?: string;
  retry?: RetryInput;
  /** Upper bound for retrying a step on transient errors. Default 300. */
  stepTimeoutSeconds?: number;
}

/** The onboarding input of an S3-compatible store, with every default filled in (common/onboarding/input.ts). */
export interface ResolvedCompatibleOnboardInput {
  storageProfile: string;
  bucket: string;
  /** Without a trailing slash. */
  prefix: string;
  connectionName: string;
  materializeProfile: string;
  stepTimeoutSeconds: number;
  retry: { initialIntervalSeconds: number; maximumIntervalSeconds: number; backoffCoefficient: number };
}

export interface ResolvedCompatibleOffboardInput {
  storageProfile: string;
  connectionName: string;
  materializeProfile: string;
  deleteData: boolean;
  bucket?: string;
  prefix?: string;
  stepTimeoutSeconds: number;
  retry: { initialIntervalSeconds: number; maximumIntervalSeconds: number; backoffCoefficient: number };
}

/** onboardS3CompatibleConnection's input: names only (the access key stays in the worker's storage profile). */
export interface CompatibleOnboardInput {
  storageProfile: string;
  bucket: string;
  prefix: string;
  connectionName: string;
  materializeProfile?: string;
  retry?: RetryInput;
  stepTimeoutSeconds?: number;
}

export interface CompatibleOffboardInput {
  storageProfile: string;
  connectionName: string;
  materializeProfile?: string;
  /** Also delete the objects under bucket/prefix (never the bucket). Default false. */
  deleteData?: boolean;
  bucket?: string;
  prefix?: string;
  retry?: RetryInput;
  stepTimeoutSeconds?: number;
}
