/**
 * The failure catalog: every failure type this project raises, whether waiting or another attempt can help, and
 * how a user reads it. Activities throw these (the worker raises a thrown catalog class as its ApplicationFailure,
 * worker/catalog-failures.ts); workflows decide with readFailure(); the CLI, `status`, `runs` and the workflows'
 * own failures tell a failure by rootCauseOf(). Workflow-safe: only @temporalio/common, no Node.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ApplicationFailureCategory,
  CancelledFailure,
  ChildWorkflowFailure,
  TerminatedFailure,
  TimeoutFailure,
  type RetryPolicy,
} from '@temporalio/common';

/**
 * What retrying a failure can do:
 * - `no`: nothing; the step or run fails at once with what to change;
 * - `wait`: the same call may pass later (Temporal and the step runner retry it with backoff);
 * - `next-attempt`: an export attempt's fate; the COPY is never repeated into the same folder, the export
 *   workflow takes a fresh attempt folder (the activity raises it non-retryable, the workflow decides).
 */
export type Retry = 'no' | 'wait' | 'next-attempt';

interface FailureSpec {
  retry: Retry;
  /**
   * The user must change an input, a name or a permission: raised with Temporal's BENIGN category, so the worker
   * logs it at DEBUG and records no failure metric (it pages no one); the message says what to change.
   */
  userFixable: boolean;
  /** What it means, in one line (for the docs and a reader of this file). */
  means: string;
}

export const FAILURE_CATALOG = {
  InvalidInputError: { retry: 'no', userFixable: true, means: 'bad input or configuration; the message names the field and what to change' },
  ConflictError: { retry: 'no', userFixable: true, means: 'a resource exists but differs from what the run would create, and adopting it would be wrong' },
  UserFixableError: {
    retry: 'no',
    userFixable: true,
    means: 'Materialize or AWS refused for a reason the user must fix (permissions, unknown object, unsupported type)',
  },
  InsecureTrustPolicyError: { retry: 'no', userFixable: true, means: 'the trust policy lets the role be assumed without the external ID' },
  NotYetError: { retry: 'wait', userFixable: false, means: 'not yet true but expected to become true by waiting (IAM propagation)' },
  StepTimeoutError: { retry: 'no', userFixable: false, means: "an onboarding step kept failing until its time bound; the message has the last error" },
  CopyPathNotEmptyError: { retry: 'next-attempt', userFixable: false, means: 'the attempt folder was not empty: the export moves on to a fresh folder' },
  CopyTransientError: {
    retry: 'next-attempt',
    userFixable: false,
    means: "the COPY's connection was lost or the server is restarting: its fate is unknown until S3 settles",
  },
  CopyFailedError: { retry: 'next-attempt', userFixable: false, means: 'the server reported an error another attempt may not hit; also the failure of an export that used all its attempts' },
  ExportVerificationError: { retry: 'no', userFixable: false, means: 'a finished attempt failed verification; nothing is published' },
  TimestampNotReadableError: {
    retry: 'next-attempt',
    userFixable: false,
    means:
      "the AS OF timestamp is no longer readable (an input changed or was compacted past it): an export that picked it takes a fresh one; a snapshot set picks a new one for all members; a given asOf must be newer",
  },
} as const satisfies Record<string, FailureSpec>;

export type FailureType = keyof typeof FAILURE_CATALOG;

export function isFailureType(type: unknown): type is FailureType {
  return typeof type === 'string' && Object.hasOwn(FAILURE_CATALOG, type);
}

/** The types retrying cannot fix: an activity retry policy's nonRetryableErrorTypes. */
export const NON_RETRYABLE_ERROR_TYPES: readonly FailureType[] = (Object.keys(FAILURE_CATALOG) as FailureType[]).filter(
  (t) => FAILURE_CATALOG[t].retry === 'no',
);

/** The workflows' activity retry policy: quick first retries, then every 30 s, 8 tries; never what retrying cannot fix. */
export const ACTIVITY_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  maximumInterval: '30 seconds',
  maximumAttempts: 8,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

/**
 * The ApplicationFailure an activity or workflow raises for a catalog failure: non-retryable unless waiting can
 * help, BENIGN when it is the user's to fix.
 */
export function applicationFailure(type: FailureType, message: string, opts: { details?: unknown[]; cause?: Error } = {}): ApplicationFailure {
  return build(type, message, FAILURE_CATALOG[type].retry !== 'wait', opts);
}

/**
 * A run's own failure of a type read from a failure (catalog or not: an AWS error name, 'Error'): non-retryable,
 * BENIGN when the catalog says the user must fix it.
 */
export function runFailure(type: string, message: string, cause?: Error): ApplicationFailure {
  return build(type, message, true, cause ? { cause } : {});
}

function build(type: string, message: string, nonRetryable: boolean, opts: { details?: unknown[]; cause?: Error }): ApplicationFailure {
  const benign = isFailureType(type) && FAILURE_CATALOG[type].userFixable;
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable,
    ...(benign ? { category: ApplicationFailureCategory.BENIGN } : {}),
    ...(opts.details ? { details: opts.details } : {}),
    ...(opts.cause ? { cause: opts.cause } : {}),
  });
}

// Classes for code that also runs outside an activity (input validation in the CLI and in workflows, config).
// Their names are catalog types; a thrown one leaves an activity as applicationFailure(name, message).

/** Bad input or configuration a user must change; never retried. */
export class InvalidInputError extends Error {
  override name: FailureType = 'InvalidInputError';
  constructor(message: string, readonly field?: string) {
    super(abbreviateLongRuns(field ? `${field}: ${message}` : message));
  }
}

/** A resource exists but differs from what we would create, and adopting it would be wrong. */
export class ConflictError extends Error {
  override name: FailureType = 'ConflictError';
}

/** Materialize or AWS refused for a reason the user must fix (permissions, unknown object, unsupported type). */
export class UserFixableError extends Error {
  override name: FailureType = 'UserFixableError';
}

/** The AWS trust policy lets the role be assumed without the external ID: insecure, fix it before anything. */
export class InsecureTrustPolicyError extends Error {
  override name: FailureType = 'InsecureTrustPolicyError';
}

/** Not yet true but expected to become true by waiting (IAM propagation). */
export class NotYetError extends Error {
  override name: FailureType = 'NotYetError';
}

/** A thrown catalog class as its ApplicationFailure (stack kept); anything else as it is. */
export function asApplicationFailure(e: unknown): unknown {
  if (e instanceof ApplicationFailure || !(e instanceof Error) || !isFailureType(e.name)) return e;
  const failure = applicationFailure(e.name, e.message);
  failure.stack = e.stack;
  return failure;
}

/**
 * Messages quote the values they reject; a pasted blob or a megabyte value is shortened to its start and length,
 * so the message stays readable and small enough for Temporal's failure and history size limits.
 */
export function abbreviateLongRuns(text: string, max = 200): string {
  return text.replace(new RegExp(`\\S{${max + 1},}`, 'g'), (run) => `${run.slice(0, 60)}...(${run.length} characters)`);
}

const MAX_PROBLEMS_SHOWN = 20;

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
    if (!this.items.length) return;
    // Thousands of bad fields (a pasted blob) would make a message no one reads: the first ones say what to fix.
    const shown = this.items.slice(0, MAX_PROBLEMS_SHOWN);
    const more = this.items.length - shown.length;
    throw new InvalidInputError(`${what} is invalid:\n  - ${shown.join('\n  - ')}${more ? `\n  - ... and ${more} more problem(s)` : ''}`);
  }
}

// ---- How a user reads a failure: what to change ----

/** What to change for the S3 errors a user causes, by AWS error name (activities add it to their messages). */
export const S3_ERROR_FIXES: Readonly<Record<string, string>> = {
  NoSuchBucket: "check the bucket name (--to, or the schedule's bucket) or create the bucket; onboarding creates it",
  AccessDenied:
    "check the bucket name and prefix, and that the worker's AWS credentials may s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on the export prefix",
  // Credentials the store does not accept: waiting does not fix them (a storage profile's key is re-read at each use).
  InvalidAccessKeyId:
    "the store does not know the access key the worker signed with: fix the worker's AWS credentials or, for an S3-compatible target, its storage profile's key (MZ_S3_EXPORT_STORAGE_<NAME>_*)",
  SignatureDoesNotMatch:
    "the store rejected the signature: the secret access key does not belong to the access key id; fix the worker's AWS credentials or the storage profile's key",
};

/** Where no layer says what to change, these do (matched against the root type and message). */
const FIXES: { test: RegExp; fix: string }[] = [
  { test: /NoSuchBucket|bucket does not exist/i, fix: S3_ERROR_FIXES.NoSuchBucket },
  {
    test: /AccessDenied|Access Denied|not authorized|\b403\b|Forbidden/,
    fix: "check the bucket and prefix against what the connection's IAM policy allows, and the worker's AWS credentials",
  },
  { test: /ECONNREFUSED|ENOTFOUND|getaddrinfo/i, fix: "check that the server it names runs and that the worker's MZ_URL / AWS_ENDPOINT_URL point at it" },
  { test: /password authentication failed|28P01/i, fix: "check the user and password in the worker's MZ_URL (or MZ_URL_<PROFILE>)" },
];

// ---- Reading a failure: one walk of the cause chain for workflows and the CLI ----

/**
 * The layers of a failure, outermost first, and the activity that failed when one did. Temporal wraps what went
 * wrong in layers (WorkflowFailedError, ChildWorkflowFailure, ActivityFailure) that say nothing a user can act on.
 * (@temporalio/common's rootCause() walks the same chain but returns only the innermost message.)
 */
function causeChain(err: unknown): { layers: unknown[]; activityType?: string } {
  const layers: unknown[] = [err];
  let activityType: string | undefined;
  for (let e = err; layers.length < 20; ) {
    if (e instanceof ActivityFailure) activityType = e.activityType;
    const next = (e as { cause?: unknown } | undefined)?.cause;
    if (!(next instanceof Error)) break;
    layers.push((e = next));
  }
  return { layers, ...(activityType ? { activityType } : {}) };
}

function isWrapper(e: unknown): boolean {
  return e instanceof ActivityFailure || e instanceof ChildWorkflowFailure;
}

export interface ReadFailure {
  type: string;
  message: string;
  retry: Retry;
  /** Raised as an ApplicationFailure (by an activity or the workflow), not a timeout or a cancellation. */
  application: boolean;
  /** The failure's details (an activity's facts for the workflow, e.g. whether its statement started). */
  details?: unknown[];
  /** For a timeout (type TimeoutError): which one. */
  timeoutType?: string;
}

/**
 * How a workflow reads a failed activity (or its own code's error) to decide: the failure the activity raised,
 * below Temporal's wrapper. Its retry is the catalog's for a catalog type, else `no` when it was raised
 * non-retryable and `wait` when Temporal may retry it (timeouts, throttling, resets).
 */
export function readFailure(err: unknown): ReadFailure {
  const cause = causeChain(err).layers.find((e) => !isWrapper(e)) ?? err;
  if (cause instanceof ApplicationFailure) {
    const type = cause.type ?? 'Error';
    const listed: Retry = isFailureType(type) ? FAILURE_CATALOG[type].retry : 'wait';
    const retry: Retry = cause.nonRetryable && listed === 'wait' ? 'no' : listed;
    return { type, message: cause.message, retry, application: true, ...(cause.details ? { details: [...cause.details] } : {}) };
  }
  if (cause instanceof TimeoutFailure) {
    const timeoutType = cause.timeoutType ?? 'timeout';
    return { type: 'TimeoutError', message: `the activity timed out (${timeoutType}); was its worker lost?`, retry: 'wait', application: false, timeoutType };
  }
  const name = (cause as Error)?.name ?? 'Error';
  const retry = isFailureType(name) ? FAILURE_CATALOG[name].retry : 'wait';
  return { type: name, message: (cause as Error)?.message ?? String(cause), retry, application: false };
}

export interface RootCause {
  /** The ApplicationFailure type (UserFixableError, NoSuchBucket, ...), or the Temporal failure kind. */
  type: string;
  /** The innermost message, with what to change added when the catalog knows it and the message does not say. */
  message: string;
  /** The activity that failed, when an activity did. */
  activityType?: string;
}

/** How a user reads a failure: its innermost cause, what to change, and the activity where it happened. */
export function rootCauseOf(err: unknown): RootCause {
  const { layers, activityType } = causeChain(err);
  const e = layers[layers.length - 1];
  const type = kindOf(e);
  return { type, message: withFix(explain(e, activityType), type), ...(activityType ? { activityType } : {}) };
}

/** One line: the root cause and what to change, and where it happened. */
export function describeRootCause(err: unknown): string {
  const root = rootCauseOf(err);
  return `${root.message} [${root.type}${root.activityType ? ` in activity ${root.activityType}` : ''}]`;
}

/**
 * What a workflow throws instead of a wrapped failure: an ApplicationFailure whose message is the root cause
 * (so the Web UI's summary and every list show it), keeping the original chain as its cause for history.
 * A failure the workflow raised itself already says what it means and is returned as it is.
 */
export function failureNamingRootCause(err: unknown): unknown {
  if (err instanceof ApplicationFailure || !(err instanceof ActivityFailure || err instanceof ChildWorkflowFailure)) return err;
  const root = rootCauseOf(err);
  return runFailure(root.type, `${root.activityType ? `${root.activityType}: ` : ''}${root.message}`, err);
}

function kindOf(e: unknown): string {
  if (e instanceof ApplicationFailure) return e.type ?? 'Error';
  if (e instanceof TimeoutFailure) return `Timeout${e.timeoutType ? `(${e.timeoutType})` : ''}`;
  if (e instanceof CancelledFailure) return 'Cancelled';
  if (e instanceof TerminatedFailure) return 'Terminated';
  return (e as Error)?.name ?? 'Error';
}

function explain(e: unknown, activityType: string | undefined): string {
  const what = activityType ? `activity ${activityType}` : 'the run';
  if (e instanceof TimeoutFailure && !activityType) {
    return `the run reached its workflow timeout (${e.timeoutType ?? 'timeout'}) before it finished; a worker may not have been polling its task queue`;
  }
  if (e instanceof TimeoutFailure) {
    switch (e.timeoutType) {
      case 'HEARTBEAT':
        return `${what} stopped heartbeating: its worker crashed, was stopped, or lost its connection to Temporal; a running worker takes it over on retry`;
      case 'SCHEDULE_TO_START':
        return `${what} was never picked up: no worker polls its task queue; start one with 'mz-s3-export worker'`;
      default:
        return `${what} timed out (${e.timeoutType ?? 'timeout'}): the service it waits on did not answer in time; check it, then run again`;
    }
  }
  if (e instanceof TerminatedFailure) return `${what} was terminated (by an operator or a schedule's overlap policy)`;
  if (e instanceof CancelledFailure) return `${what} was cancelled`;
  return (e as Error)?.message || String(e);
}

function withFix(message: string, type: string): string {
  if (/to fix:/i.test(message)) return message;
  const rule = FIXES.find((f) => f.test.test(`${type} ${message}`));
  return rule ? `${message}. To fix: ${rule.fix}` : message;
}
