/**
 * What an attempt folder contains (Materialize's sentinel and data files, our manifest and _SUCCESS), the
 * checks a finished attempt must pass before it is published, and the manifest itself. Pure.
 *
 * Materialize names its objects `<path>/mz-<sink id>-INCOMPLETE` (the sentinel, deleted last on success) and
 * `<path>/mz-<sink id>-batch-<batch:04>-<file:04>.<csv|parquet>`. A sentinel therefore proves which data files
 * one COPY wrote: the ones with its sink id. Nothing else is ever deleted.
 */
import type { ExportFormat } from '../../common/export/types';
import { MANIFEST_FILE, SUCCESS_FILE } from '../../common/export/paths';
import type {
  AttemptListing,
  AttemptState,
  DataFile,
  ExportManifest,
  FooterFacts,
  LatestPointer,
  ManifestFacts,
  ManifestFile,
  ParquetColumn,
  S3ObjectInfo,
} from '../../common/export/manifest';

const SENTINEL = /^mz-([A-Za-z0-9]+)-INCOMPLETE$/;
const DATA_FILE = /^mz-([A-Za-z0-9]+)-batch-(\d{4})-(\d{4})\.(csv|parquet)$/;

/** Sorts the objects listed under `<attemptKey>/` into what Materialize and we write there. */
export function classifyAttemptObjects(attemptKey: string, objects: S3ObjectInfo[]): AttemptListing {
  const folder = `${attemptKey}/`;
  const listing: AttemptListing = { sentinels: [], dataFiles: [], others: [] };
  for (const o of [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const name = o.key.startsWith(folder) ? o.key.slice(folder.length) : undefined;
    let m: RegExpExecArray | null;
    if (name === undefined || name.includes('/')) listing.others.push(o);
    else if ((m = SENTINEL.exec(name))) listing.sentinels.push({ ...o, sinkId: m[1] });
    else if ((m = DATA_FILE.exec(name)))
      listing.dataFiles.push({ ...o, sinkId: m[1], batch: Number(m[2]), file: Number(m[3]), extension: m[4] as DataFile['extension'] });
    else if (name === MANIFEST_FILE) listing.manifest = o;
    else if (name === SUCCESS_FILE) listing.success = o;
    else listing.others.push(o);
  }
  return listing;
}

export function attemptState(l: AttemptListing): AttemptState {
  if (l.success && l.manifest) return 'published';
  if (l.sentinels.length) return 'incomplete';
  if (l.dataFiles.length) return 'complete-unpublished';
  if (l.others.length || l.manifest || l.success) return 'foreign';
  return 'empty';
}

/** The keys a failed attempt's sentinels prove are from that attempt: its data files, then the sentinels last. */
export function provenLeftovers(l: AttemptListing): string[] {
  if (l.success || l.manifest) return []; // published or being published: never clean
  const ids = new Set(l.sentinels.map((s) => s.sinkId));
  return [...l.dataFiles.filter((f) => ids.has(f.sinkId)).map((f) => f.key), ...l.sentinels.map((s) => s.key)];
}

/**
 * Why a finished attempt must not be published, or an empty list: the sentinel is gone, at least one data file
 * exists (Materialize always writes one, even for an empty result), every file is from the same COPY and in the
 * requested format, nothing foreign is there, and for Parquet the footers add up to the COPY's row count.
 */
export function verificationProblems(args: {
  listing: AttemptListing;
  format: ExportFormat;
  copyRows: number;
  footers?: FooterFacts[];
}): string[] {
  const { listing, format, copyRows, footers } = args;
  const problems: string[] = [];
  if (listing.sentinels.length) problems.push(`the sentinel ${listing.sentinels[0].key} is still there: the COPY did not finish`);
  if (!listing.dataFiles.length) problems.push('no data files were written (Materialize writes at least one, even for no rows)');
  const ids = [...new Set(listing.dataFiles.map((f) => f.sinkId))];
  if (ids.length > 1) problems.push(`data files from more than one COPY are mixed here (sink ids ${ids.join(', ')})`);
  const wrongFormat = listing.dataFiles.filter((f) => f.extension !== format);
  if (wrongFormat.length) problems.push(`${wrongFormat.length} data file(s) are not ${format}, e.g. ${wrongFormat[0].key}`);
  if (listing.others.length) problems.push(`unexpected objects in the attempt folder, e.g. ${listing.others[0].key}`);
  if (format === 'parquet') {
    const byKey = new Map((footers ?? []).map((f) => [f.key, f]));
    const missing = listing.dataFiles.filter((f) => !byKey.has(f.key));
    if (missing.length) problems.push(`no footer was read for ${missing.length} file(s), e.g. ${missing[0].key}`);
    for (const f of footers ?? []) {
      if (f.rows !== f.rowGroupRows) problems.push(`${f.key}: footer says ${f.rows} rows but its row groups hold ${f.rowGroupRows}`);
    }
    const footerRows = (footers ?? []).reduce((s, f) => s + f.rows, 0);
    if (!missing.length && footerRows !== copyRows)
      problems.push(`the Parquet footers hold ${footerRows} rows but the COPY reported ${copyRows}`);
    const schemas = new Set((footers ?? []).map((f) => JSON.stringify(f.schema)));
    if (schemas.size > 1) problems.push('the Parquet files do not all have the same schema');
  }
  return problems;
}

export const PRODUCER = 'mz-s3-export 0.1.0';

export function buildManifest(f: ManifestFacts): ExportManifest {
  const footerRows = new Map((f.footers ?? []).map((x) => [x.key, x.rows]));
  const files: ManifestFile[] = f.listing.dataFiles.map((d) => ({
    key: d.key,
    uri: `s3://${f.bucket}/${d.key}`,
    sizeBytes: d.size,
    rows: f.format === 'parquet' ? (footerRows.get(d.key) ?? null) : null,
    ...(d.etag ? { etag: d.etag } : {}),
  }));
  const copySeconds = (Date.parse(f.timings.copyFinishedAt) - Date.parse(f.timings.copyStartedAt)) / 1000;
  return {
    manifestVersion: 1,
    exportName: f.exportName,
    logicalTime: f.logicalTime,
    attempt: f.attempt,
    format: f.format,
    location: { bucket: f.bucket, key: `${f.attemptKey}/`, uri: `s3://${f.bucket}/${f.attemptKey}/` },
    source: f.source,
    connection: f.connection,
    materializeProfile: f.materializeProfile,
    ...(f.format === 'csv' ? { csv: { header: f.csvHeader } } : {}),
    ...(f.format === 'parquet' && f.footers?.length ? { schema: f.footers[0].schema } : {}),
    files,
    totals: { files: files.length, rows: f.copyRows, bytes: files.reduce((s, x) => s + x.sizeBytes, 0) },
    rowCountVerifiedBy: f.format === 'parquet' ? ['copy-tag', 'parquet-footers'] : ['copy-tag'],
    ...(f.materialize ? { materialize: f.materialize } : {}),
    workflow: f.workflow,
    timings: { ...f.timings, copySeconds: Math.max(0, copySeconds) },
    producer: PRODUCER,
  };
}

/** A backfill of an older logical time must not move the pointer back. */
export function shouldReplaceLatest(current: Pick<LatestPointer, 'logicalTime'> | undefined, next: Pick<LatestPointer, 'logicalTime'>): boolean {
  if (!current || typeof current.logicalTime !== 'string' || Number.isNaN(Date.parse(current.logicalTime))) return true;
  return Date.parse(next.logicalTime) >= Date.parse(current.logicalTime);
}
