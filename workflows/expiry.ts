/**
 * expireExports: retention for exports (and snapshot sets). Per bucket and prefix, one planning activity lists
 * the prefix and decides per logical-time folder (common/retention/plan.ts); without `apply` the run returns that
 * plan and deletes nothing. With `apply` it deletes the planned folders, a few per activity, each checked again
 * just before (activities/retention/expiry.ts), and plans again while a plan had more than it may carry.
 *
 * Never deleted: a folder `_latest.json` names, one a set manifest references, one written to within
 * recentWriteSeconds, and with `confirmed` anything the user was not shown. Deterministic code only.
 */
import { defineQuery, proxyActivities, setHandler, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../common/activities';
import { LATEST_FILE } from '../common/export/paths';
import { ACTIVITY_RETRY, applicationFailure, failureNamingRootCause } from '../common/failures';
import { resolveExpireInput } from '../common/retention/input';
import { folderUri } from '../common/retention/plan';
import { storageTargetOf, type StorageTarget } from '../common/storage-profile';
import type { DeletedFolder, ExpireInput, ExpireProgress, ExpireResult, ResolvedExpiryTarget, TargetPlan } from '../common/retention/types';

export const expiryProgressQuery = defineQuery<ExpireProgress>('progress');

const FOLDERS_PER_DELETE = 20;
/** A plan carries at most MAX_DELETIONS_PER_PLAN deletions per target; this bounds the rounds of one run. */
const MAX_ROUNDS = 20;

const options: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  retry: ACTIVITY_RETRY,
};
// Planning lists the whole prefix (1,000 keys a request) and heartbeats per page.
const acts = proxyActivities<Activities>({ ...options, heartbeatTimeout: '30 seconds' });
/**
 * Deleting heartbeats on an interval and per folder: a worker lost mid-batch is noticed in 10 s, and the retry
 * finishes the batch (folders the lost try removed list empty and are still reported as deleted).
 */
const deleting = proxyActivities<Activities>({ ...options, heartbeatTimeout: '10 seconds' });

export async function expireExports(rawInput: ExpireInput): Promise<ExpireResult> {
  try {
    return await expire(rawInput);
  } catch (err) {
    // The run's own failure names the root cause (the Web UI and `status` show it), not "Activity task failed".
    throw failureNamingRootCause(err);
  }
}

async function expire(rawInput: ExpireInput): Promise<ExpireResult> {
  let input: ReturnType<typeof resolveExpireInput>;
  try {
    input = resolveExpireInput(rawInput);
  } catch (e) {
    throw applicationFailure('InvalidInputError', (e as Error).message);
  }
  const progress: ExpireProgress = { phase: 'planning', message: 'listing the prefixes', foldersDeleted: 0, foldersToDelete: 0 };
  setHandler(expiryProgressQuery, () => progress);
  const confirmed = input.confirmed ? new Set(input.confirmed) : undefined;
  const groups = groupByLocation(input.targets);
  const result: ExpireResult = { mode: input.apply ? 'apply' : 'plan', plannedAt: '', plans: [], deleted: [], foldersDeleted: 0, objectsDeleted: 0, skipped: 0 };

  for (const targets of groups) {
    const { bucket, prefix } = targets[0];
    // The group's store: no storageProfile for AWS S3, so those activity inputs stay as they always were.
    const store = storageTargetOf(targets[0]);
    for (let round = 1; ; round++) {
      progress.phase = 'planning';
      progress.message = `planning s3://${bucket}/${prefix}/ (${targets.map((t) => t.name).join(', ')})`;
      const plan = await acts.planExpiry({
        ...store,
        prefix,
        targets: targets.map(({ name, keepLast, keepWithin, keepWithinMs }) => ({ name, keepLast, keepWithin, keepWithinMs })),
        nowMs: Date.now(),
        recentWriteSeconds: input.recentWriteSeconds,
      });
      result.plannedAt ||= plan.plannedAt;
      if (round === 1) result.plans.push(...plan.plans);
      if (!input.apply) break;
      let deferred = 0;
      let deletedThisRound = 0;
      for (const p of plan.plans) {
        deferred += p.deferred;
        const doomed = p.delete.filter((d) => !confirmed || confirmed.has(folderUri(bucket, d.key)));
        deletedThisRound += await deleteFolders(store, p, doomed, progress, result);
      }
      // More than one plan could carry: plan again, unless nothing could be deleted (all skipped or unconfirmed).
      if (deferred === 0 || deletedThisRound === 0 || round >= MAX_ROUNDS) break;
    }
  }
  progress.phase = 'done';
  progress.message = input.apply
    ? `deleted ${result.foldersDeleted} folder(s) (${result.objectsDeleted} objects); ${result.skipped} left because they changed since the plan`
    : `planned: ${result.plans.reduce((s, p) => s + p.delete.length + p.deferred, 0)} folder(s) would be deleted`;
  return result;
}

async function deleteFolders(store: StorageTarget, plan: TargetPlan, doomed: TargetPlan['delete'], progress: ExpireProgress, result: ExpireResult): Promise<number> {
  progress.phase = 'deleting';
  progress.foldersToDelete += doomed.length;
  let deleted = 0;
  for (let i = 0; i < doomed.length; i += FOLDERS_PER_DELETE) {
    const chunk = doomed.slice(i, i + FOLDERS_PER_DELETE);
    progress.message = `deleting expired folders of ${plan.name} (${i + chunk.length} of ${doomed.length})`;
    const res = await deleting.deleteExpiredFolders({
      ...store,
      latestKey: `${plan.prefix}/${plan.name}/${LATEST_FILE}`,
      folders: chunk.map(({ key, logicalTime, lastWrittenAt, memberFolders }) => ({ key, logicalTime, lastWrittenAt, ...(memberFolders ? { memberFolders } : {}) })),
    });
    for (const f of res.folders) record(result, progress, f);
    deleted += res.folders.filter((f) => !f.skipped).length;
  }
  return deleted;
}

function record(result: ExpireResult, progress: ExpireProgress, f: DeletedFolder): void {
  result.deleted.push(f);
  if (f.skipped) result.skipped++;
  else {
    result.foldersDeleted++;
    result.objectsDeleted += f.deleted;
    progress.foldersDeleted++;
  }
}

/** Targets by store, bucket and prefix, in input order: one listing serves every export under a prefix. */
function groupByLocation(targets: ResolvedExpiryTarget[]): ResolvedExpiryTarget[][] {
  const groups = new Map<string, ResolvedExpiryTarget[]>();
  for (const t of targets) {
    const id = JSON.stringify([t.storageProfile ?? null, t.bucket, t.prefix]);
    groups.set(id, [...(groups.get(id) ?? []), t]);
  }
  return [...groups.values()];
}
