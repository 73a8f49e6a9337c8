/**
 * Typed errors. Their class names are what Temporal sees as ApplicationFailure types, so the retry policy can
 * name the ones waiting cannot fix (see NON_RETRYABLE_ERROR_TYPES).
 */

/** Bad input or configuration a user must change; never retried. */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
  constructor(message: string, readonly field?: string) {
    super(abbreviateLongRuns(field ? `${field}: ${message}` : message));
  }
}

/**
 * Messages quote the values they reject; a pasted blob or a megabyte value is shortened to its start and length,
 * so the message stays readable and small enough for Temporal's failure and history size limits.
 */
export function abbreviateLongRuns(text: string, max = 200): string {
  return text.replace(new RegExp(`\\S{${max + 1},}`, 'g'), (run) => `${run.slice(0, 60)}...(${run.length} characters)`);
}

/** A resource exists but differs from what we would create, and adopting it would be wrong. */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** Materialize or AWS refused for a reason the user must fix (permissions, unknown object, unsupported type). */
export class UserFixableError extends Error {
  override name = 'UserFixableError';
}

/** The AWS trust policy lets the role be assumed without the external ID: insecure, fix it before anything. */
export class InsecureTrustPolicyError extends Error {
  override name = 'InsecureTrustPolicyError';
}

/** Not yet true but expected to become true by waiting (IAM propagation, an export still running). */
export class NotYetError extends Error {
  override name = 'NotYetError';
}

/** Failure type names the workflow acts on (they are ApplicationFailure types, so they cross the activity boundary). */
export const COPY_FAILURE = {
  /** A user must change the input, the object or the permissions; retrying cannot help. */
  userFixable: 'UserFixableError',
  /** The attempt folder was not empty: move on to a fresh attempt folder. */
  pathNotEmpty: 'CopyPathNotEmptyError',
  /** The connection was lost or the server is restarting: the COPY's fate is unknown until S3 settles. */
  transient: 'CopyTransientError',
  /** The server reported an error that another attempt may not hit (injected faults, internal errors). */
  failed: 'CopyFailedError',
  /** The verification of a finished attempt found a mismatch; nothing is published. */
  verification: 'ExportVerificationError',
  /**
   * The AS OF timestamp is no longer readable (an input changed or was compacted past it): a fresh timestamp
   * reads fine, so an export that picked its own retries, and a snapshot set picks a new one for all members.
   */
  timestampNotReadable: 'TimestampNotReadableError',
} as const;

export type CopyFailureType = (typeof COPY_FAILURE)[keyof typeof COPY_FAILURE];

/** Types that fail the whole export at once. */
export const EXPORT_FATAL_TYPES: readonly string[] = [COPY_FAILURE.userFixable, COPY_FAILURE.verification, 'InvalidInputError'];

/** What to change for the S3 errors a user causes, by AWS error name (activities add it to their messages). */
export const S3_ERROR_FIXES: Readonly<Record<string, string>> = {
  NoSuchBucket: "check the bucket name (--to, or the schedule's bucket) or create the bucket; onboarding creates it",
  AccessDenied:
    "check the bucket name and prefix, and that the worker's AWS credentials may s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on the export prefix",
};

export const NON_RETRYABLE_ERROR_TYPES = [
  'InvalidInputError',
  'ConflictError',
  'UserFixableError',
  'InsecureTrustPolicyError',
];

/** Collects every problem of an input so the user fixes them in one go. */
export class Problems {
  private readonly items: string[] = [];
  add(field: string, message: string): void {
    this.items.push(`${field}: ${message}`);
  }
  get list(): readonly string[] {
    return this.items;
  }
  throwIfAny(what: string): void {
    if (this.items.length) throw new InvalidInputError(`${what} is invalid:\n  - ${this.items.join('\n  - ')}`);
  }
}
