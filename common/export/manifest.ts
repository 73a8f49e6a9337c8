/**
 * The manifest format downstream loaders read (manifest.json, _latest.json; docs/manifest.md) and the facts
 * about an attempt folder the export activities exchange with the workflow. Types only, free of Node, so
 * workflows and the activity contract (./activities.ts) can name them; activities/export/manifest.ts holds the logic.
 */
import type { ExportFormat } from './types';

export interface S3ObjectInfo {
  key: string;
  size: number;
  etag?: string;
}

export interface DataFile extends S3ObjectInfo {
  sinkId: string;
  batch: number;
  file: number;
  extension: 'csv' | 'parquet';
}

export interface AttemptListing {
  sentinels: (S3ObjectInfo & { sinkId: string })[];
  dataFiles: DataFile[];
  manifest?: S3ObjectInfo;
  success?: S3ObjectInfo;
  /** Anything else under the attempt folder: never ours to delete, and a reason not to publish. */
  others: S3ObjectInfo[];
}

export type AttemptState = 'published' | 'incomplete' | 'complete-unpublished' | 'empty' | 'foreign';

/** Per-file row counts read from Parquet footers. */
export interface FooterFacts {
  key: string;
  rows: number;
  rowGroupRows: number;
  schema: ParquetColumn[];
}

export interface ManifestFile {
  key: string;
  uri: string;
  sizeBytes: number;
  /** From the Parquet footer; null for CSV (the COPY tag counts all files together). */
  rows: number | null;
  etag?: string;
}

export interface ExportManifest {
  manifestVersion: 1;
  exportName: string;
  logicalTime: string;
  attempt: number;
  format: ExportFormat;
  location: { bucket: string; key: string; uri: string };
  source: { kind: 'object'; object: string; sha256: string } | { kind: 'query'; query: string; sha256: string };
  connection: string;
  materializeProfile: string;
  csv?: { header: boolean };
  /** Parquet only: the columns as the first file's footer describes them (all files must agree). */
  schema?: ParquetColumn[];
  files: ManifestFile[];
  totals: { files: number; rows: number; bytes: number };
  /** How the row total was checked: the COPY's tag, and for Parquet also the sum of the footers. */
  rowCountVerifiedBy: ('copy-tag' | 'parquet-footers')[];
  /** The Materialize timestamp the data reflects (the COPY read AS OF it), Materialize's version, the cluster. */
  materialize?: { timestamp: string; version: string; cluster: string };
  workflow: { namespace: string; workflowId: string; runId: string; taskQueue: string };
  timings: {
    workflowStartedAt: string;
    copyStartedAt: string;
    copyFinishedAt: string;
    copySeconds: number;
    verifiedAt: string;
    publishedAt: string;
  };
  producer: string;
}

export interface ManifestFacts {
  exportName: string;
  logicalTime: string;
  attempt: number;
  format: ExportFormat;
  bucket: string;
  attemptKey: string;
  source: ExportManifest['source'];
  connection: string;
  materializeProfile: string;
  csvHeader: boolean;
  listing: AttemptListing;
  copyRows: number;
  footers?: FooterFacts[];
  materialize?: ExportManifest['materialize'];
  workflow: ExportManifest['workflow'];
  timings: Omit<ExportManifest['timings'], 'copySeconds'>;
}

/** The pointer at <prefix>/<exportName>/_latest.json. */
export interface LatestPointer {
  exportName: string;
  logicalTime: string;
  attempt: number;
  manifest: string;
  manifestKey: string;
  rows: number;
  files: number;
  bytes: number;
  publishedAt: string;
  workflowId: string;
  runId: string;
  /** The Materialize timestamp the published data reflects (freshness: how far it lags). */
  materializeTimestamp?: string;
}

export interface ParquetColumn {
  name: string;
  /** Physical type for leaves (INT64, BYTE_ARRAY, ...); undefined for groups. */
  physicalType?: string;
  /** Logical or converted annotation, e.g. STRING, DECIMAL(10,2), TIMESTAMP(MICROS,UTC), LIST. */
  logicalType?: string;
  repetition: 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
  children?: ParquetColumn[];
}

/** What was exported, as the claims and the manifest record it: the kind and the SHA-256 of the name or query. */
export interface SourceDigest {
  kind: 'object' | 'query';
  sha256: string;
  /** The object's name (a query's text is only in the manifest: it may be long). */
  object?: string;
}

export type ExportSource = { kind: 'object'; object: string } | { kind: 'query'; query: string };

export interface ClaimOwner {
  workflowId: string;
  runId: string;
}

export interface AttemptClaim extends ClaimOwner {
  claim: 'attempt';
  exportName: string;
  logicalTime: string;
  attempt: number;
  source: SourceDigest;
  format: ExportFormat;
  claimedAt: string;
}

export interface PublicationClaim extends ClaimOwner {
  claim: 'publication';
  exportName: string;
  logicalTime: string;
  attempt: number;
  manifestKey: string;
  /** The ETag of manifest.json as this claim's writer wrote it: a roll-forward checks it is still that one. */
  manifestEtag: string;
  source: SourceDigest;
  format: ExportFormat;
  totals: { files: number; rows: number; bytes: number };
  /** What the published data reflects (the manifest's `materialize`): a re-run asking another AS OF conflicts. */
  materialize?: { timestamp: string; version: string; cluster: string };
  claimedAt: string;
}
