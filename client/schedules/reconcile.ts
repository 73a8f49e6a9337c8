/**
 * Reconciles a schedule file into Temporal Schedules. plan reads only; apply carries a plan out. Each desired
 * schedule is looked up by id (describe is consistent, the schedule list is not); the list only finds
 * schedules of this file's set that the file no longer has, and each of those is described again before it
 * counts, so a schedule deleted a moment ago is not deleted twice.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import { ConflictError } from '../../common/failures';
import type { ScheduleEntry, ScheduleFile } from './file';
import { diffSchedule, type FieldChange } from './diff';
import { desiredSchedule, desiredUpdate, exportNameOf, markerOf, SCHEDULE_ID_PREFIX } from './model';

export type PlanItem =
  | { action: 'create'; scheduleId: string; entry: ScheduleEntry }
  | { action: 'update'; scheduleId: string; entry: ScheduleEntry; changes: FieldChange[] }
  | { action: 'unchanged'; scheduleId: string; entry: ScheduleEntry }
  | { action: 'delete'; scheduleId: string; exportName: string }
  | { action: 'conflict'; scheduleId: string; reason: string };

export interface Plan {
  scheduleSet: string;
  namespace: string;
  items: PlanItem[];
}

export interface ReconcileOptions {
  /** Task queue for entries that name none: the client's TEMPORAL_TASK_QUEUE. */
  defaultTaskQueue: string;
}

export async function planSchedules(client: Client, file: ScheduleFile, opts: ReconcileOptions): Promise<Plan> {
  const items: PlanItem[] = [];
  const wanted = new Set<string>();
  for (const entry of file.entries) {
    const scheduleId = desiredSchedule(entry, file.scheduleSet, opts.defaultTaskQueue).scheduleId;
    wanted.add(scheduleId);
    const live = await describeOrUndefined(client, scheduleId);
    if (!live) {
      items.push({ action: 'create', scheduleId, entry });
      continue;
    }
    const marker = markerOf(live.memo);
    if (!marker) {
      items.push({
        action: 'conflict',
        scheduleId,
        reason: 'a schedule with this id exists and was not created by mz-s3-export; rename the export or delete that schedule',
      });
    } else if (marker.scheduleSet !== file.scheduleSet) {
      items.push({
        action: 'conflict',
        scheduleId,
        reason: `this export's schedule belongs to schedule set "${marker.scheduleSet}" (another file); remove it there first or use that set`,
      });
    } else {
      const changes = diffSchedule(entry, live, opts.defaultTaskQueue);
      items.push(changes.length ? { action: 'update', scheduleId, entry, changes } : { action: 'unchanged', scheduleId, entry });
    }
  }
  for (const scheduleId of await managedScheduleIds(client, file.scheduleSet)) {
    if (wanted.has(scheduleId)) continue;
    const live = await describeOrUndefined(client, scheduleId);
    if (live && markerOf(live.memo)?.scheduleSet === file.scheduleSet) {
      items.push({ action: 'delete', scheduleId, exportName: exportNameOf(scheduleId) });
    }
  }
  return { scheduleSet: file.scheduleSet, namespace: client.options.namespace, items };
}

export interface ApplyResult {
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: string[];
}

/** Carries out a plan; refuses before changing anything when the plan has a conflict. */
export async function applyPlan(
  client: Client,
  plan: Plan,
  opts: ReconcileOptions,
  onStep: (line: string) => void = () => undefined,
): Promise<ApplyResult> {
  const conflicts = plan.items.filter((i) => i.action === 'conflict');
  if (conflicts.length) {
    throw new ConflictError(
      `nothing was changed; resolve these first:\n  - ${conflicts.map((c) => `${c.scheduleId}: ${(c as { reason: string }).reason}`).join('\n  - ')}`,
    );
  }
  const result: ApplyResult = { created: [], updated: [], deleted: [], unchanged: [] };
  for (const item of plan.items) {
    switch (item.action) {
      case 'create':
        try {
          await client.schedule.create(desiredSchedule(item.entry, plan.scheduleSet, opts.defaultTaskQueue));
        } catch (e) {
          if (e instanceof ScheduleAlreadyRunning) {
            throw new ConflictError(`${item.scheduleId} was created by someone else while applying; run plan again`);
          }
          throw describeFailure(item.scheduleId, e);
        }
        result.created.push(item.scheduleId);
        onStep(`created ${item.scheduleId}`);
        break;
      case 'update':
        try {
          await client.schedule
            .getHandle(item.scheduleId)
            .update((prev) => desiredUpdate(item.entry, opts.defaultTaskQueue, prev.state.note || undefined));
        } catch (e) {
          throw describeFailure(item.scheduleId, e);
        }
        result.updated.push(item.scheduleId);
        onStep(`updated ${item.scheduleId} (${item.changes.map((c) => c.field).join(', ')})`);
        break;
      case 'delete':
        try {
          await client.schedule.getHandle(item.scheduleId).delete();
        } catch (e) {
          if (!(e instanceof ScheduleNotFoundError)) throw describeFailure(item.scheduleId, e);
        }
        result.deleted.push(item.scheduleId);
        onStep(`deleted ${item.scheduleId} (its past runs and exported data stay)`);
        break;
      case 'unchanged':
        result.unchanged.push(item.scheduleId);
        break;
    }
  }
  return result;
}

export async function describeOrUndefined(client: Client, scheduleId: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return undefined;
    throw e;
  }
}

/** Ids of listed schedules that carry our marker, optionally of one set. */
export async function managedScheduleIds(client: Client, scheduleSet?: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(SCHEDULE_ID_PREFIX)) continue;
    const marker = markerOf(s.memo);
    if (marker && (scheduleSet === undefined || marker.scheduleSet === scheduleSet)) ids.push(s.scheduleId);
  }
  return ids.sort();
}

function describeFailure(scheduleId: string, e: unknown): Error {
  const err = e as Error;
  const cause = (err as { cause?: Error }).cause;
  return new Error(`${scheduleId}: ${err.message}${cause?.message ? ` (${cause.message})` : ''}`);
}
