/**
 * What bulkExport and snapshotSet share about their own run: the logical time it stands for, its search
 * attributes, and pausing its schedule after a failure. Not exported from index.ts (these are not workflows).
 */
import { CancellationScope, isCancellation, log, patched, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { Activities } from '../common/activities';
import { failureNamingRootCause } from '../common/failures';
import { parseLogicalTime } from '../common/export/logical-time';
import { TemporalScheduledById as SCHEDULED_BY_ID, TemporalScheduledStartTime as SCHEDULED_START } from '../common/search-attributes';

/**
 * A scheduled run that fails pauses its schedule when the schedule has pauseOnFailure: Temporal does not for
 * runs started with AllowAll (triggers, backfills; see activities/schedule-pause.ts). Best effort: the run's
 * own failure is what must be reported, so a failure to pause is only logged.
 */
export async function pauseOwnScheduleAfterFailure(info: ReturnType<typeof workflowInfo>): Promise<void> {
  const scheduleId = info.typedSearchAttributes.get(SCHEDULED_BY_ID);
  if (!scheduleId || !patched('pause-schedule-after-failure')) return;
  const { pauseScheduleAfterFailure } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } });
  try {
    await CancellationScope.nonCancellable(() => pauseScheduleAfterFailure({ scheduleId, workflowId: info.workflowId }));
  } catch (e) {
    log.warn('could not pause the schedule after a failed run', { scheduleId, error: (e as Error).message });
  }
}

/**
 * Search attributes set when the run was started cost nothing more; an upsert is a billable action on Temporal
 * Cloud, so it is made only for values the starter did not set (the Web UI's start form, an older client).
 */
export function upsertMissingSearchAttributes(info: ReturnType<typeof workflowInfo>, pairs: SearchAttributePair[]): void {
  const same = (a: unknown, b: unknown) => (a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b);
  const missing = pairs.filter((p) => !same(info.typedSearchAttributes.get(p.key as never), p.value));
  if (missing.length) upsertSearchAttributes(missing);
}

/** The request's logical time, else the schedule's fire time, else the workflow's start time (ISO, ms). */
export function resolveLogicalTime(requested: string | undefined, info: ReturnType<typeof workflowInfo>): string {
  if (requested) {
    // Validated already (resolveExportInput); read with the same strict parser, never with Date's roll-over.
    const parsed = parseLogicalTime(requested);
    if ('problem' in parsed) throw new Error(parsed.problem);
    return new Date(parsed.ms).toISOString();
  }
  const typed = info.typedSearchAttributes.get(SCHEDULED_START);
  if (typed) return new Date(typed).toISOString();
  const legacy = info.searchAttributes?.TemporalScheduledStartTime?.[0]; // older servers
  if (legacy && !Number.isNaN(new Date(legacy as string).getTime())) return new Date(legacy as string).toISOString();
  return info.startTime.toISOString();
}

/**
 * How a run ends when its body threw: a cancellation is reported as such and passed on; anything else becomes the
 * run's own failure naming the root cause, so the Web UI and every list show it, not "Activity task failed".
 */
export function endRunWith(err: unknown, enter: (phase: 'cancelled' | 'failed', message: string) => void): never {
  if (isCancellation(err)) {
    enter('cancelled', 'cancelled; nothing was published');
    throw err;
  }
  const failure = failureNamingRootCause(err);
  enter('failed', (failure as Error).message);
  throw failure;
}
