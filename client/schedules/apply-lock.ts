/**
 * One `schedules apply` per schedule set at a time. Two applies that plan from the same state and run together
 * each write only their own differences, which leaves a mix of both files (an entry only the first file edits
 * keeps that edit although the second file, applied "last", wants it as it was). So apply holds a lock while it
 * plans and applies, and a second apply of the set waits for it, then plans against what the first one left.
 *
 * The lock is an open workflow execution with the fixed id `mz-s3-export:apply-lock:<set>`: Temporal refuses to
 * start a second one while it runs, atomically, on any cluster this tool already talks to. Nothing executes it
 * (no worker polls its task queue); the holder terminates it when done, and its execution timeout (the lease)
 * frees the set if that apply died.
 *
 * The holder leaves a record in the termination's reason (what the set holds after it, as a digest), so the next
 * holder can tell whether the schedule list, which lags writes by a moment, shows that state yet (reconcile.ts).
 */
import { isGrpcServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { ConflictError } from '../../common/failures';
import { sleep } from '../../local/processes';

export const LOCK_WORKFLOW_TYPE = 'mzS3ExportApplyLock';
/** No worker polls this queue: the lock workflow only has to be open, never to run. */
const LOCK_TASK_QUEUE = 'mz-s3-export-apply-lock';
/** How long a dead apply can hold a set (10,000 entries apply in about a minute; docs/benchmarks.md). */
export const LOCK_LEASE_MS = 15 * 60_000;
const POLL_MS = 250;

export function applyLockId(scheduleSet: string): string {
  return `mz-s3-export:apply-lock:${scheduleSet}`;
}

export interface LockOptions {
  /** How long to wait for another apply of the set before giving up (default: the lease, so a dead one's expires). */
  waitMs?: number;
  /** Called once when the set is held by another apply, with who holds it and since when. */
  onWait?: (holder: string) => void;
}

/** What the last apply of the set left, from its lock's termination. */
export interface PreviousApply {
  /** The record it left (reconcile.ts: a digest of the set's schedules and their definitions). */
  record: string;
  endedAt: Date;
}

/** The lock while held: `record` set by the holder is left for the next one. */
export interface HeldLock {
  previous?: PreviousApply;
  record?: string;
}

const RECORD_PREFIX = 'apply finished; left ';
const GRPC_NOT_FOUND = 5;

/** Runs fn while holding the set's apply lock. */
export async function withApplyLock<T>(client: Client, scheduleSet: string, opts: LockOptions, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  const workflowId = applyLockId(scheduleSet);
  const deadline = Date.now() + (opts.waitMs ?? LOCK_LEASE_MS);
  let waited = false;
  let runId: string;
  let previous: PreviousApply | undefined;
  for (;;) {
    // Read just before taking the lock: the run that closed last is the apply this one follows.
    previous = await previousApply(client, workflowId);
    try {
      const handle = await client.workflow.start(LOCK_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: LOCK_TASK_QUEUE,
        workflowExecutionTimeout: LOCK_LEASE_MS,
        memo: { holder: client.options.identity },
      });
      runId = handle.firstExecutionRunId;
      break;
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    }
    const held = await client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => undefined);
    if (held?.status.name !== 'RUNNING') continue; // released just now: take it
    const holder = `the apply by ${String(held.memo?.holder ?? 'unknown')} since ${held.startTime.toISOString()}`;
    if (!waited) opts.onWait?.(holder);
    waited = true;
    if (Date.now() >= deadline) {
      const expires = new Date(held.startTime.getTime() + LOCK_LEASE_MS).toISOString();
      throw new ConflictError(
        `schedule set "${scheduleSet}" is being applied by ${holder.replace(/^the apply by /, '')}; nothing was changed. ` +
          `Run apply again when that one has finished; if it died, the set is free at ${expires}, or now after ` +
          `'temporal workflow terminate --workflow-id ${workflowId}'`,
      );
    }
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
  const lock: HeldLock = { previous };
  try {
    return await fn(lock);
  } finally {
    // This run only: after a lease ran out, the lock may be another apply's now.
    await client.workflow
      .getHandle(workflowId, runId)
      .terminate(lock.record ? RECORD_PREFIX + lock.record : 'apply ended before its plan: it changed nothing')
      .catch((e: unknown) => {
        if (!(e instanceof WorkflowNotFoundError)) throw e;
      });
  }
}

/** The record the latest closed run of the lock left, if it was terminated by an apply that finished. */
async function previousApply(client: Client, workflowId: string): Promise<PreviousApply | undefined> {
  try {
    const { history } = await client.workflowService.getWorkflowExecutionHistoryReverse({
      namespace: client.options.namespace,
      execution: { workflowId },
      maximumPageSize: 1,
    });
    const last = history?.events?.[0];
    const reason = last?.workflowExecutionTerminatedEventAttributes?.reason;
    const endedAt = optionalTsToDate(last?.eventTime);
    if (!reason?.startsWith(RECORD_PREFIX) || !endedAt) return undefined;
    return { record: reason.slice(RECORD_PREFIX.length), endedAt };
  } catch (e) {
    if (isGrpcServiceError(e) && e.code === GRPC_NOT_FOUND) return undefined; // the set was never applied under a lock
    throw e;
  }
}
