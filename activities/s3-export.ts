/**
 * The S3 side of an export, with the worker's own AWS credentials: what earlier runs left for a logical time,
 * waiting for Materialize's sentinel to go, verification (file list, sizes, Parquet footers by range reads),
 * publication (manifest.json, then _SUCCESS, then the _latest.json pointer) and cleanup of failed attempts
 * (only keys their sentinel proves are theirs). Each activity reports facts; the workflow decides.
 *
 * Footers are read once, by verification, from the files' tails only; publication gets the verified facts back
 * through the workflow and re-lists the folder to check that the files (names, sizes, ETags) are still the ones
 * verified. Every activity heartbeats while it waits on S3, so a lost worker is noticed within seconds.
 */
import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  attemptState,
  buildManifest,
  changesSinceVerification,
  classifyAttemptObjects,
  footersOfVerified,
  provenLeftovers,
  shouldReplaceLatest,
  verificationProblems,
  verifiedFilesOf,
  type AttemptListing,
  type AttemptState,
  type ExportManifest,
  type FooterFacts,
  type LatestPointer,
  type ManifestFacts,
  type S3ObjectInfo,
  type VerifiedFiles,
} from '../lib/export-manifest';
import { COPY_FAILURE } from '../lib/export-errors';
import { MANIFEST_FILE, SUCCESS_FILE, attemptFolder, parseAttemptFolder, s3Uri } from '../lib/export-paths';
import type { ExportFormat } from '../lib/export-types';
import { readParquetFooter, type RangeReader } from '../lib/parquet-footer';
import type { ActivityDeps } from './deps';
import { heartbeat, heartbeating } from './heartbeat';

export interface PublishedSummary {
  attempt: number;
  manifestKey: string;
  manifest: string;
  rows: number;
  files: number;
  bytes: number;
  format: ExportFormat;
}

export interface InspectResult {
  attempts: { attempt: number; state: AttemptState; objects: number }[];
  /** The first published attempt of this logical time, if any. */
  published?: PublishedSummary;
  /** The lowest attempt number above every folder that exists. */
  nextAttempt: number;
}

export interface AwaitCompleteInput {
  bucket: string;
  attemptKey: string;
  /** What the COPY did: returned its tag, returned an error, or was lost (worker or connection gone). */
  copy: 'succeeded' | 'ended' | 'lost';
  pollInitialMs: number;
  pollMaxMs: number;
  /** After a successful COPY: how long the sentinel may linger. */
  timeoutSeconds: number;
  /** After a lost COPY: how long the folder must stay unchanged to count as stopped. */
  quietSeconds: number;
}

export interface AwaitCompleteResult {
  /** complete: sentinel gone, data files there. failed: sentinel there, COPY not running. empty: nothing written. */
  state: 'complete' | 'failed' | 'empty' | 'timed-out';
  files: number;
  bytes: number;
  sentinel?: string;
  polls: number;
}

export interface VerifyInput {
  bucket: string;
  attemptKey: string;
  format: ExportFormat;
  copyRows: number;
}

export interface VerifyResult {
  problems: string[];
  files: number;
  bytes: number;
  rows: number;
  /** Parquet: the rows the footers add up to. */
  footerRows?: number;
  /** What was verified (only when there are no problems), for publishExport: it need not read the footers again. */
  verified?: VerifiedFiles;
}

export interface PublishInput {
  facts: Omit<ManifestFacts, 'listing' | 'footers' | 'source'> & {
    source: { kind: 'object'; object: string } | { kind: 'query'; query: string };
  };
  /**
   * verifyExport's facts: publication re-lists the folder, refuses when any file differs from these, and takes
   * the row counts and schema from them. Without them (a run that verified before this field existed) it reads the
   * footers again.
   */
  verified?: VerifiedFiles;
}

export interface PublishResult {
  manifestKey: string;
  manifest: string;
  rows: number;
  files: number;
  bytes: number;
}

export interface CleanupResult {
  deleted: number;
  /** Keys left because no sentinel proves them ours (or the attempt is published). */
  kept: string[];
}

const FOOTER_READ_CONCURRENCY = 8;

export function createS3ExportActivities({ aws }: ActivityDeps) {
  const s3 = aws.s3;
  // Every activity heartbeats on an interval while it waits on S3 (the loops also report their progress).
  return heartbeating({
    async inspectExportAttempts(input: { bucket: string; logicalTimeKey: string }): Promise<InspectResult> {
      const objects = await listAll(s3, input.bucket, `${input.logicalTimeKey}/`);
      const byAttempt = new Map<number, S3ObjectInfo[]>();
      let highest = 0;
      for (const o of objects) {
        const folder = o.key.slice(input.logicalTimeKey.length + 1).split('/')[0];
        const n = parseAttemptFolder(folder);
        if (n === undefined) continue;
        highest = Math.max(highest, n);
        byAttempt.set(n, [...(byAttempt.get(n) ?? []), o]);
      }
      const attempts = [...byAttempt.entries()]
        .sort(([a], [b]) => a - b)
        .map(([attempt, objs]) => ({
          attempt,
          state: attemptState(classifyAttemptObjects(`${input.logicalTimeKey}/${attemptFolder(attempt)}`, objs)),
          objects: objs.length,
        }));
      const firstPublished = attempts.find((a) => a.state === 'published');
      let published: PublishedSummary | undefined;
      if (firstPublished) {
        const manifestKey = `${input.logicalTimeKey}/${attemptFolder(firstPublished.attempt)}/${MANIFEST_FILE}`;
        const manifest = JSON.parse(await getText(s3, input.bucket, manifestKey)) as ExportManifest;
        published = {
          attempt: firstPublished.attempt,
          manifestKey,
          manifest: s3Uri(input.bucket, manifestKey),
          rows: manifest.totals.rows,
          files: manifest.totals.files,
          bytes: manifest.totals.bytes,
          format: manifest.format,
        };
      }
      return { attempts, published, nextAttempt: highest + 1 };
    },

    async awaitExportComplete(input: AwaitCompleteInput): Promise<AwaitCompleteResult> {
      const ctx = Context.current();
      const started = Date.now();
      const limitMs = (input.copy === 'succeeded' ? input.timeoutSeconds : Math.max(input.timeoutSeconds, input.quietSeconds * 4)) * 1000;
      let interval = input.pollInitialMs;
      let fingerprint = '';
      let unchangedSince = started;
      for (let polls = 1; ; polls++) {
        const listing = await listAttempt(s3, input.bucket, input.attemptKey);
        const now = Date.now();
        const fp = [...listing.sentinels, ...listing.dataFiles, ...listing.others].map((o) => `${o.key}:${o.size}`).join('|');
        if (fp !== fingerprint) (fingerprint = fp), (unchangedSince = now);
        const result = (state: AwaitCompleteResult['state']): AwaitCompleteResult => ({
          state,
          files: listing.dataFiles.length,
          bytes: listing.dataFiles.reduce((s, f) => s + f.size, 0),
          sentinel: listing.sentinels[0]?.key,
          polls,
        });
        const hasSentinel = listing.sentinels.length > 0;
        if (!hasSentinel && listing.dataFiles.length > 0) return result('complete');
        const stopped =
          input.copy === 'ended' || (input.copy === 'lost' && now - unchangedSince >= input.quietSeconds * 1000);
        if (stopped) return result(hasSentinel ? 'failed' : 'empty');
        if (now - started >= limitMs) return result('timed-out');
        heartbeat({ polls, files: listing.dataFiles.length, sentinel: hasSentinel });
        await ctx.sleep(interval); // rejects when the activity is cancelled
        interval = Math.min(input.pollMaxMs, Math.round(interval * 1.5));
      }
    },

    async verifyExport(input: VerifyInput): Promise<VerifyResult> {
      const listing = await listAttempt(s3, input.bucket, input.attemptKey);
      const footers = input.format === 'parquet' ? await readFooters(s3, input.bucket, listing) : undefined;
      const problems = verificationProblems({ listing, format: input.format, copyRows: input.copyRows, footers });
      return {
        problems,
        files: listing.dataFiles.length,
        bytes: listing.dataFiles.reduce((s, f) => s + f.size, 0),
        rows: input.copyRows,
        footerRows: footers?.reduce((s, f) => s + f.rows, 0),
        ...(problems.length ? {} : { verified: verifiedFilesOf(input.attemptKey, listing, footers) }),
      };
    },

    async publishExport(input: PublishInput): Promise<PublishResult> {
      const { facts, verified } = input;
      // Checked again at the commit point: the folder must hold exactly the files verification read (same names,
      // sizes and ETags), so the manifest describes both what was verified and what is there now.
      const listing = await listAttempt(s3, facts.bucket, facts.attemptKey);
      const footers = verified
        ? footersOfVerified(facts.attemptKey, verified)
        : facts.format === 'parquet'
          ? await readFooters(s3, facts.bucket, listing)
          : undefined;
      const problems = [
        ...(verified ? changesSinceVerification(facts.attemptKey, verified, listing) : []),
        ...verificationProblems({ listing, format: facts.format, copyRows: facts.copyRows, footers }),
      ];
      if (problems.length) {
        throw ApplicationFailure.create({
          type: COPY_FAILURE.verification,
          message: `not published: ${problems.join('; ')}`,
          nonRetryable: true,
        });
      }
      const text = facts.source.kind === 'object' ? facts.source.object : facts.source.query;
      const sha256 = createHash('sha256').update(text).digest('hex');
      const manifest = buildManifest({ ...facts, source: { ...facts.source, sha256 }, listing, footers });
      const manifestKey = `${facts.attemptKey}/${MANIFEST_FILE}`;
      await s3.send(
        new PutObjectCommand({
          Bucket: facts.bucket,
          Key: manifestKey,
          Body: JSON.stringify(manifest, null, 2) + '\n',
          ContentType: 'application/json',
        }),
      );
      // _SUCCESS last: downstream loaders that see it can trust the manifest next to it.
      await s3.send(new PutObjectCommand({ Bucket: facts.bucket, Key: `${facts.attemptKey}/${SUCCESS_FILE}`, Body: '' }));
      return {
        manifestKey,
        manifest: s3Uri(facts.bucket, manifestKey),
        rows: manifest.totals.rows,
        files: manifest.totals.files,
        bytes: manifest.totals.bytes,
      };
    },

    async updateLatestPointer(input: { bucket: string; latestKey: string; pointer: LatestPointer }): Promise<{ updated: boolean }> {
      const current = await getText(s3, input.bucket, input.latestKey).then(
        (t) => safeJson(t) as LatestPointer | undefined,
        (e: Error) => {
          if (isNotFound(e)) return undefined;
          throw e;
        },
      );
      if (!shouldReplaceLatest(current, input.pointer)) return { updated: false };
      await s3.send(
        new PutObjectCommand({
          Bucket: input.bucket,
          Key: input.latestKey,
          Body: JSON.stringify(input.pointer, null, 2) + '\n',
          ContentType: 'application/json',
        }),
      );
      return { updated: true };
    },

    async cleanupExportAttempt(input: { bucket: string; attemptKey: string }): Promise<CleanupResult> {
      const listing = await listAttempt(s3, input.bucket, input.attemptKey);
      const proven = provenLeftovers(listing);
      const all = [...listing.sentinels, ...listing.dataFiles, ...listing.others, listing.manifest, listing.success]
        .filter((o): o is S3ObjectInfo => Boolean(o))
        .map((o) => o.key);
      const sentinels = new Set(listing.sentinels.map((s) => s.key));
      const dataKeys = proven.filter((k) => !sentinels.has(k));
      for (let i = 0; i < dataKeys.length; i += 1000) {
        const chunk = dataKeys.slice(i, i + 1000);
        const res = await s3.send(
          new DeleteObjectsCommand({ Bucket: input.bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } }),
        );
        if (res.Errors?.length) throw new Error(`could not delete ${res.Errors[0].Key}: ${res.Errors[0].Message}`);
        heartbeat({ deleted: i + chunk.length });
      }
      // The sentinels go last: if this activity dies halfway, the next try still has the proof.
      for (const key of sentinels) await s3.send(new DeleteObjectCommand({ Bucket: input.bucket, Key: key }));
      const deleted = new Set(proven);
      return { deleted: proven.length, kept: all.filter((k) => !deleted.has(k)) };
    },
  });
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
      out.push({ key: o.Key!, size: o.Size ?? 0, ...(o.ETag ? { etag: o.ETag.replace(/"/g, '') } : {}) });
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body!.transformToString();
}

/**
 * Ranged GETs of one listed object, with the listing's ETag as If-Match: the bytes are from the very version that
 * was listed (whose size and ETag publication checks again), and a rewrite in between fails the read (412), so
 * the activity's retry lists afresh.
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

/** The footers of the listing's Parquet files, read from their tails only, a few files at a time. */
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
        throw ApplicationFailure.create({
          type: COPY_FAILURE.verification,
          message: `s3://${bucket}/${f.key} is not a readable Parquet file: ${e.message}`,
          nonRetryable: true,
        });
      });
      out[k] = { key: f.key, rows: footer.numRows, rowGroupRows: footer.rowGroupRows, schema: footer.schema };
    }
  };
  await Promise.all(Array.from({ length: Math.min(FOOTER_READ_CONCURRENCY, files.length) }, worker));
  return out;
}

function isNotFound(e: Error & { $metadata?: { httpStatusCode?: number } }): boolean {
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

function rethrowS3(e: Error, what: string): never {
  // The AWS error name is the root cause an operator searches for; the advice is what to change.
  if (e.name === 'NoSuchBucket') {
    throw ApplicationFailure.create({
      type: 'UserFixableError',
      message: `cannot ${what}: NoSuchBucket, the bucket does not exist. To fix: check the bucket name (--to, or the schedule's bucket) or create the bucket; onboarding creates it`,
      nonRetryable: true,
    });
  }
  if (e.name === 'AccessDenied') {
    throw ApplicationFailure.create({
      type: 'UserFixableError',
      message: `cannot ${what}: AccessDenied for the worker's AWS credentials. To fix: check the bucket name, and give the worker s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on the export prefix`,
      nonRetryable: true,
    });
  }
  throw e;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
