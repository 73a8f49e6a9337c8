/**
 * A failure told by its root cause. Temporal wraps what went wrong ("the bucket does not exist") in layers
 * ("Activity task failed", "Workflow execution failed") whose messages say nothing a user can act on; the CLI,
 * `status`, `runs` and the workflow's own failure (what the Web UI shows) all say the innermost cause, where it
 * happened, and what to change. Workflow-safe: only @temporalio/common's failure classes, no Node.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import { S3_ERROR_FIXES } from './failures';

export interface RootCause {
  /** The ApplicationFailure type (UserFixableError, NoSuchBucket, ...), or the Temporal failure kind. */
  type: string;
  /** The innermost message, with what to change added when the catalog below knows it and the message does not say. */
  message: string;
  /** The activity that failed, when an activity did. */
  activityType?: string;
}

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

/** Walks the cause chain (activity, child workflow, application failures) to the innermost cause. */
export function rootCauseOf(err: unknown): RootCause {
  let activityType: string | undefined;
  let e: unknown = err;
  for (let depth = 0; depth < 20; depth++) {
    if (e instanceof ActivityFailure) activityType = e.activityType;
    const next = (e as { cause?: unknown } | undefined)?.cause;
    if (!(next instanceof Error)) break;
    e = next;
  }
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
  return ApplicationFailure.create({
    type: root.type,
    message: `${root.activityType ? `${root.activityType}: ` : ''}${root.message}`,
    nonRetryable: true,
    cause: err,
  });
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
