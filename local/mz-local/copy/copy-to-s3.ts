/**
 * Executing COPY ... TO 's3://...': Materialize's one-shot S3 sink.
 *
 *   1. plan and validate (copy-plan.ts), evaluate the target URL;
 *   2. load the connection: assume its role with its external ID (trust policy enforced);
 *   3. preflight, in Materialize's order: list <path> as a bare prefix (must be empty), delete a key that
 *      does not exist to prove s3:DeleteObject (403 fails, 404 is ignored), write the INCOMPLETE sentinel;
 *   4. stream the rows from the engine, split into `workers` batches by row hash, each batch writing its
 *      own files (batch 0 always writes at least one file);
 *   5. delete the sentinel (the single "done" event) and return the row count.
 *
 * A failure or cancellation after the preflight leaves the sentinel and whatever files were finished.
 */
import type { AwsAccess, AuthorizedS3 } from '../aws/aws-access';
import { describeAwsError, httpStatusOf } from '../aws/aws-access';
import { connectionIdentity } from '../aws/validate-connection';
import type { Secrets } from '../catalog/secrets';
import type { Catalog } from '../catalog/catalog';
import type { Engine, EngineOwner } from '../engine/engine';
import { canceledError, MzError, SqlState } from '../errors';
import type { Faults } from '../faults';
import type { Logger } from '../log';
import { readDataRow } from '../protocol/backend-stream';
import type { CopyToStatement } from '../sql/statements';
import { arrowSchema, CsvBatchUploader, ParquetBatchUploader, type BatchUploader, type UploadContext } from './batch-uploaders';
import { planCopyTo, type CopyPlan } from './copy-plan';
import { CsvEncoder } from './csv-encoder';
import { CursorRowSource } from './row-source';
import { S3KeyManager } from './s3-keys';
import { dedupeNames, mzTextRewrite } from './type-mapping';
import { replaceMzNow } from '../sql/as-of';
import type { IsolationLevel, ReadTimestamps } from '../timestamps/read-timestamps';

/** Materialize's default multipart part size for COPY TO (8 MiB). */
export const PART_SIZE_BYTES = 8 * 1024 * 1024;

export interface CopyDeps {
  engine: Engine;
  owner: EngineOwner;
  catalog: Catalog;
  aws: AwsAccess;
  faults: Faults;
  log: Logger;
  workers: number;
  /** Whether the session is inside an explicit transaction (the cursor then lives in it). */
  inTransaction: boolean;
  signal: AbortSignal;
  /** Allocates the next transient sink id (t1, t2, ...). */
  nextSinkId(): string;
  /** Drops the client's connection (the mz_local_drop_session_mid_copy fault). */
  dropSession(): void;
  partSize?: number;
  /**
   * Runs after planning and before the preflight, as Materialize's peek_validate does after planning and
   * evaluating the URI: resolves the active cluster and the read timestamp. Its error leaves S3 untouched.
   */
  beforeSinking?: () => Promise<void>;
  /** Values of the secrets an access-key connection names. */
  secrets?: Secrets;
  /** Chooses the read timestamp of a COPY whose query has AS OF. */
  timestamps?: ReadTimestamps;
  isolation?: IsolationLevel;
}

export interface CopyResult {
  rows: number;
  /** The timestamp the rows were read at (a COPY with AS OF). */
  timestamp: bigint | null;
}

export async function copyToS3(stmt: CopyToStatement, deps: CopyDeps): Promise<CopyResult> {
  const { log, signal } = deps;
  const plan = await planCopyTo(stmt, deps);
  throwIfAborted(signal);
  await deps.beforeSinking?.();
  throwIfAborted(signal);
  // A COPY AS OF reads at its timestamp: the rows are fixed (the cursor declared) right after the
  // timestamp is checked, before the preflight, as Materialize picks the timestamp before its preflight.
  let source: CursorRowSource | null = null;
  let timestamp: bigint | null = null;
  if (plan.when.kind !== 'immediately') {
    if (!deps.timestamps) throw new MzError(SqlState.InternalError, 'AS OF needs the timestamp oracle');
    const held = deps.engine.holds(deps.owner);
    const r = await deps.timestamps.readAt(
      deps.owner,
      (s) => deps.engine.acquire(deps.owner, s),
      plan.query,
      plan.when,
      deps.isolation ?? 'StrictSerializable',
      signal,
      (d) => CursorRowSource.open(deps.engine, deps.owner, replaceMzNow(plan.query, plan.queryTokens ?? [], d.chosen), { inTransaction: deps.inTransaction, signal }),
      { releaseWhileWaiting: !held },
    );
    if (!held) deps.engine.release(deps.owner);
    source = r.result;
    timestamp = r.determination.chosen;
    log.info(`COPY reads AS OF ${timestamp}`);
  }
  try {
    return { rows: await sink(plan, deps, source), timestamp };
  } finally {
    await source?.close().catch(() => undefined);
  }
}

async function sink(plan: CopyPlan, deps: CopyDeps, source: CursorRowSource | null): Promise<number> {
  const { log, signal } = deps;
  const conn = plan.connection;

  const sinkId = deps.nextSinkId();
  const keys = new S3KeyManager(sinkId, plan.bucket, plan.path);
  log.info(`COPY ${sinkId} to s3://${plan.bucket}/${keys.path} (${plan.format.kind}, ${deps.faults.get('mz_local_batches') || deps.workers} batches, max file size ${plan.maxFileSize})`);

  let role;
  try {
    role = await connectionIdentity(deps.aws, conn, deps.catalog.environmentId, deps.secrets!, 's3');
  } catch (e) {
    throw new MzError(SqlState.SystemError, describeAwsError(e));
  }
  const s3 = await deps.aws.s3For(role);
  try {
    await preflight(s3, keys, signal);
    log.info(`COPY ${sinkId}: preflight done, sentinel ${keys.incompleteSentinelKey()} written`);
    const rows = await writeData(plan, s3, keys, deps, sinkId, source);
    throwIfAborted(signal);
    await s3.deleteObject(keys.bucket, keys.incompleteSentinelKey(), signal).catch((e) => {
      throw new MzError(SqlState.SystemError, describeAwsError(e));
    });
    log.info(`COPY ${sinkId}: ${rows} rows written, sentinel deleted`);
    return rows;
  } catch (e) {
    if (signal.aborted) {
      log.info(`COPY ${sinkId}: canceled (${String((signal.reason as Error)?.message ?? signal.reason)}); sentinel left in place`);
      throw canceledError();
    }
    log.info(`COPY ${sinkId} failed: ${(e as Error).message}`);
    if (e instanceof MzError) throw e;
    throw new MzError(SqlState.SystemError, describeAwsError(e));
  } finally {
    s3.close();
  }
}

/** Materialize's preflight (src/storage-types/src/sinks/s3_oneshot_sink.rs, preflight). */
async function preflight(s3: AuthorizedS3, keys: S3KeyManager, signal: AbortSignal): Promise<void> {
  let existing: string[];
  try {
    existing = await s3.listObjects(keys.bucket, keys.pathPrefix(), signal);
  } catch (e) {
    throw new MzError(SqlState.SystemError, describeAwsError(e));
  }
  if (existing.length > 0) throw new MzError(SqlState.SystemError, `S3 bucket path is not empty, contains ${existing.length} objects`);
  try {
    await s3.deleteObject(keys.bucket, keys.dataKey(0, 0, 'delete_object_test'), signal);
  } catch (e) {
    const status = httpStatusOf(e);
    if (status === 403) throw new MzError(SqlState.SystemError, 'AccessDenied error when using DeleteObject');
    if (status !== 404) throw new MzError(SqlState.SystemError, `Error when using DeleteObject: ${describeAwsError(e)}`);
  }
  try {
    await s3.putObject(keys.bucket, keys.incompleteSentinelKey(), new Uint8Array(0), signal);
  } catch (e) {
    throw new MzError(SqlState.SystemError, describeAwsError(e));
  }
}

async function writeData(plan: CopyPlan, s3: AuthorizedS3, keys: S3KeyManager, deps: CopyDeps, sinkId: string, opened: CursorRowSource | null): Promise<number> {
  const { faults, signal } = deps;
  const failAfter = faults.get('mz_local_fail_after_files');
  let filesDone = 0;
  const injectedFailure = () =>
    new MzError(SqlState.SystemError, `mz-local injected failure after ${filesDone} data file(s) (mz_local_fail_after_files = ${failAfter})`);
  const ctx: UploadContext = {
    s3,
    keys,
    maxFileSize: plan.maxFileSize,
    partSize: deps.partSize ?? PART_SIZE_BYTES,
    signal,
    onFileComplete: (key, bytes) => {
      filesDone++;
      deps.log.info(`COPY ${sinkId}: wrote ${key} (${bytes} bytes)`);
      if (failAfter >= 0 && filesDone >= failAfter) throw injectedFailure();
    },
  };
  if (failAfter === 0) throw injectedFailure();

  const workers = Math.max(1, faults.get('mz_local_batches') || deps.workers);
  let makeUploader: (batch: number) => BatchUploader;
  if (plan.format.kind === 'csv') {
    const params = plan.format.params;
    const encoder = new CsvEncoder(
      params,
      plan.columns.map((c) => mzTextRewrite(c.scalar)),
    );
    const header = params.header ? encoder.encodeHeader(plan.columns.map((c) => c.name)) : null;
    makeUploader = (b) => new CsvBatchUploader(ctx, b, encoder, header);
  } else {
    const names = dedupeNames(plan.columns.map((c) => c.name));
    const cols = plan.columns.map((c, i) => ({ name: names[i], type: c.arrow!, nullable: c.nullable }));
    const schema = arrowSchema(cols);
    makeUploader = (b) => new ParquetBatchUploader(ctx, b, schema, cols.map((c) => c.type));
  }
  const uploaders = new Map<number, BatchUploader>();
  const uploader = (b: number) => {
    let u = uploaders.get(b);
    if (!u) {
      u = makeUploader(b);
      uploaders.set(b, u);
    }
    return u;
  };
  // batch 0 always writes a file, even for an empty result
  await uploader(0).forceNewFile();

  const source = opened ?? (await CursorRowSource.open(deps.engine, deps.owner, plan.query, { inTransaction: deps.inTransaction, signal }));
  let rows = 0;
  let dropped = false;
  try {
    for (;;) {
      throwIfAborted(signal);
      const chunk = await source.next(signal);
      if (chunk) {
        for (const body of chunk) {
          const batch = workers === 1 ? 0 : fnv1a(body) % workers;
          await uploader(batch).appendRow(readDataRow(body), body.length);
          rows++;
        }
      }
      if (!dropped && faults.get('mz_local_drop_session_mid_copy')) {
        dropped = true;
        deps.log.info(`COPY ${sinkId}: dropping the client's session mid-COPY (mz_local_drop_session_mid_copy)`);
        deps.dropSession();
        throwIfAborted(signal);
      }
      if (!chunk) break;
    }
    const delay = faults.get('mz_local_batch_delay_ms');
    for (const b of [...uploaders.keys()].sort((x, y) => x - y)) {
      if (delay > 0) await sleep(delay, signal);
      throwIfAborted(signal);
      await uploaders.get(b)!.finish();
    }
  } finally {
    await source.close().catch(() => undefined);
  }
  if (failAfter >= 0) throw injectedFailure();
  return rows;
}

/** FNV-1a over the row's bytes: the batch a row goes to. */
export function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw canceledError();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(canceledError());
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(canceledError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
