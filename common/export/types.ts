/**
 * The bulkExport workflow's input: one JSON object (the Temporal Web UI passes exactly one value), with
 * self-explaining field names and no secrets. Schedules start the same workflow with the same input.
 */
import type { NotificationReport, PublicationNotifications } from '../events/types';
import type { MaterializeFacts } from './activities';

export type ExportFormat = 'csv' | 'parquet';

export interface BulkExportInput {
  /** Names the export; part of the output path. Letters, digits, '-', '_' and '.'. */
  exportName: string;
  /** The Materialize AWS connection (as created by onboarding). */
  connectionName: string;
  /** Export a table, view or materialized view by (possibly qualified) name... */
  object?: string;
  /** ...or the result of one SELECT query (no ORDER BY: Materialize rejects it). Exactly one of the two. */
  query?: string;
  bucket: string;
  /** Key prefix; the output goes to <prefix>/<exportName>/<logical time>/<attempt>/. */
  prefix: string;
  format: ExportFormat;
  /** Materialize's MAX FILE SIZE, e.g. '256MB' (16MB to 4GB). */
  maxFileSize?: string;
  /** CSV only: a header row at the top of each file. */
  csvHeader?: boolean;
  /** ISO 8601 instant the export stands for. Default: the schedule's fire time, else the workflow's start time. */
  logicalTime?: string;
  /** Which Materialize the worker connects to (the worker maps profiles to URLs and passwords). */
  materializeProfile?: string;
  /** How many COPY attempts (each in a fresh attempt folder) before giving up. Default 3. */
  maxAttempts?: number;
  /** Also write <prefix>/<exportName>/_latest.json pointing at this manifest. Default true. */
  publishLatest?: boolean;
  /** The Materialize cluster the COPY runs on (`SET cluster`); default: the session's. Unknown: a UserFixableError before anything is written. */
  cluster?: string;
  /**
   * The Materialize timestamp to export AS OF, a decimal string (e.g. from `SELECT mz_now()`); several exports
   * AS OF one timestamp are consistent with each other. Default: the timestamp Materialize picks for the query
   * now (EXPLAIN TIMESTAMP), which the COPY then reads AS OF; either way the manifest records it.
   */
  asOf?: string;
  /**
   * An S3-compatible store (Google Cloud Storage, Cloudflare R2, ...): the worker's storage profile, whose
   * endpoint and access key it uses to verify and publish (docs/s3-compatible.md). Default: AWS S3.
   */
  storageProfile?: string;
  /**
   * publish (default): claim the publication, write `_SUCCESS` and `_latest.json`. stage: verify and write the
   * manifest only, publishing nothing: a snapshot set's member, which the set publishes (docs/manifest.md).
   */
  commit?: 'publish' | 'stage';
  /** Announce the publication to SNS, SQS, EventBridge and/or a downstream Temporal workflow (docs/events.md). */
  notify?: PublicationNotifications;
  /** Timing knobs; the defaults suit production, tests shorten them. */
  tuning?: ExportTuning;
}

export interface ExportTuning {
  /** Wait before the second COPY attempt; doubles per attempt, capped at 10 minutes. Default 10. */
  retryBackoffSeconds?: number;
  /** A COPY that stops heartbeating this long counts as lost (worker gone); cancellation reaches it within about this time too. Default 20. */
  copyHeartbeatTimeoutSeconds?: number;
  /** Upper bound for one COPY statement. Default 21600 (6 hours). */
  copyTimeoutSeconds?: number;
  /** S3 polling starts at this interval and backs off to pollMaxMs. Defaults 500 and 5000. */
  pollInitialMs?: number;
  pollMaxMs?: number;
  /** How long to wait for the sentinel to go once the COPY returned. Default 300. */
  completionTimeoutSeconds?: number;
  /** After a lost COPY, how long its folder must stay unchanged before it counts as stopped. Default 30. */
  settleQuietSeconds?: number;
  /** How long a COPY waits for Materialize to accept connections again (a restart, an upgrade) before the attempt fails. Default 120. */
  materializeUnavailableWaitSeconds?: number;
  /** Tries per publication-event target (backoff from 2 s, doubling, at most 2 min apart) before it is reported as failed. Default 8. */
  notifyMaxAttempts?: number;
}

export type ExportPhase =
  | 'starting'
  | 'checking-previous-runs'
  | 'copying'
  | 'awaiting-completion'
  | 'verifying'
  | 'publishing'
  | 'cleaning-up'
  | 'waiting-to-retry'
  | 'succeeded'
  | 'reused-existing'
  | 'failed'
  | 'cancelled';

/** One COPY attempt as the progress query and the result report it. */
export interface ExportAttemptReport {
  attempt: number;
  path: string;
  /** superseded: verified, but another run published this logical time first; removed. */
  outcome: 'running' | 'succeeded' | 'failed' | 'lost' | 'cancelled' | 'path-not-empty' | 'superseded';
  error?: string;
  /** Keys removed because the attempt's sentinel proved them ours. */
  cleanedFiles?: number;
}

/** The `progress` query's answer. */
export interface ExportProgress {
  exportName: string;
  phase: ExportPhase;
  /** One line a person reading the CLI or the Web UI understands. */
  message: string;
  logicalTime: string;
  attempt?: number;
  attemptPath?: string;
  rows?: number;
  files?: number;
  bytes?: number;
  startedAt: string;
  elapsedSeconds: number;
  attempts: ExportAttemptReport[];
}

/** The workflow's result. */
export interface BulkExportResult {
  exportName: string;
  logicalTime: string;
  attempt: number;
  format: ExportFormat;
  /** s3://bucket/<prefix>/<exportName>/<logical time>/attempt-NNN/ */
  outputPath: string;
  /** s3:// URI of manifest.json. */
  manifest: string;
  manifestKey: string;
  rows: number;
  files: number;
  bytes: number;
  /** True when an earlier run had already published this logical time and its manifest is returned. */
  reusedExisting: boolean;
  /** Whether <prefix>/<exportName>/_latest.json now points at this manifest. */
  latestUpdated: boolean;
  /** What the data reflects: the Materialize timestamp read AS OF, the version, the cluster (unknown for a publication from before it was recorded). */
  materialize?: MaterializeFacts;
  /** One report per `notify` target: delivered, or why not after every retry (the export stays published). */
  notifications?: NotificationReport[];
  /** commit 'stage': verified and manifest written, nothing published; the manifest's ETag and SHA-256 let the set name this very manifest. */
  staged?: { manifestEtag: string; manifestSha256: string };
  attempts: ExportAttemptReport[];
  workflowId: string;
  runId: string;
}
