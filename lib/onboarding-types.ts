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
}
