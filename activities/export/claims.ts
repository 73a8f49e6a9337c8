/**
 * Claims: small JSON objects created with S3 conditional writes, so that whoever starts the runs (two workflow
 * ids for one export and logical time, a schedule and a backfill), one attempt folder has one owner and one
 * logical time has one published attempt.
 *
 *   <logical time>/_claims/attempt-NNN.json   created (If-None-Match: *) by the run that COPYs into attempt-NNN,
 *                                             before the COPY; it proves the folder's files are that run's
 *   <logical time>/_claims/publication.json   created (If-None-Match: *) after the attempt verified and its
 *                                             manifest.json is written, before _SUCCESS; first writer wins
 *
 * Neither is ever rewritten or deleted by a run. `_latest.json` moves with If-Match on the ETag just read.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ExportFormat } from '../../common/export/types';
import { isConditionalConflict, isNotFound, isPreconditionFailed } from '../aws-errors';
import { rethrowS3 } from './s3-errors';
import type { ExportSource, SourceDigest } from '../../common/export/manifest';

export function sourceDigest(source: ExportSource): SourceDigest {
  const text = source.kind === 'object' ? source.object : source.query;
  const sha256 = createHash('sha256').update(text).digest('hex');
  return source.kind === 'object' ? { kind: 'object', sha256, object: source.object } : { kind: 'query', sha256 };
}

/**
 * Why a published export does not answer a request for `source` as `format` (AS OF `asOf` when given), or
 * undefined when it does.
 */
export function sourceConflict(
  published: { source: SourceDigest; format: ExportFormat; materialize?: { timestamp: string } },
  source: SourceDigest,
  format: ExportFormat,
  asOf?: string,
): string | undefined {
  const describe = (s: SourceDigest) => (s.kind === 'object' ? `object ${s.object ?? `(sha256 ${s.sha256.slice(0, 12)})`}` : `a query (sha256 ${s.sha256.slice(0, 12)})`);
  if (published.source.kind !== source.kind || published.source.sha256 !== source.sha256)
    return `it exported ${describe(published.source)}, this run asks for ${describe(source)}`;
  if (published.format !== format) return `it is ${published.format}, this run asks for ${format}`;
  if (asOf !== undefined && published.materialize?.timestamp !== asOf)
    return `it reflects Materialize timestamp ${published.materialize?.timestamp ?? '(not recorded)'}, this run asks for AS OF ${asOf}`;
  return undefined;
}

const JSON_BODY = { ContentType: 'application/json' } as const;

/**
 * Writes `key` only if it does not exist (If-None-Match: *). Returns its ETag, or undefined when it existed: the
 * caller reads who holds it.
 */
export async function createOnce(s3: S3Client, bucket: string, key: string, value: unknown): Promise<string | undefined> {
  return conditionalPut(s3, bucket, key, value, { IfNoneMatch: '*' });
}

/** Replaces `key` only if its ETag is still `etag` (If-Match), or creates it when `etag` is undefined. */
export async function replaceIfUnchanged(s3: S3Client, bucket: string, key: string, value: unknown, etag: string | undefined): Promise<string | undefined> {
  return conditionalPut(s3, bucket, key, value, etag ? { IfMatch: etag } : { IfNoneMatch: '*' });
}

async function conditionalPut(
  s3: S3Client,
  bucket: string,
  key: string,
  value: unknown,
  condition: { IfNoneMatch: string } | { IfMatch: string },
): Promise<string | undefined> {
  for (let tries = 1; ; tries++) {
    try {
      const res = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(value, null, 2) + '\n', ...JSON_BODY, ...condition }));
      return res.ETag ?? '';
    } catch (e) {
      // If-Match on a key that is gone answers 404: the object changed, like a 412.
      if (isPreconditionFailed(e) || ('IfMatch' in condition && isNotFound(e))) return undefined;
      if (isConditionalConflict(e) && tries < 5) {
        await new Promise((r) => setTimeout(r, 50 * tries));
        continue;
      }
      rethrowS3(e as Error, `write s3://${bucket}/${key}`); // a missing bucket or a denial: the user's to fix, at once
    }
  }
}

/** A JSON object and its ETag, or undefined when it does not exist. `value` is undefined when it is not JSON. */
export async function readJson<T>(s3: S3Client, bucket: string, key: string): Promise<{ value: T | undefined; etag: string } | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = await res.Body!.transformToString();
    let value: T | undefined;
    try {
      value = JSON.parse(text) as T;
    } catch {
      value = undefined;
    }
    return { value, etag: res.ETag ?? '' };
  } catch (e) {
    if (isNotFound(e)) return undefined;
    rethrowS3(e as Error, `read s3://${bucket}/${key}`);
  }
}
