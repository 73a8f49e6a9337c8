/**
 * Listing and deleting whole folders of published exports, shared by retention (expired logical times) and
 * offboarding (all data under a prefix). Deletion goes in the reverse order of publication, so a reader never
 * sees a commit marker whose files are gone, and an interrupted deletion is finished by running it again:
 *
 *   1. every `_SUCCESS` (a loader stops treating the folder as complete);
 *   2. data files, manifests and everything else;
 *   3. attempt claims, then `_claims/publication.json` last (until then, a new run of that logical time finds
 *      the publication and writes nothing into a folder being deleted).
 */
import { DeleteObjectsCommand, ListObjectsV2Command, NoSuchBucket, type S3Client } from '@aws-sdk/client-s3';
import { UserFixableError } from '../common/failures';
import { CLAIMS_FOLDER, SUCCESS_FILE } from '../common/export/paths';
import { explainAccessDenied } from './aws-errors';
import { heartbeat } from './heartbeat';

export interface ListedKey {
  key: string;
  size: number;
  lastModifiedMs: number;
}

/** Every object under keyPrefix, page by page (1,000 a page), to `each`; returns how many. */
export async function forEachObject(s3: S3Client, bucket: string, keyPrefix: string, each: (o: ListedKey) => void | Promise<void>): Promise<number> {
  let token: string | undefined;
  let count = 0;
  do {
    const page = await explainAccessDenied(`list s3://${bucket}/${keyPrefix} (s3:ListBucket)`, () =>
      s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix, ContinuationToken: token })),
    ).catch((e: unknown) => {
      if (e instanceof NoSuchBucket) throw new UserFixableError(`bucket ${bucket} does not exist; check the bucket name`);
      throw e;
    });
    for (const o of page.Contents ?? []) {
      await each({ key: o.Key!, size: o.Size ?? 0, lastModifiedMs: o.LastModified?.getTime() ?? 0 });
      count++;
    }
    if (count % 10_000 < 1000) heartbeat({ step: `listing s3://${bucket}/${keyPrefix}`, listed: count });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return count;
}

export async function listObjects(s3: S3Client, bucket: string, keyPrefix: string): Promise<ListedKey[]> {
  const out: ListedKey[] = [];
  await forEachObject(s3, bucket, keyPrefix, (o) => void out.push(o));
  return out;
}

/** 0 for `_SUCCESS`, 1 for everything else, 2 for attempt claims, 3 for the publication claim. */
export function deletionRank(key: string): number {
  const parts = key.split('/');
  const name = parts[parts.length - 1];
  if (name === SUCCESS_FILE) return 0;
  if (parts[parts.length - 2] !== CLAIMS_FOLDER) return 1;
  return name === 'publication.json' ? 3 : 2;
}

/** Deletes keys in publication-reverse order (see above), 1,000 per request; returns how many. */
export async function deleteInPublicationOrder(s3: S3Client, bucket: string, keys: string[]): Promise<number> {
  const byRank: string[][] = [[], [], [], []];
  for (const key of keys) byRank[deletionRank(key)].push(key);
  let deleted = 0;
  for (const group of byRank) {
    for (let i = 0; i < group.length; i += 1000) {
      const chunk = group.slice(i, i + 1000);
      const res = await explainAccessDenied(`delete objects in s3://${bucket} (s3:DeleteObject)`, () =>
        s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } })),
      );
      if (res.Errors?.length) {
        const first = res.Errors[0];
        throw new Error(`could not delete ${res.Errors.length} of ${chunk.length} objects in s3://${bucket}, e.g. ${first.Key}: ${first.Code} ${first.Message}`);
      }
      deleted += chunk.length;
      heartbeat({ step: `deleting in s3://${bucket}`, deleted });
    }
  }
  return deleted;
}

/**
 * Every object whose key starts with keyPrefix, in publication-reverse order; returns how many. Streams: only the
 * `_SUCCESS` markers and claims are held in memory, data files are deleted page by page as they are listed.
 */
export async function deleteObjectsUnder(s3: S3Client, bucket: string, keyPrefix: string): Promise<number> {
  const markers: string[] = [];
  await forEachObject(s3, bucket, keyPrefix, (o) => {
    if (deletionRank(o.key) !== 1) markers.push(o.key);
  });
  let deleted = await deleteInPublicationOrder(s3, bucket, markers.filter((k) => deletionRank(k) === 0));
  let page: string[] = [];
  const flush = async () => {
    deleted += await deleteInPublicationOrder(s3, bucket, page);
    page = [];
  };
  // S3's continuation token names the last key listed, so deleting what was listed does not disturb the listing.
  await forEachObject(s3, bucket, keyPrefix, async (o) => {
    if (deletionRank(o.key) !== 1) return;
    page.push(o.key);
    if (page.length === 1000) await flush();
  });
  await flush();
  return deleted + (await deleteInPublicationOrder(s3, bucket, markers.filter((k) => deletionRank(k) > 0)));
}
