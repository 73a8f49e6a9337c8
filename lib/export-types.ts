/**
 * The bulkExport workflow's input: one JSON object (the Temporal Web UI passes exactly one value), with
 * self-explaining field names and no secrets. Schedules start the same workflow with the same input.
 */
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
}
