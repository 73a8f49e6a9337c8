/**
 * Operations on one managed schedule (pause, unpause, trigger, backfill, delete) and the listing. Each refuses a
 * schedule this project did not create, so the CLI never touches other teams' schedules.
 */
import type { Client, ScheduleDescription, ScheduleHandle } from '@temporalio/client';
import { optionalDateToTs, tsToDate } from '@temporalio/common/lib/time';
import { InvalidInputError } from '../../common/failures';
import { formatDuration } from './duration';
import type { OverlapPolicy } from './file';
import { sleep } from '../../local/processes';
import { exportNameOf, markerOf, toScheduleId, toTemporalOverlap, TIMING_MEMO_KEY, type ScheduleTiming } from './model';
import { describeOrUndefined, managedScheduleIds } from './reconcile';

export interface ManagedSchedule {
  handle: ScheduleHandle;
  description: ScheduleDescription;
}

export async function getManagedSchedule(client: Client, nameOrId: string): Promise<ManagedSchedule> {
  const scheduleId = toScheduleId(nameOrId);
  const description = await describeOrUndefined(client, scheduleId);
  if (!description) {
    throw new InvalidInputError(`there is no schedule ${scheduleId}; 'mz-s3-export schedules list' shows the managed ones`);
  }
  if (!markerOf(description.memo)) {
    throw new InvalidInputError(`schedule ${scheduleId} was not created by mz-s3-export; manage it where it was made`);
  }
  return { handle: client.schedule.getHandle(scheduleId), description };
}

export interface ScheduleRow {
  scheduleId: string;
  exportName: string;
  scheduleSet: string;
  when: string;
  paused: boolean;
  note?: string;
  nextFire?: string;
  lastFire?: { scheduledAt: string; workflowId: string };
  running: string[];
  actionsTaken: number;
  skippedOverlap: number;
}

export async function listManagedSchedules(client: Client): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for (const id of await managedScheduleIds(client)) {
    const d = await describeOrUndefined(client, id);
    const marker = markerOf(d?.memo);
    if (!d || !marker) continue;
    const timing = (d.action.memo?.[TIMING_MEMO_KEY] ?? {}) as Partial<ScheduleTiming>;
    const last = d.info.recentActions.at(-1);
    rows.push({
      scheduleId: id,
      exportName: exportNameOf(id),
      scheduleSet: marker.scheduleSet,
      when: whenText(d, timing),
      paused: d.state.paused,
      ...(d.state.note ? { note: d.state.note } : {}),
      ...(d.info.nextActionTimes[0] ? { nextFire: d.info.nextActionTimes[0].toISOString() } : {}),
      ...(last ? { lastFire: { scheduledAt: last.scheduledAt.toISOString(), workflowId: last.action.workflow.workflowId } } : {}),
      running: d.info.runningActions.map((a) => a.workflow.workflowId),
      actionsTaken: d.info.numActionsTaken,
      skippedOverlap: d.info.numActionsSkippedOverlap,
    });
  }
  return rows;
}

function whenText(d: ScheduleDescription, timing: Partial<ScheduleTiming>): string {
  const tz = d.spec.timezone || 'UTC';
  if (timing.cron?.length) return `cron ${timing.cron.map((c) => `"${c}"`).join(' + ')} ${tz}`;
  const i = d.spec.intervals?.[0];
  if (i) return `every ${formatDuration(i.every)}${i.offset ? ` offset ${formatDuration(i.offset)}` : ''}`;
  return `${d.spec.calendars?.length ?? 0} calendar spec(s) ${tz}`;
}

export async function pauseSchedule(client: Client, nameOrId: string, note: string): Promise<void> {
  const { handle } = await getManagedSchedule(client, nameOrId);
  await handle.pause(note);
}

export async function unpauseSchedule(client: Client, nameOrId: string, note: string): Promise<void> {
  const { handle } = await getManagedSchedule(client, nameOrId);
  await handle.unpause(note);
}

/**
 * Starts one run now (its logical time is now) and returns its workflow id. By default it runs even while
 * another run is going (allowAll): a person asked for it; pass the schedule's policy to respect it instead.
 */
export async function triggerSchedule(
  client: Client,
  nameOrId: string,
  overlap: OverlapPolicy = 'allowAll',
  timeoutMs = 60_000,
): Promise<string | undefined> {
  const { handle, description } = await getManagedSchedule(client, nameOrId);
  const recent = description.info.recentActions;
  const before = new Set(recent.map((a) => a.action.workflow.workflowId));
  // A triggered run's workflow id is the schedule's id plus the trigger time in whole seconds, so a trigger in
  // the same second as the last fire would reuse that fire's id and start nothing: wait for the next second.
  const second = (t: number) => Math.floor(t / 1000);
  if (recent.some((a) => second(a.scheduledAt.getTime()) >= second(Date.now()))) await sleep(1050 - (Date.now() % 1000));
  await handle.trigger(toTemporalOverlap(overlap));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const d = await handle.describe();
    const started = d.info.recentActions.find((a) => !before.has(a.action.workflow.workflowId));
    if (started) return started.action.workflow.workflowId;
    await sleep(200);
  }
  return undefined; // skipped by the overlap policy, or the schedule is slow to act
}

export interface BackfillRequest {
  from: Date;
  to: Date;
  /** Default bufferAll: one export per missed fire, one after another; allowAll runs them at once. */
  overlap?: OverlapPolicy;
}

/**
 * Asks the schedule to take every action it would have taken between from and to, each as its own run with its
 * own scheduled (= logical) time. Returns the fire times Temporal computes for that range (with jitter).
 */
export async function backfillSchedule(client: Client, nameOrId: string, req: BackfillRequest): Promise<Date[]> {
  if (!(req.from < req.to)) throw new InvalidInputError(`--from (${req.from.toISOString()}) must be before --to (${req.to.toISOString()})`);
  if (req.to.getTime() > Date.now()) throw new InvalidInputError(`--to (${req.to.toISOString()}) is in the future; backfill covers past fires only`);
  const { handle } = await getManagedSchedule(client, nameOrId);
  const fires = await matchingTimes(client, handle.scheduleId, req.from, req.to);
  await handle.backfill({ start: req.from, end: req.to, overlap: toTemporalOverlap(req.overlap ?? 'bufferAll') });
  return fires;
}

export async function matchingTimes(client: Client, scheduleId: string, from: Date, to: Date): Promise<Date[]> {
  const res = await client.workflowService.listScheduleMatchingTimes({
    namespace: client.options.namespace,
    scheduleId,
    startTime: optionalDateToTs(from),
    endTime: optionalDateToTs(to),
  });
  return (res.startTime ?? []).map((t) => tsToDate(t));
}

export async function deleteSchedule(client: Client, nameOrId: string): Promise<string> {
  const { handle } = await getManagedSchedule(client, nameOrId);
  await handle.delete();
  return handle.scheduleId;
}

export interface ScheduleUsingConnection {
  scheduleId: string;
  paused: boolean;
}

/**
 * The managed schedules whose exports go through a connection (paused ones too: unpausing them would export
 * through it again). Read from each schedule's action input, which the reconciler wrote from the file.
 */
export async function schedulesUsingConnection(client: Client, connectionName: string): Promise<ScheduleUsingConnection[]> {
  const found: ScheduleUsingConnection[] = [];
  for (const id of await managedScheduleIds(client)) {
    const d = await describeOrUndefined(client, id);
    if (!d || d.action.type !== 'startWorkflow') continue;
    const input = d.action.args?.[0] as { connectionName?: unknown } | undefined;
    if (input?.connectionName === connectionName) found.push({ scheduleId: id, paused: d.state.paused });
  }
  return found;
}
