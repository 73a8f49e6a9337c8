/**
 * Retention's S3 side: plan (one listing of the prefix, the set manifests and `_latest.json` read for what must
 * stay) and delete (per folder, after checking again that nothing changed since the plan). The decisions are
 * the pure functions of common/retention/plan.ts; the workflow decides whether to delete at all.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { LATEST_FILE } from '../../common/export/paths';
import type { LatestPointer } from '../../common/export/manifest';
import { PrefixIndex, planTarget, setManifestReferences, type Protections } from '../../common/retention/plan';
import type { DeletedFolder, DeleteFoldersInput, PlanExpiryInput, PlanExpiryResult, RetentionActivities } from '../../common/retention/types';
import { s3Of, type ActivityDeps } from '../deps';
import { readJson } from '../export/claims';
import { heartbeat, heartbeating } from '../heartbeat';
import { deleteInPublicationOrder, forEachObject, listObjects } from '../s3-folders';

const SET_MANIFEST_READ_CONCURRENCY = 16;

export function createRetentionActivities(deps: ActivityDeps): RetentionActivities {
  return heartbeating({
    async planExpiry(input: PlanExpiryInput): Promise<PlanExpiryResult> {
      const { bucket, prefix, storageProfile } = input;
      // The bucket's store: an unknown storage profile fails here, before anything is listed or deleted.
      const s3 = s3Of(deps, storageProfile);
      const plannedAt = new Date().toISOString();
      // One listing of the whole prefix: the targets' folders, and set manifests of any set under it.
      const index = new PrefixIndex(prefix, new Set(input.targets.map((t) => t.name)));
      await forEachObject(s3, bucket, `${prefix}/`, (o) => index.add(o));
      const protections = new Map<string, Protections>(input.targets.map((t) => [t.name, new Map()]));
      const protect = (name: string, logicalTime: string, p: { reason: 'latest' | 'set-reference'; why: string }) => {
        const byTime = protections.get(name);
        if (!byTime) return;
        byTime.set(logicalTime, [...(byTime.get(logicalTime) ?? []), p]);
      };
      for (const t of input.targets) {
        const latest = (await readJson<LatestPointer>(s3, bucket, `${prefix}/${t.name}/${LATEST_FILE}`))?.value;
        if (latest?.logicalTime) protect(t.name, new Date(latest.logicalTime).toISOString(), { reason: 'latest', why: `${LATEST_FILE} names it` });
      }
      await readSetManifests(s3, bucket, prefix, index.setManifests, (ref, manifestKey) =>
        protect(ref.name, ref.logicalTime, { reason: 'set-reference', why: `set manifest s3://${bucket}/${manifestKey} references it` }),
      );
      return {
        plannedAt,
        objectsListed: index.objects,
        setManifestsRead: index.setManifests.length,
        plans: input.targets.map((t) =>
          planTarget({ bucket, prefix, storageProfile, ...t }, index.foldersOf(t.name), protections.get(t.name)!, input.nowMs, input.recentWriteSeconds),
        ),
      };
    },

    async deleteExpiredFolders(input: DeleteFoldersInput): Promise<{ folders: DeletedFolder[] }> {
      const { bucket } = input;
      const s3 = s3Of(deps, input.storageProfile);
      const out: DeletedFolder[] = [];
      for (const folder of input.folders) {
        // Checked again per folder: a run may have published, or a backfill written, since the plan.
        const latest = (await readJson<LatestPointer>(s3, bucket, input.latestKey))?.value;
        if (latest?.logicalTime && new Date(latest.logicalTime).toISOString() === folder.logicalTime) {
          out.push({ key: folder.key, deleted: 0, skipped: `${LATEST_FILE} now names it` });
          continue;
        }
        const objects = [];
        for (const key of [folder.key, ...(folder.memberFolders ?? [])]) objects.push(...(await listObjects(s3, bucket, `${key}/`)));
        const newest = objects.reduce((m, o) => Math.max(m, o.lastModifiedMs), 0);
        if (newest > Date.parse(folder.lastWrittenAt)) {
          out.push({ key: folder.key, deleted: 0, skipped: `written to at ${new Date(newest).toISOString()}, after the plan; left for the next run` });
          continue;
        }
        const deleted = await deleteInPublicationOrder(s3, bucket, objects.map((o) => o.key));
        out.push({ key: folder.key, deleted });
        heartbeat({ step: 'deleting expired folders', done: out.length, of: input.folders.length });
      }
      return { folders: out };
    },
  });
}

/** Reads the set manifests, a few at a time, and reports every export folder each one references. */
async function readSetManifests(
  s3: S3Client,
  bucket: string,
  prefix: string,
  keys: string[],
  onReference: (ref: { name: string; logicalTime: string }, manifestKey: string) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++];
      const read = await readJson<unknown>(s3, bucket, key);
      // A set manifest that is not JSON protects nothing we can name; the set's own retention deals with it.
      if (read?.value !== undefined) for (const ref of setManifestReferences(read.value, bucket, prefix, key)) onReference(ref, key);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SET_MANIFEST_READ_CONCURRENCY, keys.length) }, worker));
}
