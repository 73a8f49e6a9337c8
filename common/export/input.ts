/**
 * bulkExport's input checked in one go (every problem listed, each saying what to change) and its defaults
 * filled in one place. Pure: the workflow runs it first, the CLI runs it before starting anything.
 */
import { bucketNameProblem, checkField, normalizePrefix, prefixProblem } from '../aws-names';
import { Problems } from '../failures';
import { checkNotifications } from '../events/input';
import type { PublicationNotifications } from '../events/types';
import { logicalTimeProblem } from './logical-time';
import { normalizeQuery, parseMaxFileSize, queryProblem } from './sql';

export { logicalTimeProblem } from './logical-time';
import type { BulkExportInput, ExportFormat, ExportTuning } from './types';
import { splitQualifiedName } from '../sql/quoting';
import { storageProfileProblem } from '../storage-profile';

export const EXPORT_DEFAULTS = {
  materializeProfile: 'default',
  maxAttempts: 3,
  publishLatest: true,
  csvHeader: false,
  tuning: {
    retryBackoffSeconds: 10,
    copyHeartbeatTimeoutSeconds: 20,
    copyTimeoutSeconds: 6 * 3600,
    pollInitialMs: 500,
    pollMaxMs: 5000,
    completionTimeoutSeconds: 300,
    settleQuietSeconds: 30,
    materializeUnavailableWaitSeconds: 120,
    notifyMaxAttempts: 8,
  } satisfies Required<ExportTuning>,
} as const;

/** Ranges for the tuning knobs: wide enough for tests (short) and production (long), never zero. */
const TUNING_RANGES: Record<keyof ExportTuning, [number, number]> = {
  retryBackoffSeconds: [0, 3600],
  copyHeartbeatTimeoutSeconds: [2, 3600],
  copyTimeoutSeconds: [10, 7 * 86400],
  pollInitialMs: [50, 60_000],
  pollMaxMs: [50, 300_000],
  completionTimeoutSeconds: [1, 86400],
  settleQuietSeconds: [0, 3600],
  materializeUnavailableWaitSeconds: [0, 3600],
  notifyMaxAttempts: [1, 20],
};

export interface ResolvedExportInput {
  exportName: string;
  connectionName: string;
  source: { kind: 'object'; object: string } | { kind: 'query'; query: string };
  bucket: string;
  /** Without a trailing slash. */
  prefix: string;
  format: ExportFormat;
  /** Normalized for Materialize, e.g. '256MB'. */
  maxFileSize?: string;
  csvHeader: boolean;
  /** As given (ISO 8601), or undefined: the workflow then takes the schedule's time or its start time. */
  logicalTime?: string;
  materializeProfile: string;
  maxAttempts: number;
  publishLatest: boolean;
  cluster?: string;
  /** An S3-compatible store (the worker's storage profile); absent: AWS S3. */
  storageProfile?: string;
  /** A Materialize timestamp (decimal digits, below 2^64). */
  asOf?: string;
  commit: 'publish' | 'stage';
  /** Where to announce the publication (docs/events.md). */
  notify?: PublicationNotifications;
  tuning: Required<ExportTuning>;
}

const KNOWN_FIELDS = new Set<string>([
  'exportName', 'connectionName', 'object', 'query', 'bucket', 'prefix', 'format', 'maxFileSize', 'csvHeader',
  'logicalTime', 'materializeProfile', 'maxAttempts', 'publishLatest', 'tuning', 'cluster', 'asOf', 'commit', 'storageProfile', 'notify',
]);

export function exportNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'is required: a name for this export, e.g. "orders-daily"';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name))
    return `"${name}" must be 1 to 100 letters, digits, '-', '_' or '.', starting with a letter or digit (it becomes a folder name)`;
  return undefined;
}

function nameProblem(value: unknown, what: string): string | undefined {
  if (typeof value !== 'string' || value === '') return `is required: the ${what}`;
  try {
    splitQualifiedName(value);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** A cluster name (any identifier: it is quoted in SQL); undefined when valid. */
export function clusterProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be the name of a Materialize cluster, e.g. "quickstart"';
  if (value.length > 255 || /[\u0000-\u001f]/.test(value)) return 'is not a cluster name (at most 255 characters, no control characters)';
  return undefined;
}

/** A Materialize timestamp: decimal digits of an unsigned 64-bit number; undefined when valid. */
export function asOfProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value) || BigInt(value) > 2n ** 64n - 1n)
    return `${JSON.stringify(value)} is not a Materialize timestamp; give decimal digits as a string, e.g. the value of SELECT mz_now()`;
  return undefined;
}

export function resolveExportInput(raw: unknown): ResolvedExportInput {
  const problems = new Problems();
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.add('input', 'must be one JSON object, e.g. {"exportName": "...", "connectionName": "...", ...}');
    problems.throwIfAny('the export input');
  }
  const input = raw as BulkExportInput & Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(key)) problems.add(key, `is not a field of the export input (known: ${[...KNOWN_FIELDS].join(', ')})`);
  }
  checkField(problems, 'exportName', exportNameProblem(input.exportName));
  checkField(problems, 'connectionName', nameProblem(input.connectionName, 'Materialize AWS connection, as created by onboarding'));
  const hasObject = input.object !== undefined && input.object !== null;
  const hasQuery = input.query !== undefined && input.query !== null;
  if (hasObject === hasQuery) {
    problems.add('object/query', 'give exactly one: an object (table, view or materialized view) name, or a SELECT query');
  } else if (hasObject) {
    checkField(problems, 'object', nameProblem(input.object, 'table, view or materialized view to export'));
  } else {
    checkField(problems, 'query', queryProblem(input.query));
  }
  checkField(problems, 'bucket', bucketNameProblem(input.bucket));
  checkField(problems, 'prefix', prefixProblem(input.prefix));
  if (input.format !== 'csv' && input.format !== 'parquet')
    problems.add('format', `${JSON.stringify(input.format)} is not supported; use "csv" or "parquet"`);
  let maxFileSize: string | undefined;
  if (input.maxFileSize !== undefined) {
    const parsed = parseMaxFileSize(input.maxFileSize);
    if ('problem' in parsed) problems.add('maxFileSize', parsed.problem);
    else maxFileSize = parsed.literal;
  }
  if (input.csvHeader !== undefined && typeof input.csvHeader !== 'boolean') problems.add('csvHeader', 'must be true or false');
  if (input.csvHeader && input.format === 'parquet') problems.add('csvHeader', 'applies to format "csv" only');
  if (input.logicalTime !== undefined) checkField(problems, 'logicalTime', logicalTimeProblem(input.logicalTime));
  const profile = input.materializeProfile ?? EXPORT_DEFAULTS.materializeProfile;
  if (typeof profile !== 'string' || !/^[a-z0-9_]{1,64}$/.test(profile))
    problems.add('materializeProfile', `${JSON.stringify(profile)} is not a profile name (lower-case letters, digits, '_'; the worker maps it to MZ_URL_<NAME>)`);
  const maxAttempts = input.maxAttempts ?? EXPORT_DEFAULTS.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20)
    problems.add('maxAttempts', `${JSON.stringify(input.maxAttempts)} must be a whole number from 1 to 20`);
  if (input.publishLatest !== undefined && typeof input.publishLatest !== 'boolean')
    problems.add('publishLatest', 'must be true or false');
  if (input.cluster !== undefined) checkField(problems, 'cluster', clusterProblem(input.cluster));
  if (input.asOf !== undefined) checkField(problems, 'asOf', asOfProblem(input.asOf));
  if (input.storageProfile !== undefined) checkField(problems, 'storageProfile', storageProfileProblem(input.storageProfile));
  if (input.commit !== undefined && input.commit !== 'publish' && input.commit !== 'stage')
    problems.add('commit', `${JSON.stringify(input.commit)} must be "publish" (the default) or "stage" (verify only; a snapshot set publishes)`);
  if (input.notify !== undefined) checkNotifications(input.notify, problems);
  if (input.notify !== undefined && input.commit === 'stage') problems.add('notify', 'a staged export publishes nothing to announce; the snapshot set does');
  const tuning = resolveTuning(input.tuning, problems);
  problems.throwIfAny('the export input');

  return {
    exportName: input.exportName,
    connectionName: input.connectionName,
    source: hasObject ? { kind: 'object', object: input.object! } : { kind: 'query', query: normalizeQuery(input.query!) },
    bucket: input.bucket,
    prefix: normalizePrefix(input.prefix),
    format: input.format,
    maxFileSize,
    csvHeader: input.csvHeader ?? EXPORT_DEFAULTS.csvHeader,
    logicalTime: input.logicalTime,
    materializeProfile: profile,
    maxAttempts,
    publishLatest: input.publishLatest ?? EXPORT_DEFAULTS.publishLatest,
    ...(input.cluster !== undefined ? { cluster: input.cluster } : {}),
    ...(input.asOf !== undefined ? { asOf: input.asOf } : {}),
    ...(input.storageProfile !== undefined ? { storageProfile: input.storageProfile } : {}),
    commit: input.commit ?? 'publish',
    ...(input.notify !== undefined ? { notify: input.notify } : {}),
    tuning,
  };
}

function resolveTuning(raw: unknown, problems: Problems): Required<ExportTuning> {
  const tuning: Required<ExportTuning> = { ...EXPORT_DEFAULTS.tuning };
  if (raw === undefined) return tuning;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.add('tuning', 'must be an object');
    return tuning;
  }
  for (const [key, value] of Object.entries(raw)) {
    const range = TUNING_RANGES[key as keyof ExportTuning];
    if (!range) {
      problems.add(`tuning.${key}`, `is not a tuning knob (known: ${Object.keys(TUNING_RANGES).join(', ')})`);
    } else if (typeof value !== 'number' || !Number.isFinite(value) || value < range[0] || value > range[1]) {
      problems.add(`tuning.${key}`, `${JSON.stringify(value)} must be a number from ${range[0]} to ${range[1]}`);
    } else {
      tuning[key as keyof ExportTuning] = value;
    }
  }
  if (tuning.pollMaxMs < tuning.pollInitialMs) problems.add('tuning.pollMaxMs', 'must not be below tuning.pollInitialMs');
  return tuning;
}
