/**
 * What differs between a file entry and the live schedule, field by field, in the file's own terms. Live values
 * are read back from the schedule wherever Temporal returns them as written (input, interval, time zone,
 * jitter, policies, task queue, pause state), so edits made in the Web UI show up too; cron expressions come
 * back compiled, so they are compared with what the last apply recorded in the action memo.
 */
import type { ScheduleDescription } from '@temporalio/client';
import type { ScheduleEntry } from './file';
import { canonicalJson } from './digest';
import { formatDuration } from './duration';
import { fromTemporalOverlap, workflowTypeOf, scheduleIdFor, TIMING_MEMO_KEY, type ScheduleTiming } from './model';

export type LiveSchedule = Pick<ScheduleDescription, 'spec' | 'action' | 'policies' | 'state' | 'memo'>;

export interface FieldChange {
  field: string;
  /** Display forms: durations as 1h30m, absent as undefined. */
  from: unknown;
  to: unknown;
}

export function diffSchedule(entry: ScheduleEntry, live: LiveSchedule, defaultTaskQueue: string): FieldChange[] {
  const changes: FieldChange[] = [];
  const check = (field: string, from: unknown, to: unknown) => {
    if (!sameValue(from, to)) changes.push({ field, from, to });
  };

  const liveInput = (live.action.args?.[0] ?? {}) as Record<string, unknown>;
  const wantInput = (entry.expire ?? entry.input) as unknown as Record<string, unknown>;
  for (const key of [...new Set([...Object.keys(wantInput), ...Object.keys(liveInput)])].sort()) {
    check(key === 'exportName' || key === 'setName' ? 'name' : key, liveInput[key], wantInput[key]);
  }

  const recorded = (live.action.memo?.[TIMING_MEMO_KEY] ?? {}) as Partial<ScheduleTiming>;
  check('cron', recorded.cron, entry.cron);
  const calendars = live.spec.calendars?.length ?? 0;
  if (entry.cron && recorded.cron && sameValue(recorded.cron, entry.cron) && calendars !== entry.cron.length) {
    // The recorded cron matches the file but the live calendars do not: someone edited the schedule elsewhere.
    changes.push({ field: 'cron', from: `${calendars} calendar spec(s) changed outside the file`, to: entry.cron });
  }
  const liveIntervals = (live.spec.intervals ?? []).map((i) => intervalText(i.every, i.offset));
  check('interval', liveIntervals.length ? liveIntervals.join(', ') : undefined, entry.interval ? intervalText(entry.interval.everyMs, entry.interval.offsetMs) : undefined);
  check('timezone', live.spec.timezone || 'UTC', entry.timezone);
  check('jitter', formatDuration(live.spec.jitter ?? 0), formatDuration(entry.jitterMs));
  check('catchupWindow', formatDuration(live.policies.catchupWindow), formatDuration(entry.catchupWindowMs));
  check('overlap', fromTemporalOverlap(live.policies.overlap), entry.overlap);
  check('pauseOnFailure', live.policies.pauseOnFailure, entry.pauseOnFailure);
  check('taskQueue', live.action.taskQueue, entry.taskQueue ?? defaultTaskQueue);
  check('workflowType', live.action.workflowType, workflowTypeOf(entry));
  check('workflowId', live.action.workflowId, scheduleIdFor(entry.name));
  check('paused', live.state.paused, entry.paused);
  // A note only matters when the file gives one; otherwise whatever an operator wrote stays.
  if (entry.note !== undefined) check('note', live.state.note || undefined, entry.note);
  return changes;
}

function intervalText(everyMs: number, offsetMs: number): string {
  return offsetMs ? `every ${formatDuration(everyMs)} offset ${formatDuration(offsetMs)}` : `every ${formatDuration(everyMs)}`;
}

/** Deep equality of JSON-like values; undefined and absent are the same. */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
