/**
 * The S3 side of an export, with the worker's own AWS credentials. Each activity reports facts; the workflow
 * decides.
 *
 * - inspectExportAttempts: what earlier or concurrent runs left for a logical time (claims, attempt folders, the
 *   published attempt), rolling a publication forward when its writer died between the claim and `_SUCCESS`;
 * - finishExportAttempt: after the COPY returned, in one activity (each step is idempotent, so a retry simply
 *   repeats them): wait for Materialize's sentinel to go, verify what that listing shows (Parquet footers read in
 *   parallel, from the files' tails), write manifest.json, claim the logical time's publication, write
 *   `_SUCCESS` and move `_latest.json` forward. Only a digest of the manifest leaves the activity, so history
 *   stays small whatever the number of files;
 * - cleanupExportAttempts: removes attempts that can never be published, once their folder is quiet;
 * - updateLatestPointer: `_latest.json` for a run that found its logical time already published.
 *
 * Every activity heartbeats while it waits on S3, so a lost worker is noticed within seconds.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { applicationFailure } from '../../common/failures';
import { rethrowS3 } from './s3-errors';
import { attemptState, buildManifest, classifyAttemptObjects, provenLeftovers, shouldReplaceLatest, verificationProblems } from './manifest';
import type {
  CleanupInput,
  CleanupResult,
  FinishInput,
  FinishResult,
  InspectInput,
  InspectResult,
  ManifestDigest,
  PublishedSummary,
  S3ExportActivities,
} from '../../common/export/activities';
import type {
  AttemptClaim,
  AttemptListing,
  AttemptState,
  ExportManifest,
  ExportSource,
  FooterFacts,
  LatestPointer,
  ManifestFacts,
  PublicationClaim,
  S3ObjectInfo,
  SourceDigest,
} from '../../common/export/manifest';
import {
  CLAIMS_FOLDER,
  MANIFEST_FILE,
  attemptClaimKey,
  SUCCESS_FILE,
  attemptFolder,
  parseAttemptClaimName,
  parseAttemptFolder,
  publicationClaimKey,
  s3Uri,
} from '../../common/export/paths';
import type { ExportFormat } from '../../common/export/types';
import { readParquetFooter, type RangeReader } from './parquet-footer';
import { s3Of, type ActivityDeps } from '../deps';
import { createOnce, readJson, replaceIfUnchanged, sourceConflict, sourceDigest } from './claims';
import { heartbeat, heartbeating } from '../heartbeat';

const FOOTER_READ_CONCURRENCY = 16;
const MAX_PROBLEMS = 10;

export function createS3ExportActivities(deps: ActivityDeps): S3ExportActivities {
  return heartbeating({
    async inspectExportAttempts(input: InspectInput): Promise<InspectResult> {
      const s3 = s3Of(deps, input.storageProfile);
      const { bucket, logicalTimeKey } = input;
      const objects = await listAll(s3, bucket, `${logicalTimeKey}/`);
      const folders = new Map<number, S3ObjectInfo[]>();
      const claimed = new Set<number>();
      let hasPublicationClaim = false;
      for (const o of objects) {
        const [first, second] = o.key.slice(logicalTimeKey.length + 1).split('/');
        if (first === CLAIMS_FOLDER) {
          const n = second === undefined ? undefined : parseAttemptClaimName(second);
          if (n !== undefined) claimed.add(n);
          else if (o.key === publicationClaimKey(logicalTimeKey)) hasPublicationClaim = true;
          continue;
        }
        const n = parseAttemptFolder(first);
        if (n !== undefined) folders.set(n, [...(folders.get(n) ?? []), o]);
      }
      const listings = new Map([...folders.entries()].map(([n, objs]) => [n, classifyAttemptObjects(attemptKeyOf(logicalTimeKey, n), objs)]));
      const numbers = [...new Set([...folders.keys(), ...claimed])].sort((a, b) => a - b);
      const attempts = numbers.map((attempt) => ({
        attempt,
        state: listings.has(attempt) ? attemptState(listings.get(attempt)!) : ('empty' as const),
        objects: folders.get(attempt)?.length ?? 0,
        claimed: claimed.has(attempt),
      }));
      const nextAttempt = (numbers.at(-1) ?? 0) + 1;
      const requested = sourceDigest(input.source);

      let claim = hasPublicationClaim ? (await readJson<PublicationClaim>(s3, bucket, publicationClaimKey(logicalTimeKey)))?.value : undefined;
      if (!claim) {
        // Published before claims existed: claim it now, so no later attempt is published beside it.
        const legacy = attempts.find((a) => a.state === 'published');
        if (legacy) claim = await claimLegacyPublication(s3, bucket, logicalTimeKey, legacy.attempt);
      }
      if (!claim) return { attempts, nextAttempt };
      const listing = listings.get(claim.attempt) ?? classifyAttemptObjects(attemptKeyOf(logicalTimeKey, claim.attempt), []);
      const problem = await rollForward(s3, bucket, logicalTimeKey, claim, listing);
      const published = summaryOf(bucket, claim, requested, input.format, input.asOf);
      return { attempts, nextAttempt, published, ...(problem ? { problem } : {}) };
    },

    async finishExportAttempt(input: FinishInput): Promise<FinishResult> {
      const s3 = s3Of(deps, input.storageProfile);
      const { bucket, logicalTimeKey, attempt } = input;
      const attemptKey = attemptKeyOf(logicalTimeKey, attempt);
      const claimKey = publicationClaimKey(logicalTimeKey);
      const requested = sourceDigest(input.manifest.source);

      // A retry after an earlier try of this activity claimed the publication: finish that one, never rewrite
      // the manifest the claim names.
      if (input.commit === 'publish' && Context.current().info.attempt > 1) {
        const earlier = (await readJson<PublicationClaim>(s3, bucket, claimKey))?.value;
        if (earlier && earlier.attempt !== attempt) return { outcome: 'lost', winner: summaryOf(bucket, earlier, requested, input.manifest.format, input.asOf) };
        if (earlier) return commitClaimed(earlier, 0);
      }

      const done = await awaitCompletion(s3, bucket, attemptKey, input.completion);
      if (done.state !== 'complete') return { outcome: 'incomplete', state: done.state, files: done.listing.dataFiles.length, polls: done.polls };
      const { listing } = done;
      const footers = input.manifest.format === 'parquet' ? await readFooters(s3, bucket, listing) : undefined;
      const problems = verificationProblems({ listing, format: input.manifest.format, copyRows: input.copyRows, footers });
      if (problems.length) {
        const shown = problems.slice(0, MAX_PROBLEMS);
        if (problems.length > MAX_PROBLEMS) shown.push(`and ${problems.length - MAX_PROBLEMS} more`);
        return { outcome: 'rejected', problems: shown };
      }
      const verifiedAt = new Date().toISOString();

      const publishedAt = new Date().toISOString();
      const manifest = buildManifest({
        ...input.manifest,
        source: { ...input.manifest.source, sha256: requested.sha256 },
        bucket,
        attemptKey,
        attempt,
        copyRows: input.copyRows,
        listing,
        footers,
        timings: { ...input.manifest.timings, verifiedAt, publishedAt },
      });
      const manifestKey = `${attemptKey}/${MANIFEST_FILE}`;
      // _latest.json's current state, read while the manifest and claims are written (one round trip fewer); a
      // write in between is caught by the conditional write in advanceLatest, which then reads again.
      const latestRead = input.commit === 'publish' && input.latestKey ? readJson<LatestPointer>(s3, bucket, input.latestKey) : undefined;
      latestRead?.catch(() => undefined); // its failure is reported where it is awaited
      const body = JSON.stringify(manifest, null, 2) + '\n';
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: manifestKey, Body: body, ContentType: 'application/json' }));
      const digest: ManifestDigest = {
        attempt,
        manifestKey,
        manifest: s3Uri(bucket, manifestKey),
        manifestEtag: unquote(put.ETag ?? ''),
        manifestSha256: createHash('sha256').update(body).digest('hex'),
        rows: manifest.totals.rows,
        files: manifest.totals.files,
        bytes: manifest.totals.bytes,
        verifiedAt,
        publishedAt,
      };
      if (input.commit === 'stage') return { outcome: 'staged', digest, polls: done.polls };

      // The commit point: the first attempt to create the publication claim is the one published.
      const claim: PublicationClaim = {
        claim: 'publication',
        exportName: input.manifest.exportName,
        logicalTime: input.manifest.logicalTime,
        attempt,
        manifestKey,
        manifestEtag: digest.manifestEtag,
        source: requested,
        format: input.manifest.format,
        totals: manifest.totals,
        ...(manifest.materialize ? { materialize: manifest.materialize } : {}),
        workflowId: input.manifest.workflow.workflowId,
        runId: input.manifest.workflow.runId,
        claimedAt: publishedAt,
      };
      if ((await createOnce(s3, bucket, claimKey, claim)) === undefined) {
        const holder = (await readJson<PublicationClaim>(s3, bucket, claimKey))?.value;
        if (!holder) throw new Error(`${claimKey} exists but cannot be read as a publication claim; retrying`);
        if (holder.attempt !== attempt) return { outcome: 'lost', winner: summaryOf(bucket, holder, requested, input.manifest.format, input.asOf) };
      }
      return commitClaimed(claim, done.polls, digest, latestRead);

      /** `_SUCCESS` next to the claimed manifest, then `_latest.json`. */
      async function commitClaimed(c: PublicationClaim, polls: number, known?: ManifestDigest, latestRead?: ReturnType<typeof readJson<LatestPointer>>): Promise<FinishResult> {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${attemptKey}/${SUCCESS_FILE}`, Body: '' }));
        const d: ManifestDigest = known ?? {
          attempt,
          manifestKey: c.manifestKey,
          manifest: s3Uri(bucket, c.manifestKey),
          manifestEtag: c.manifestEtag,
          manifestSha256: '',
          ...c.totals,
          verifiedAt: c.claimedAt,
          publishedAt: c.claimedAt,
        };
        const latestUpdated = input.latestKey
          ? await advanceLatest(s3, bucket, input.latestKey, {
              exportName: c.exportName,
              logicalTime: c.logicalTime,
              attempt,
              manifest: d.manifest,
              manifestKey: d.manifestKey,
              rows: d.rows,
              files: d.files,
              bytes: d.bytes,
              publishedAt: d.publishedAt,
              workflowId: c.workflowId,
              runId: c.runId,
              ...(c.materialize ? { materializeTimestamp: c.materialize.timestamp } : {}),
            }, latestRead)
          : false;
        return { outcome: 'published', digest: d, latestUpdated, polls };
      }
    },

    async cleanupExportAttempts(input: CleanupInput): Promise<CleanupResult> {
      const s3 = s3Of(deps, input.storageProfile);
      const { bucket, logicalTimeKey } = input;
      const published = (await readJson<PublicationClaim>(s3, bucket, publicationClaimKey(logicalTimeKey)))?.value;
      const results = await Promise.all(
        input.attempts.map(async ({ attempt, copyEnded }) => {
          if (published?.attempt === attempt) return { attempt, deleted: 0, kept: 0, note: 'published' };
          // The attempt's claim says whose folder it is; only the claiming run knows its COPY has ended.
          const claim = (await readJson<AttemptClaim>(s3, bucket, attemptClaimKey(logicalTimeKey, attempt)))?.value;
          const own = claim?.runId === input.runId;
          // Another run's attempt may still be verified and published by that run until some attempt of this
          // logical time is published; from then on it never can be.
          if (!own && !published) return { attempt, deleted: 0, kept: 0, note: 'not published yet: its run may still publish it' };
          const key = attemptKeyOf(logicalTimeKey, attempt);
          const quiet = own && copyEnded ? { listing: await listAttempt(s3, bucket, key), settled: true } : await awaitQuiet(s3, bucket, key, input);
          if (!quiet.settled) return { attempt, deleted: 0, kept: 0, note: `still changing after ${Math.max(60, input.quietSeconds * 4)} s` };
          const doomed = removableKeys(quiet.listing, claim !== undefined);
          await deleteKeys(s3, bucket, doomed);
          const kept = countObjects(quiet.listing) - doomed.length;
          // An own attempt whose statement is over and whose folder is now empty leaves no trace, not even its
          // claim (a failed COPY into a bucket the role may not write to leaves nothing behind). The publication
          // claim, not the attempt claims, decides what is published, so a later reuse of the number is harmless.
          if (own && copyEnded && kept === 0) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: attemptClaimKey(logicalTimeKey, attempt) }));
          return { attempt, deleted: doomed.length, kept };
        }),
      );
      return { attempts: results };
    },

    async updateLatestPointer(input: { bucket: string; storageProfile?: string; latestKey: string; pointer: LatestPointer }): Promise<{ updated: boolean }> {
      return { updated: await advanceLatest(s3Of(deps, input.storageProfile), input.bucket, input.latestKey, input.pointer) };
    },
  });
}

function attemptKeyOf(logicalTimeKey: string, attempt: number): string {
  return `${logicalTimeKey}/${attemptFolder(attempt)}`;
}

export function unquote(etag: string): string {
  return etag.replace(/"/g, '');
}

function summaryOf(bucket: string, claim: PublicationClaim, requested: SourceDigest, format: ExportFormat, asOf?: string): PublishedSummary {
  const conflict = sourceConflict(claim, requested, format, asOf);
  return {
    attempt: claim.attempt,
    manifestKey: claim.manifestKey,
    manifest: s3Uri(bucket, claim.manifestKey),
    ...claim.totals,
    format: claim.format,
    ...(claim.materialize ? { materialize: claim.materialize } : {}),
    ...(conflict ? { conflict } : {}),
  };
}

/** A publication from before claims existed (manifest and `_SUCCESS`, no claim): claimed now from its manifest. */
async function claimLegacyPublication(s3: S3Client, bucket: string, logicalTimeKey: string, attempt: number): Promise<PublicationClaim | undefined> {
  const manifestKey = `${attemptKeyOf(logicalTimeKey, attempt)}/${MANIFEST_FILE}`;
  const read = await readJson<ExportManifest>(s3, bucket, manifestKey);
  const m = read?.value;
  if (!m) return undefined;
  const claim: PublicationClaim = {
    claim: 'publication',
    exportName: m.exportName,
    logicalTime: m.logicalTime,
    attempt,
    manifestKey,
    manifestEtag: unquote(read.etag),
    source: m.source.kind === 'object' ? { kind: 'object', sha256: m.source.sha256, object: m.source.object } : { kind: 'query', sha256: m.source.sha256 },
    format: m.format,
    totals: m.totals,
    ...(m.materialize ? { materialize: m.materialize } : {}),
    workflowId: m.workflow.workflowId,
    runId: m.workflow.runId,
    claimedAt: m.timings.publishedAt,
  };
  if ((await createOnce(s3, bucket, publicationClaimKey(logicalTimeKey), claim)) !== undefined) return claim;
  return (await readJson<PublicationClaim>(s3, bucket, publicationClaimKey(logicalTimeKey)))?.value;
}

/**
 * The claimed attempt without `_SUCCESS` (its writer died between the claim and `_SUCCESS`): write it when the
 * folder still holds exactly the files its claimed manifest lists. Returns a problem when it does not.
 */
async function rollForward(
  s3: S3Client,
  bucket: string,
  logicalTimeKey: string,
  claim: PublicationClaim,
  listing: AttemptListing,
): Promise<string | undefined> {
  if (listing.success) return undefined;
  const read = await readJson<ExportManifest>(s3, bucket, claim.manifestKey);
  const m = read?.value;
  const broken = (why: string) =>
    `the publication claim ${s3Uri(bucket, publicationClaimKey(logicalTimeKey))} names attempt ${claim.attempt}, but ${why}; nothing was published. Look at that folder, then delete the claim to let a new run publish`;
  if (!m || unquote(read.etag) !== claim.manifestEtag) return broken('its manifest.json is missing or was rewritten');
  const listed = new Map(listing.dataFiles.map((f) => [f.key, f]));
  const differs = m.files.some((f) => listed.get(f.key)?.size !== f.sizeBytes || (f.etag && listed.get(f.key)?.etag !== f.etag));
  if (differs || listed.size !== m.files.length) return broken('its files differ from its manifest');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${claim.manifestKey.slice(0, -MANIFEST_FILE.length)}${SUCCESS_FILE}`, Body: '' }));
  return undefined;
}

/**
 * Moves `_latest.json` to `pointer` unless it names a newer logical time: read it with its ETag, write with
 * If-Match on that ETag (If-None-Match when there is none), and read again when another run wrote in between.
 * True when it now names this pointer's manifest.
 */
export async function advanceLatest(
  s3: S3Client,
  bucket: string,
  key: string,
  pointer: LatestPointer,
  /** A read of it started earlier, used for the first try. */
  readAlready?: ReturnType<typeof readJson<LatestPointer>>,
): Promise<boolean> {
  for (let tries = 1; tries <= 20; tries++) {
    const current = await (tries === 1 && readAlready ? readAlready : readJson<LatestPointer>(s3, bucket, key));
    if (current?.value?.manifestKey === pointer.manifestKey) return true;
    if (!shouldReplaceLatest(current?.value, pointer)) return false;
    if ((await replaceIfUnchanged(s3, bucket, key, pointer, current?.etag)) !== undefined) return true;
    heartbeat({ step: 'updating _latest.json', conflicts: tries });
  }
  throw new Error(`${key}: 20 conflicting writes in a row; retrying`);
}

/** Polls the attempt folder until Materialize's sentinel is gone with data files there, or the COPY's fate shows. */
async function awaitCompletion(
  s3: S3Client,
  bucket: string,
  attemptKey: string,
  opts: FinishInput['completion'],
): Promise<{ state: 'complete' | 'empty' | 'failed' | 'timed-out'; listing: AttemptListing; polls: number }> {
  const ctx = Context.current();
  const started = Date.now();
  let interval = opts.pollInitialMs;
  for (let polls = 1; ; polls++) {
    const listing = await listAttempt(s3, bucket, attemptKey);
    if (!listing.sentinels.length && listing.dataFiles.length) return { state: 'complete', listing, polls };
    // The COPY returned its tag: a folder with nothing in it will stay so.
    if (!listing.sentinels.length && !listing.dataFiles.length) return { state: 'empty', listing, polls };
    if (Date.now() - started >= opts.timeoutSeconds * 1000) return { state: 'timed-out', listing, polls };
    heartbeat({ step: 'awaiting completion', polls, files: listing.dataFiles.length });
    await ctx.sleep(interval); // rejects when the activity is cancelled
    interval = Math.min(opts.pollMaxMs, Math.round(interval * 1.5));
  }
}

/** Polls until the folder has not changed for quietSeconds (at most 4 x that, at least a minute). */
async function awaitQuiet(
  s3: S3Client,
  bucket: string,
  attemptKey: string,
  opts: { quietSeconds: number; pollInitialMs: number; pollMaxMs: number },
): Promise<{ listing: AttemptListing; settled: boolean }> {
  const ctx = Context.current();
  const started = Date.now();
  const limitMs = Math.max(60, opts.quietSeconds * 4) * 1000;
  let interval = opts.pollInitialMs;
  let fingerprint = '';
  let unchangedSince = started;
  for (let polls = 1; ; polls++) {
    const listing = await listAttempt(s3, bucket, attemptKey);
    const now = Date.now();
    const fp = [...listing.sentinels, ...listing.dataFiles, ...listing.others].map((o) => `${o.key}:${o.size}:${o.etag ?? ''}`).join('|');
    if (fp !== fingerprint) (fingerprint = fp), (unchangedSince = now);
    if (now - unchangedSince >= opts.quietSeconds * 1000) return { listing, settled: true };
    if (now - started >= limitMs) return { listing, settled: false };
    heartbeat({ step: 'waiting for the folder to settle', polls });
    await ctx.sleep(Math.min(interval, opts.quietSeconds * 1000 || interval));
    interval = Math.min(opts.pollMaxMs, Math.round(interval * 1.5));
  }
}

/**
 * What cleanup may delete from an attempt that will never be published. A claimed folder is an export run's own:
 * Materialize's files (any sink id) and our manifest.json go, sentinels last. An unclaimed one (from before claims
 * existed) loses only what its sentinel proves. Foreign objects and `_SUCCESS` always stay.
 */
function removableKeys(listing: AttemptListing, claimed: boolean): string[] {
  if (listing.success) return [];
  if (!claimed) return provenLeftovers(listing);
  return [...listing.dataFiles.map((f) => f.key), ...(listing.manifest ? [listing.manifest.key] : []), ...listing.sentinels.map((s) => s.key)];
}

function countObjects(l: AttemptListing): number {
  return l.sentinels.length + l.dataFiles.length + l.others.length + (l.manifest ? 1 : 0) + (l.success ? 1 : 0);
}

/** Deletes in order, data files in batches of 1,000 and sentinels one by one at the end (the proof goes last). */
async function deleteKeys(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  const sentinels = keys.filter((k) => k.endsWith('-INCOMPLETE'));
  const rest = keys.filter((k) => !k.endsWith('-INCOMPLETE'));
  for (let i = 0; i < rest.length; i += 1000) {
    const chunk = rest.slice(i, i + 1000);
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } }));
    if (res.Errors?.length) throw new Error(`could not delete ${res.Errors[0].Key}: ${res.Errors[0].Message}`);
    heartbeat({ step: 'deleting', deleted: i + chunk.length });
  }
  for (const key of sentinels) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

async function listAttempt(s3: S3Client, bucket: string, attemptKey: string): Promise<AttemptListing> {
  return classifyAttemptObjects(attemptKey, await listAll(s3, bucket, `${attemptKey}/`));
}

async function listAll(s3: S3Client, bucket: string, prefix: string): Promise<S3ObjectInfo[]> {
  const out: S3ObjectInfo[] = [];
  let token: string | undefined;
  do {
    const res = await s3
      .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
      .catch((e: Error) => rethrowS3(e, `list s3://${bucket}/${prefix}`));
    for (const o of res.Contents ?? []) {
      out.push({ key: o.Key!, size: o.Size ?? 0, ...(o.ETag ? { etag: unquote(o.ETag) } : {}) });
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/**
 * Ranged GETs of one listed object, with the listing's ETag as If-Match: the bytes are from the very version that
 * was listed, and a rewrite in between fails the read (412), so the activity's retry lists afresh.
 */
export function rangeReader(s3: S3Client, bucket: string, object: S3ObjectInfo): RangeReader {
  return async (start, end) => {
    const res = await s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: object.key,
        Range: `bytes=${start}-${end}`,
        ...(object.etag ? { IfMatch: `"${object.etag}"` } : {}),
      }),
    );
    return res.Body!.transformToByteArray();
  };
}

/** The footers of the listing's Parquet files, read from their tails only, many files at a time. */
export async function readFooters(s3: S3Client, bucket: string, listing: AttemptListing): Promise<FooterFacts[]> {
  const files = listing.dataFiles.filter((f) => f.extension === 'parquet');
  const out: FooterFacts[] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const k = next++;
      const f = files[k];
      const footer = await readParquetFooter(f.size, rangeReader(s3, bucket, f)).catch((e: Error) => {
        if (e.name !== 'ParquetFooterError') {
          // A read that failed (the object rewritten since it was listed, a throttled or cut-short GET): retried.
          throw new Error(`could not read the footer of s3://${bucket}/${f.key}: ${e.name}: ${e.message}`);
        }
        throw applicationFailure('ExportVerificationError', `s3://${bucket}/${f.key} is not a readable Parquet file: ${e.message}`);
      });
      out[k] = { key: f.key, rows: footer.numRows, rowGroupRows: footer.rowGroupRows, schema: footer.schema };
      if (k % 100 === 99) heartbeat({ step: 'reading Parquet footers', read: k + 1, of: files.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(FOOTER_READ_CONCURRENCY, files.length) }, worker));
  return out;
}
