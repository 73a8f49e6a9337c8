/**
 * Reconciles a schedule file into Temporal Schedules. plan reads only; apply carries a plan out.
 *
 * plan lists the namespace's schedules once (ListSchedules: memo, search attributes, spec and pause state, up to
 * 1,000 a page) and compares each entry with its listed schedule through the definition digest the last apply
 * stored on it (digest.ts), plus the pause state, note and spec shape that operators can change outside the file.
 * Only entries that do not clearly match are described (DescribeSchedule is consistent, the list lags changes by
 * a moment) and diffed field by field. For `plan`, that includes an entry the list does not show: a schedule created
 * a moment ago (say by the apply just before) is not listed yet, and planning it as a create would print a wrong
 * plan. `apply` skips those describes (describeUnlisted: false): it plans unlisted entries as creates and lets the
 * create find out, since a create that meets an existing schedule is compared and updated instead (the same path
 * that handles one made between plan and apply). A first apply of N entries therefore costs N creates and no
 * describes. Schedules of this file's set that the file no longer has are described again before they count as
 * deletes, so one deleted a moment ago is not deleted twice. A steady-state re-apply costs the list pages only.
 * `schedules apply` runs through applyFile: one apply per set at a time (apply-lock.ts), each planning from a list
 * that shows what the one before it left.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleDescription, type ScheduleSummary } from '@temporalio/client';
import { msOptionalToNumber, msToNumber } from '@temporalio/common/lib/time';
import { ConflictError } from '../../common/failures';
import { forEachBounded } from '../bounded';
import { sleep } from '../../local/processes';
import { withApplyLock, type LockOptions, type PreviousApply } from './apply-lock';
import type { ScheduleEntry, ScheduleFile } from './file';
import { definitionDigest, digestOf, isCurrentDigest, setDigest, stampDigest } from './digest';
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
  /** Temporal calls in flight at once while planning (describes) and applying (creates, updates, deletes). */
  concurrency?: number;
  /**
   * Describe entries the list does not show before planning them as creates (default true: what `plan` prints is
   * exact even right after an apply). `apply` passes false: its creates resolve an existing schedule themselves.
   */
  describeUnlisted?: boolean;
}

/**
 * Enough to keep a server busy without a burst of thousands of calls at once. Measured on the dev server (2 cores,
 * 10,000 creates): 16 at once 64-68 s, 32 51 s, 64 53-60 s, 128 55 s; see docs/benchmarks.md.
 */
export const DEFAULT_CONCURRENCY = 32;

/** The field a plan shows when only the stored digest is missing or out of date (a schedule from an older apply). */
export const DIGEST_FIELD = 'definitionDigest';

/** How often one write may find its schedule created or deleted under it before apply gives up on it. */
const MAX_TURNS = 3;

/** `listed`: the schedule list when the caller has read it already (applyFile, once it shows the last apply). */
export async function planSchedules(client: Client, file: ScheduleFile, opts: ReconcileOptions, listed?: Map<string, ScheduleSummary>): Promise<Plan> {
  listed ??= await listSchedules(client);
  const items: PlanItem[] = [];
  const toDescribe: number[] = [];
  const wanted = new Set<string>();
  for (const entry of file.entries) {
    const scheduleId = desiredSchedule(entry, file.scheduleSet, opts.defaultTaskQueue).scheduleId;
    wanted.add(scheduleId);
    const summary = listed.get(scheduleId);
    if (summary && listedMatches(entry, summary, file.scheduleSet, opts.defaultTaskQueue)) items.push({ action: 'unchanged', scheduleId, entry });
    else if (!summary && opts.describeUnlisted === false) items.push({ action: 'create', scheduleId, entry });
    else {
      toDescribe.push(items.length);
      items.push({ action: 'unchanged', scheduleId, entry }); // replaced below
    }
  }
  await forEachBounded(toDescribe, opts.concurrency ?? DEFAULT_CONCURRENCY, async (i) => {
    const { scheduleId, entry } = items[i] as { scheduleId: string; entry: ScheduleEntry };
    items[i] = compareLive(entry, scheduleId, await describeOrUndefined(client, scheduleId), file.scheduleSet, opts.defaultTaskQueue);
  });
  const gone = [...listed.values()].filter((s) => !wanted.has(s.scheduleId) && markerOf(s.memo)?.scheduleSet === file.scheduleSet).map((s) => s.scheduleId);
  const deletes: PlanItem[] = [];
  await forEachBounded(gone.sort(), opts.concurrency ?? DEFAULT_CONCURRENCY, async (scheduleId) => {
    const live = await describeOrUndefined(client, scheduleId);
    if (live && markerOf(live.memo)?.scheduleSet === file.scheduleSet) deletes.push({ action: 'delete', scheduleId, exportName: exportNameOf(scheduleId) });
  });
  items.push(...deletes.sort((a, b) => (a.scheduleId < b.scheduleId ? -1 : 1)));
  return { scheduleSet: file.scheduleSet, namespace: client.options.namespace, items };
}

/** The digest of what apply writes for an entry (the file's note included, a hand-written one not). */
export function entryDigest(entry: ScheduleEntry, defaultTaskQueue: string): string {
  return definitionDigest(desiredUpdate(entry, defaultTaskQueue));
}

/**
 * True when the listed schedule is certainly what the entry asks for: ours, of this set, carrying the entry's
 * digest, with the pause state and note the file wants and the spec shape the digest was taken with. Anything
 * else is described and diffed.
 */
function listedMatches(entry: ScheduleEntry, listed: ScheduleSummary, scheduleSet: string, defaultTaskQueue: string): boolean {
  if (markerOf(listed.memo)?.scheduleSet !== scheduleSet) return false;
  const desired = desiredUpdate(entry, defaultTaskQueue);
  if (digestOf(listed) !== definitionDigest(desired)) return false;
  if (listed.state.paused !== Boolean((desired.state as { paused?: boolean } | undefined)?.paused)) return false;
  if (entry.note !== undefined && (listed.state.note || undefined) !== entry.note) return false;
  return specShapeMatches(desired.spec, listed.spec);
}

/**
 * Edits made outside the file (Web UI, CLI) leave the digest as it was; the spec's shape shows them. Cron strings
 * come back compiled, one calendar each, so calendars are compared by count.
 */
function specShapeMatches(want: ReturnType<typeof desiredUpdate>['spec'], live: ScheduleSummary['spec']): boolean {
  if (!live) return false;
  const calendars = (want.cronExpressions?.length ?? 0) + (want.calendars?.length ?? 0);
  const intervals = (want.intervals ?? []).map((i) => `${msToNumber(i.every)}/${msOptionalToNumber(i.offset) ?? 0}`);
  const liveIntervals = (live.intervals ?? []).map((i) => `${msToNumber(i.every)}/${msOptionalToNumber(i.offset) ?? 0}`);
  return (
    (live.calendars?.length ?? 0) === calendars &&
    liveIntervals.join() === intervals.join() &&
    (live.timezone || 'UTC') === (want.timezone || 'UTC') &&
    (msOptionalToNumber(live.jitter) ?? 0) === (msOptionalToNumber(want.jitter) ?? 0)
  );
}

/** The plan item for an entry given its described (consistent) schedule. */
function compareLive(entry: ScheduleEntry, scheduleId: string, live: ScheduleDescription | undefined, scheduleSet: string, defaultTaskQueue: string): PlanItem {
  if (!live) return { action: 'create', scheduleId, entry };
  const marker = markerOf(live.memo);
  if (!marker) {
    return { action: 'conflict', scheduleId, reason: 'a schedule with this id exists and was not created by mz-s3-export; rename the export or delete that schedule' };
  }
  if (marker.scheduleSet !== scheduleSet) {
    return {
      action: 'conflict',
      scheduleId,
      reason: `this export's schedule belongs to schedule set "${marker.scheduleSet}" (another file); remove it there first or use that set`,
    };
  }
  const changes = diffSchedule(entry, live, defaultTaskQueue);
  const digest = entryDigest(entry, defaultTaskQueue);
  // Same definition, stored without a digest of this version (an older apply): record one so the next plan needs
  // no describe. A digest of this version that differs is left alone: the server writes a schedule's search
  // attributes a moment after its definition, so right after an update describe shows the new definition with the
  // old digest; the field diff above is what decides.
  if (!changes.length && !isCurrentDigest(digestOf(live))) changes.push({ field: DIGEST_FIELD, from: digestOf(live), to: digest });
  return changes.length ? { action: 'update', scheduleId, entry, changes } : { action: 'unchanged', scheduleId, entry };
}

export interface ApplyResult {
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: string[];
}

/**
 * Carries out a plan, up to `concurrency` calls at once; refuses before changing anything when the plan has a
 * conflict. On a failure no further change starts; the error names the schedule, and onStep has reported each
 * change made before it.
 */
export async function applyPlan(
  client: Client,
  plan: Plan,
  opts: ReconcileOptions,
  onStep: (line: string) => void = () => undefined,
  /** Each item as it is done (also when a later one fails). */
  onDone: (item: PlanItem, outcome: keyof ApplyResult) => void = () => undefined,
): Promise<ApplyResult> {
  const conflicts = plan.items.filter((i) => i.action === 'conflict');
  if (conflicts.length) {
    throw new ConflictError(
      `nothing was changed; resolve these first:\n  - ${conflicts.map((c) => `${c.scheduleId}: ${(c as { reason: string }).reason}`).join('\n  - ')}`,
    );
  }
  const done: (keyof ApplyResult)[] = new Array(plan.items.length);
  // Another apply (or an operator) can create or delete a schedule between this plan and each write: an update
  // that finds it gone creates it, a create that finds it there compares it. Each such turn counts, so a schedule
  // created and deleted over and over by someone else ends in a clear error instead of a loop.
  const update = async (scheduleId: string, entry: ScheduleEntry, changes: FieldChange[], turns = 0): Promise<keyof ApplyResult> => {
    try {
      const digest = entryDigest(entry, opts.defaultTaskQueue);
      await client.schedule.getHandle(scheduleId).update((prev) => stampDigest(desiredUpdate(entry, opts.defaultTaskQueue, prev.state.note || undefined), digest));
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw describeFailure(scheduleId, e);
      return create(scheduleId, entry, turns + 1, ' (deleted by someone else while applying)');
    }
    onStep(`updated ${scheduleId} (${changes.map((c) => c.field).join(', ')})`);
    return 'updated';
  };
  const create = async (scheduleId: string, entry: ScheduleEntry, turns = 0, why = ''): Promise<keyof ApplyResult> => {
    if (turns > MAX_TURNS) throw new ConflictError(`${scheduleId}: created and deleted by someone else while applying, over and over; changes made before this one stay, run plan again`);
    try {
      await client.schedule.create(stampDigest(desiredSchedule(entry, plan.scheduleSet, opts.defaultTaskQueue), entryDigest(entry, opts.defaultTaskQueue)));
    } catch (e) {
      if (!(e instanceof ScheduleAlreadyRunning)) throw describeFailure(scheduleId, e);
      // Made since the list was read (by an apply a moment ago, or someone else): compare it like plan would.
      const item = compareLive(entry, scheduleId, await describeOrUndefined(client, scheduleId), plan.scheduleSet, opts.defaultTaskQueue);
      if (item.action === 'update') return update(scheduleId, entry, item.changes, turns + 1);
      if (item.action === 'unchanged') return 'unchanged';
      if (item.action === 'create') return create(scheduleId, entry, turns + 1, why); // deleted again since
      throw new ConflictError(`${scheduleId}: ${(item as { reason?: string }).reason ?? 'created by someone else while applying'}; changes made before this one stay, run plan again`);
    }
    onStep(`created ${scheduleId}${why}`);
    return 'created';
  };
  await forEachBounded(plan.items, opts.concurrency ?? DEFAULT_CONCURRENCY, async (item, i) => {
    switch (item.action) {
      case 'create':
        done[i] = await create(item.scheduleId, item.entry);
        break;
      case 'update':
        done[i] = await update(item.scheduleId, item.entry, item.changes);
        break;
      case 'delete':
        try {
          await client.schedule.getHandle(item.scheduleId).delete();
        } catch (e) {
          if (!(e instanceof ScheduleNotFoundError)) throw describeFailure(item.scheduleId, e);
        }
        done[i] = 'deleted';
        onStep(`deleted ${item.scheduleId} (its past runs and exported data stay)`);
        break;
      case 'unchanged':
        done[i] = 'unchanged';
        break;
    }
    if (done[i]) onDone(item, done[i]);
  });
  const result: ApplyResult = { created: [], updated: [], deleted: [], unchanged: [] };
  plan.items.forEach((item, i) => done[i] && result[done[i]].push(item.scheduleId));
  return result;
}

export interface ApplyFileHooks {
  /** The plan, made once the set's apply lock is held; awaited before the first change. */
  onPlan?: (plan: Plan) => unknown;
  /** Each change as it is made. */
  onStep?: (line: string) => void;
  /** Another apply of the set holds it: this one waits (apply-lock.ts). */
  onWait?: (holder: string) => void;
  lock?: Omit<LockOptions, 'onWait'>;
}

/**
 * What `schedules apply` does: plan and apply under the set's apply lock, so concurrent applies of one set run
 * one after the other and the set ends as the file applied last, entry for entry. The plan reads the schedule list,
 * which lags writes by a moment: right after another apply, a schedule it deleted may still be listed with the
 * digest this file wants (planned unchanged, never made again), or one it created not listed yet (never deleted).
 * So the previous apply leaves a digest of what the set holds after it (its lock's record), and this one plans
 * from a list that shows that state, waiting for it up to LIST_LAG_MS after that apply ended. Past that, the list
 * is taken as it is: a difference then is a change made outside apply (e.g. `schedules delete`), which the plan
 * handles like any other.
 */
export async function applyFile(client: Client, file: ScheduleFile, opts: ReconcileOptions, hooks: ApplyFileHooks = {}): Promise<{ plan: Plan; result: ApplyResult }> {
  return withApplyLock(client, file.scheduleSet, { ...hooks.lock, onWait: hooks.onWait }, async (lock) => {
    const listed = await listShowing(client, file.scheduleSet, lock.previous, hooks.onStep);
    const plan = await planSchedules(client, file, { ...opts, describeUnlisted: false }, listed);
    await hooks.onPlan?.(plan);
    // What the set holds, kept up to date as each write lands: even an apply that fails halfway leaves the next one
    // an exact record to wait for.
    const holds = setHoldings(listed, file.scheduleSet);
    try {
      const result = await applyPlan(client, plan, opts, hooks.onStep, (item, outcome) => {
        if (outcome === 'deleted') holds.delete(item.scheduleId);
        else if ('entry' in item && (outcome !== 'unchanged' || !holds.has(item.scheduleId))) holds.set(item.scheduleId, entryDigest(item.entry, opts.defaultTaskQueue));
      });
      return { plan, result };
    } finally {
      lock.record = setDigest(holds);
    }
  });
}

/** The listed schedules of a set (ours, by their marker), each with the digest it carries. */
function setHoldings(listed: Map<string, ScheduleSummary>, scheduleSet: string): Map<string, string | undefined> {
  return new Map([...listed.values()].filter((l) => markerOf(l.memo)?.scheduleSet === scheduleSet).map((l) => [l.scheduleId, digestOf(l)]));
}

/** How long after an apply the list may still lag it (the dev server: about a second; a busy cluster: more). */
const LIST_LAG_MS = 30_000;

/** The schedule list, once it shows what the previous apply left (or LIST_LAG_MS after it ended). */
async function listShowing(client: Client, scheduleSet: string, previous: PreviousApply | undefined, onStep?: (line: string) => void): Promise<Map<string, ScheduleSummary>> {
  for (let said = false; ; await sleep(250)) {
    const listed = await listSchedules(client);
    if (!previous || Date.now() >= previous.endedAt.getTime() + LIST_LAG_MS) return listed;
    if (setDigest(setHoldings(listed, scheduleSet)) === previous.record) return listed;
    if (!said) onStep?.(`waiting for the schedule list to show what the apply at ${previous.endedAt.toISOString()} left`);
    said = true;
  }
}

export async function describeOrUndefined(client: Client, scheduleId: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return undefined;
    throw e;
  }
}

/** Every schedule of the namespace by id, as ListSchedules returns it (1,000 a page). */
async function listSchedules(client: Client): Promise<Map<string, ScheduleSummary>> {
  const byId = new Map<string, ScheduleSummary>();
  for await (const s of client.schedule.list({ pageSize: 1000 })) byId.set(s.scheduleId, s);
  return byId;
}

/** Ids of listed schedules that carry our marker, optionally of one set. */
export async function managedScheduleIds(client: Client, scheduleSet?: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of client.schedule.list({ pageSize: 1000 })) {
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
