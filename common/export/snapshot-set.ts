/**
 * snapshotSet's input, result, progress and layout: several objects or queries exported AS OF one Materialize
 * timestamp and published together (docs/manifest.md, "Snapshot sets"). Pure: the workflow, the activities, the
 * CLI and the schedules file use it.
 *
 *   <prefix>/<set>/members/<member>/<logical time>/attempt-NNN/   each member: a staged bulkExport (files + manifest.json)
 *   <prefix>/<set>/<logical time>/attempt-NNN/set-manifest.json    names every member's manifest, ETag and SHA-256
 *   <prefix>/<set>/<logical time>/attempt-NNN/_SUCCESS             the set's commit point, written last
 *   <prefix>/<set>/<logical time>/_claims/...                      the set's attempt and publication claims
 *   <prefix>/<set>/_latest.json                                    the newest published set manifest
 *
 * Members are ordinary exports under `<prefix>/<set>/members/` whose attempt folders never get `_SUCCESS`: only
 * the set manifest makes them visible, so a loader reads nothing of a set that did not complete.
 */
import { checkField, normalizePrefix, prefixProblem } from '../aws-names';
import { checkNotifications } from '../events/input';
import type { NotificationReport, PublicationNotifications } from '../events/types';
import { Problems } from '../failures';
import { storageProfileProblem } from '../storage-profile';
import { exportNameProblem, resolveExportInput, type ResolvedExportInput, clusterProblem } from './input';
import { logicalTimeProblem } from './logical-time';
import { attemptKey, latestKey, logicalTimeKey, type ExportLocation } from './paths';
import type { MaterializeFacts } from './activities';
import type { BulkExportInput, ExportFormat, ExportTuning } from './types';

export const SET_MANIFEST_FILE = 'set-manifest.json';
/** The folder under `<prefix>/<set>/` holding the members' exports; never a logical time folder name. */
export const MEMBERS_FOLDER = 'members';

export interface SnapshotSetMember {
  /** Names the member; its folder under `<prefix>/<set>/members/`. Letters, digits, '-', '_' and '.'. */
  name: string;
  /** A table, view or materialized view... */
  object?: string;
  /** ...or one SELECT query. Exactly one of the two. */
  query?: string;
  format: ExportFormat;
  maxFileSize?: string;
  csvHeader?: boolean;
}

export interface SnapshotSetInput {
  /** Names the set; part of the output path. */
  setName: string;
  connectionName: string;
  bucket: string;
  prefix: string;
  members: SnapshotSetMember[];
  /** The cluster every member's COPY runs on; checked before anything is written. */
  cluster?: string;
  /** ISO 8601 instant the set stands for. Default: the schedule's fire time, else the workflow's start time. */
  logicalTime?: string;
  materializeProfile?: string;
  /** How many members export at once. Default 4. */
  maxParallel?: number;
  /** How many timestamps to try when a member's timestamp became unreadable (inputs changed meanwhile). Default 5. */
  maxSetAttempts?: number;
  /** COPY attempts per member and timestamp. Default 3. */
  maxAttempts?: number;
  /** Also move `<prefix>/<set>/_latest.json`. Default true. */
  publishLatest?: boolean;
  /**
   * An S3-compatible store (the worker's storage profile, docs/s3-compatible.md): the members export to it and
   * the set's own files (claims, set-manifest.json, `_SUCCESS`, `_latest.json`) go there too. Default: AWS S3.
   */
  storageProfile?: string;
  /** Announce the published set (one event, after its `_SUCCESS`) to SNS, SQS, EventBridge and/or a downstream workflow (docs/events.md). */
  notify?: PublicationNotifications;
  tuning?: ExportTuning;
}

export interface ResolvedSnapshotSetInput {
  setName: string;
  connectionName: string;
  bucket: string;
  prefix: string;
  cluster?: string;
  logicalTime?: string;
  materializeProfile: string;
  maxParallel: number;
  maxSetAttempts: number;
  publishLatest: boolean;
  /** The set's and its members' S3-compatible store; absent: AWS S3. */
  storageProfile?: string;
  notify?: PublicationNotifications;
  /** Tries per notification target (the members' tuning.notifyMaxAttempts). */
  notifyMaxAttempts: number;
  /** Each member as the bulkExport input it runs with (minus logicalTime and asOf, which the set fills in). */
  members: ResolvedExportInput[];
  /** The raw member inputs, for starting the children (bulkExport validates its own input). */
  memberInputs: BulkExportInput[];
}

const KNOWN_FIELDS = new Set([
  'setName', 'connectionName', 'bucket', 'prefix', 'members', 'cluster', 'logicalTime', 'materializeProfile',
  'maxParallel', 'maxSetAttempts', 'maxAttempts', 'publishLatest', 'storageProfile', 'notify', 'tuning',
]);
/** Fields the set checks itself and hands to every member: a problem with one is reported once, not per member. */
const SET_CHECKED_MEMBER_FIELDS = new Set(['storageProfile']);
const MEMBER_FIELDS = new Set(['name', 'object', 'query', 'format', 'maxFileSize', 'csvHeader']);
export const MAX_MEMBERS = 100;

/** `<prefix>/<set>` as an export location: the set's own logical time folders and `_latest.json` live here. */
export function setLocation(input: { bucket: string; prefix: string; setName: string }): ExportLocation {
  return { bucket: input.bucket, prefix: input.prefix, exportName: input.setName };
}

/** Where the members export to: `<prefix>/<set>/members`, each under its own name. */
export function membersPrefix(input: { prefix: string; setName: string }): string {
  return `${normalizePrefix(input.prefix)}/${input.setName}/${MEMBERS_FOLDER}`;
}

export const setLogicalTimeKey = (input: { bucket: string; prefix: string; setName: string }, logicalTime: string) => logicalTimeKey(setLocation(input), logicalTime);
export const setAttemptKey = (input: { bucket: string; prefix: string; setName: string }, logicalTime: string, attempt: number) =>
  attemptKey(setLocation(input), logicalTime, attempt);
export const setLatestKey = (input: { bucket: string; prefix: string; setName: string }) => latestKey(setLocation(input));

/** The bulkExport input a member runs with: staged, never published on its own, AS OF the set's timestamp. */
export function memberExportInput(set: SnapshotSetInput, member: SnapshotSetMember): BulkExportInput {
  const optional = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));
  return {
    exportName: member.name,
    connectionName: set.connectionName,
    ...optional('object', member.object),
    ...optional('query', member.query),
    bucket: set.bucket,
    prefix: membersPrefix(set),
    format: member.format,
    ...optional('maxFileSize', member.maxFileSize),
    ...optional('csvHeader', member.csvHeader),
    ...optional('materializeProfile', set.materializeProfile),
    ...optional('maxAttempts', set.maxAttempts),
    ...optional('cluster', set.cluster),
    ...optional('storageProfile', set.storageProfile),
    ...optional('tuning', set.tuning),
    publishLatest: false,
    commit: 'stage',
  };
}

/** The set's input checked in one go (each member through bulkExport's own checks), defaults filled in. */
export function resolveSnapshotSetInput(raw: unknown): ResolvedSnapshotSetInput {
  const problems = new Problems();
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.add('input', 'must be one JSON object, e.g. {"setName": "...", "members": [{"name": "orders", "object": "orders", "format": "parquet"}], ...}');
    problems.throwIfAny('the snapshot set input');
  }
  const input = raw as SnapshotSetInput & Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(key)) problems.add(key, `is not a field of the snapshot set input (known: ${[...KNOWN_FIELDS].join(', ')})`);
  }
  const nameProblem = exportNameProblem(input.setName);
  if (nameProblem) problems.add('setName', nameProblem);
  if (input.logicalTime !== undefined) {
    const p = logicalTimeProblem(input.logicalTime);
    if (p) problems.add('logicalTime', p);
  }
  if (input.cluster !== undefined) {
    const p = clusterProblem(input.cluster);
    if (p) problems.add('cluster', p);
  }
  const prefix = prefixProblem(input.prefix);
  if (prefix) problems.add('prefix', prefix);
  if (input.storageProfile !== undefined) checkField(problems, 'storageProfile', storageProfileProblem(input.storageProfile));
  // Members are staged and never announced alone: the set publishes, so the set announces.
  if (input.notify !== undefined) checkNotifications(input.notify, problems);
  const maxParallel = input.maxParallel ?? 4;
  if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 32) problems.add('maxParallel', `${JSON.stringify(input.maxParallel)} must be a whole number from 1 to 32`);
  const maxSetAttempts = input.maxSetAttempts ?? 5;
  if (!Number.isInteger(maxSetAttempts) || maxSetAttempts < 1 || maxSetAttempts > 20)
    problems.add('maxSetAttempts', `${JSON.stringify(input.maxSetAttempts)} must be a whole number from 1 to 20`);
  const members: ResolvedExportInput[] = [];
  const memberInputs: BulkExportInput[] = [];
  if (!Array.isArray(input.members) || input.members.length === 0 || input.members.length > MAX_MEMBERS) {
    problems.add('members', `must be a list of 1 to ${MAX_MEMBERS} members, each {"name": ..., "object" or "query": ..., "format": "csv" or "parquet"}`);
  } else {
    const seen = new Set<string>();
    input.members.forEach((m, i) => {
      const where = `members[${i}]`;
      if (!m || typeof m !== 'object' || Array.isArray(m)) return problems.add(where, 'must be an object {"name": ..., "object" or "query": ..., "format": ...}');
      for (const key of Object.keys(m)) if (!MEMBER_FIELDS.has(key)) problems.add(`${where}.${key}`, `is not a member field (known: ${[...MEMBER_FIELDS].join(', ')})`);
      if (typeof m.name === 'string' && seen.has(m.name)) problems.add(`${where}.name`, `"${m.name}" is used by an earlier member; member names must differ`);
      seen.add(m.name);
      if (prefix) return;
      const child = memberExportInput(input, m);
      memberInputs.push(child);
      try {
        members.push(resolveExportInput(child));
      } catch (e) {
        // bulkExport's own problems, one per line ("  - field: what to change"), named by the member's fields.
        for (const line of (e as Error).message.split('\n').filter((l) => l.startsWith('  - '))) {
          const [field, ...rest] = line.slice(4).split(': ');
          if (SET_CHECKED_MEMBER_FIELDS.has(field)) continue;
          problems.add(`${where}.${field === 'exportName' ? 'name' : field}`, rest.join(': '));
        }
      }
    });
  }
  problems.throwIfAny('the snapshot set input');
  const first = members[0];
  return {
    setName: input.setName,
    connectionName: first.connectionName,
    bucket: first.bucket,
    prefix: normalizePrefix(input.prefix),
    ...(input.cluster !== undefined ? { cluster: input.cluster } : {}),
    ...(input.logicalTime !== undefined ? { logicalTime: input.logicalTime } : {}),
    materializeProfile: first.materializeProfile,
    maxParallel,
    maxSetAttempts,
    publishLatest: input.publishLatest ?? true,
    ...(input.storageProfile !== undefined ? { storageProfile: input.storageProfile } : {}),
    ...(input.notify !== undefined ? { notify: input.notify } : {}),
    notifyMaxAttempts: first.tuning.notifyMaxAttempts,
    members,
    memberInputs,
  };
}

/** One member in the set manifest: which staged export it is and how to check it is that very one. */
export interface SetManifestMember {
  name: string;
  source: { kind: 'object'; object: string } | { kind: 'query'; query: string };
  format: ExportFormat;
  /** s3:// URI of the member's manifest.json (it lists every data file). */
  manifest: string;
  manifestKey: string;
  manifestEtag: string;
  manifestSha256: string;
  totals: { files: number; rows: number; bytes: number };
}

/** `<prefix>/<set>/<logical time>/attempt-NNN/set-manifest.json`. */
export interface SetManifest {
  manifestVersion: 1;
  kind: 'snapshot-set';
  setName: string;
  logicalTime: string;
  attempt: number;
  /** The one timestamp every member was read AS OF, Materialize's version, the cluster the COPYs ran on. */
  materialize: MaterializeFacts;
  members: SetManifestMember[];
  totals: { members: number; files: number; rows: number; bytes: number };
  workflow: { namespace: string; workflowId: string; runId: string; taskQueue: string };
  publishedAt: string;
  producer: string;
}

export type SnapshotSetPhase = 'starting' | 'choosing-timestamp' | 'exporting' | 'publishing' | 'cleaning-up' | 'waiting-to-retry' | 'succeeded' | 'reused-existing' | 'failed' | 'cancelled';

export interface SnapshotSetMemberProgress {
  name: string;
  state: 'waiting' | 'running' | 'staged' | 'failed' | 'removed';
  /** The member's bulkExport run (query its own progress for its phase). */
  workflowId?: string;
  rows?: number;
  files?: number;
  error?: string;
}

export interface SnapshotSetProgress {
  setName: string;
  phase: SnapshotSetPhase;
  message: string;
  logicalTime: string;
  /** Which timestamp this is (1 = the first). */
  setAttempt: number;
  /** The Materialize timestamp every member reads AS OF. */
  timestamp?: string;
  members: SnapshotSetMemberProgress[];
  startedAt: string;
  elapsedSeconds: number;
}

export interface SnapshotSetResult {
  setName: string;
  logicalTime: string;
  /** The set's attempt folder holding set-manifest.json and _SUCCESS. */
  attempt: number;
  /** s3:// URI of set-manifest.json. */
  manifest: string;
  manifestKey: string;
  materialize: MaterializeFacts;
  members: { name: string; manifest: string; rows: number; files: number; bytes: number }[];
  rows: number;
  files: number;
  bytes: number;
  /** True when an earlier run had already published this logical time and its set manifest is returned. */
  reusedExisting: boolean;
  latestUpdated: boolean;
  /** How many timestamps were tried. */
  setAttempts: number;
  workflowId: string;
  runId: string;
  /** With `notify`: per target, whether the set's publication event was delivered (docs/events.md). */
  notifications?: NotificationReport[];
}
