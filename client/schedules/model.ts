/**
 * How a schedule file entry becomes a Temporal Schedule, and how we recognise the schedules this project manages:
 *   - id `mz-s3-export:<export name>`; the action's workflow id is the same, so each fire runs as
 *     `mz-s3-export:<export name>-<scheduled time>` (Temporal appends the time);
 *   - schedule memo `{ managedBy: 'mz-s3-export', scheduleSet: <set> }`, fixed at creation (Temporal cannot
 *     update a schedule's memo), so apply never touches a schedule someone else made or another file owns;
 *   - the export's input in the action's args (compared field by field to detect updates) and the timing as
 *     written in the file in the action's memo (cron strings cannot be read back: the server compiles them).
 */
import type { ScheduleOptions, ScheduleOverlapPolicy, ScheduleUpdateOptions } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { InvalidInputError } from '../../common/failures';
import { exportNameProblem } from '../../common/export/input';
import type { OverlapPolicy, ScheduleEntry } from './file';
import { bulkExport } from '../../workflows/export';
import { snapshotSet } from '../../workflows/snapshot-set';
import { expireExports } from '../../workflows/expiry';
import { MzConnection, MzExportName, MzLogicalTime } from '../../common/search-attributes';

export const SCHEDULE_ID_PREFIX = 'mz-s3-export:';
export const MANAGED_BY = 'mz-s3-export';
/** The type name Temporal records for bulkExport (for comparing live schedules and visibility queries). */
export const EXPORT_WORKFLOW_TYPE = bulkExport.name;
/** The type name Temporal records for snapshotSet. */
export const SET_WORKFLOW_TYPE = snapshotSet.name;

/** The workflow type an entry's schedule starts. */
export function workflowTypeOf(entry: ScheduleEntry): string {
  return entry.kind === 'expiry' ? EXPIRY_WORKFLOW_TYPE : entry.kind === 'set' ? SET_WORKFLOW_TYPE : EXPORT_WORKFLOW_TYPE;
}
/** The expiry schedule's workflow (the file's top-level `expiry`; docs/retention.md). */
export const EXPIRY_WORKFLOW_TYPE = expireExports.name;
/** `mz-s3-export:expire:<schedule set>`: the expiry schedule's id (':' is in no export name). */
const EXPIRY_ID = /^mz-s3-export:expire:[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Key of the action memo holding the timing as the file wrote it. */
export const TIMING_MEMO_KEY = 'mzS3ExportScheduleTiming';

export { MzConnection, MzExportName, MzLogicalTime };

export function scheduleIdFor(exportName: string): string {
  return SCHEDULE_ID_PREFIX + exportName;
}

/** Accepts an export name or a full schedule id; refuses anything that could not be one of ours. */
export function toScheduleId(nameOrId: string): string {
  if (EXPIRY_ID.test(nameOrId) || EXPIRY_ID.test(SCHEDULE_ID_PREFIX + nameOrId)) return nameOrId.startsWith(SCHEDULE_ID_PREFIX) ? nameOrId : SCHEDULE_ID_PREFIX + nameOrId;
  const name = exportNameOf(nameOrId);
  const problem = exportNameProblem(name);
  if (problem) throw new InvalidInputError(`${problem}; give an export name or a schedule id such as ${SCHEDULE_ID_PREFIX}orders-daily`);
  return scheduleIdFor(name);
}

export function exportNameOf(scheduleId: string): string {
  return scheduleId.startsWith(SCHEDULE_ID_PREFIX) ? scheduleId.slice(SCHEDULE_ID_PREFIX.length) : scheduleId;
}

export interface ScheduleMarker {
  managedBy: typeof MANAGED_BY;
  scheduleSet: string;
}

export function markerOf(memo: Record<string, unknown> | undefined): ScheduleMarker | undefined {
  if (memo?.managedBy !== MANAGED_BY || typeof memo.scheduleSet !== 'string') return undefined;
  return { managedBy: MANAGED_BY, scheduleSet: memo.scheduleSet };
}

/** The timing part of an entry, as stored in the action memo and compared on plan. */
export type ScheduleTiming = Pick<ScheduleEntry, 'cron' | 'interval' | 'timezone' | 'jitterMs' | 'catchupWindowMs' | 'overlap' | 'pauseOnFailure'>;

export function timingOf(entry: ScheduleEntry): ScheduleTiming {
  return {
    ...(entry.cron ? { cron: entry.cron } : {}),
    ...(entry.interval ? { interval: entry.interval } : {}),
    timezone: entry.timezone,
    jitterMs: entry.jitterMs,
    catchupWindowMs: entry.catchupWindowMs,
    overlap: entry.overlap,
    pauseOnFailure: entry.pauseOnFailure,
  };
}

const OVERLAP_TO_TEMPORAL: Record<OverlapPolicy, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  bufferOne: 'BUFFER_ONE',
  bufferAll: 'BUFFER_ALL',
  cancelOther: 'CANCEL_OTHER',
  terminateOther: 'TERMINATE_OTHER',
  allowAll: 'ALLOW_ALL',
};

export function toTemporalOverlap(p: OverlapPolicy): ScheduleOverlapPolicy {
  return OVERLAP_TO_TEMPORAL[p];
}

export function fromTemporalOverlap(p: ScheduleOverlapPolicy | undefined): OverlapPolicy {
  const found = (Object.entries(OVERLAP_TO_TEMPORAL) as [OverlapPolicy, ScheduleOverlapPolicy][]).find(([, v]) => v === p);
  return found ? found[0] : 'skip'; // unspecified means the server default, SKIP
}

function searchAttributesOf(entry: ScheduleEntry): SearchAttributePair[] {
  if (!entry.input) return [];
  return [
    { key: MzExportName, value: entry.name },
    { key: MzConnection, value: entry.input.connectionName },
  ];
}

/** Everything Temporal needs to create the schedule of an entry. */
export function desiredSchedule(entry: ScheduleEntry, scheduleSet: string, defaultTaskQueue: string): ScheduleOptions {
  const scheduleId = scheduleIdFor(entry.name);
  const update = desiredUpdate(entry, defaultTaskQueue);
  return {
    scheduleId,
    ...update,
    memo: { managedBy: MANAGED_BY, scheduleSet } satisfies ScheduleMarker,
    state: { paused: entry.paused, ...(entry.note !== undefined ? { note: entry.note } : {}) },
  };
}

/** The same, as an update of an existing schedule; keepNote is the live note when the file gives none. */
export function desiredUpdate(entry: ScheduleEntry, defaultTaskQueue: string, keepNote?: string): ScheduleUpdateOptions {
  const scheduleId = scheduleIdFor(entry.name);
  const note = entry.note ?? keepNote;
  return {
    spec: {
      ...(entry.cron ? { cronExpressions: entry.cron } : {}),
      ...(entry.interval ? { intervals: [{ every: entry.interval.everyMs, offset: entry.interval.offsetMs }] } : {}),
      timezone: entry.timezone,
      jitter: entry.jitterMs,
    },
    action: {
      type: 'startWorkflow',
      // Started by function reference, so each entry's input is type-checked against its workflow's.
      ...(entry.kind === 'expiry'
        ? { workflowType: expireExports, args: [entry.expire] as const }
        : entry.kind === 'set'
          ? { workflowType: snapshotSet, args: [entry.input] as const }
          : { workflowType: bulkExport, args: [entry.input] as const }),
      workflowId: scheduleId,
      taskQueue: entry.taskQueue ?? defaultTaskQueue,
      memo: { [TIMING_MEMO_KEY]: timingOf(entry) },
      typedSearchAttributes: searchAttributesOf(entry),
    },
    policies: {
      overlap: toTemporalOverlap(entry.overlap),
      catchupWindow: entry.catchupWindowMs,
      pauseOnFailure: entry.pauseOnFailure,
    },
    typedSearchAttributes: searchAttributesOf(entry),
    state: { paused: entry.paused, ...(note !== undefined ? { note } : {}) },
  };
}
