/**
 * The export activities as the bulkExport workflow sees them: names, inputs and results (the JSON that crosses
 * the workflow/activity boundary). Declared here, free of Node, AWS and pg types, so workflows type-check
 * without them (tsconfig.workflows.json); activities/export/ implements these interfaces.
 */
import type { AttemptState, ExportSource, LatestPointer, ManifestFacts } from './manifest';
import type { CopyStatementSpec } from './sql';
import type { ExportFormat } from './types';

export interface CopyErrorContext {
  source: string;
  connectionName: string;
  targetUri: string;
  format: string;
}

export interface CopyToS3Input {
  materializeProfile: string;
  /** The statement's parts (checked by the workflow's input validation); the target is the attempt folder. */
  statement: Omit<CopyStatementSpec, 'targetUri'>;
  /** The attempt folder: `<prefix>/<exportName>/<logical time>/attempt-NNN`. */
  target: { bucket: string; prefix: string; exportName: string; logicalTime: string; attempt: number; storageProfile?: string };
  /** Who claims the folder. */
  owner: { workflowId: string; runId: string };
  /** For messages: what is exported and through which connection. */
  context: Omit<CopyErrorContext, 'targetUri' | 'format'>;
  /** The cluster to run on (SET cluster); checked against mz_clusters before anything is written. */
  cluster?: string;
  /** Export AS OF this Materialize timestamp; default: the one Materialize picks for the query now. */
  asOf?: string;
  /** How long to wait for Materialize to accept connections again before failing; absent: 120 s. */
  unavailableWaitSeconds?: number;
}

/** What the data reflects and where it was computed: recorded in the manifest. */
export interface MaterializeFacts {
  /** The Materialize timestamp the COPY read AS OF (decimal). */
  timestamp: string;
  /** `SELECT mz_version()`. */
  version: string;
  /** The cluster the COPY ran on. */
  cluster: string;
}

export type CopyToS3Result =
  | { outcome: 'copied'; rows: number; startedAt: string; finishedAt: string; materialize: MaterializeFacts }
  /** Another run holds this attempt folder's claim: nothing was run. */
  | { outcome: 'attempt-taken' };

/** A published export as runs report it; `conflict` says why it does not answer this run's request. */
export interface PublishedSummary {
  attempt: number;
  manifestKey: string;
  manifest: string;
  rows: number;
  files: number;
  bytes: number;
  format: ExportFormat;
  /** What the published data reflects (absent for publications from before claims recorded it). */
  materialize?: MaterializeFacts;
  conflict?: string;
}

export interface AttemptSummary {
  attempt: number;
  state: AttemptState;
  objects: number;
  /** An attempt claim proves the folder is an export run's own, so its leftovers may be removed. */
  claimed: boolean;
}

export interface InspectInput {
  /** The bucket's S3-compatible store; absent: AWS S3. The same in every S3 activity input. */
  storageProfile?: string;
  bucket: string;
  logicalTimeKey: string;
  source: ExportSource;
  format: ExportFormat;
  /** The AS OF the run asks for: a publication that reflects another timestamp is a conflict. */
  asOf?: string;
}

export interface InspectResult {
  attempts: AttemptSummary[];
  published?: PublishedSummary;
  /** The lowest attempt number above every folder and claim that exists. */
  nextAttempt: number;
  /** The publication claim names an attempt that cannot be rolled forward (its files differ from its manifest). */
  problem?: string;
}

/** What the manifest says beyond what the attempt folder shows. */
export type ManifestInput = Omit<ManifestFacts, 'listing' | 'footers' | 'source' | 'bucket' | 'attemptKey' | 'attempt' | 'copyRows' | 'timings'> & {
  source: ExportSource;
  timings: { workflowStartedAt: string; copyStartedAt: string; copyFinishedAt: string };
};

export interface FinishInput {
  storageProfile?: string;
  bucket: string;
  logicalTimeKey: string;
  attempt: number;
  copyRows: number;
  manifest: ManifestInput;
  /**
   * publish: manifest.json, the publication claim, `_SUCCESS`, then `_latest.json` when latestKey is given.
   * stage: verify and write manifest.json only; whoever stages several attempts commits them (a snapshot set).
   */
  commit: 'publish' | 'stage';
  /** The AS OF the run asked for (see InspectInput.asOf). */
  asOf?: string;
  latestKey?: string;
  completion: { pollInitialMs: number; pollMaxMs: number; timeoutSeconds: number };
}

/** The committed (or staged) manifest in a few fields: this, not the file list, is what history carries. */
export interface ManifestDigest {
  attempt: number;
  manifestKey: string;
  manifest: string;
  manifestEtag: string;
  manifestSha256: string;
  rows: number;
  files: number;
  bytes: number;
  verifiedAt: string;
  publishedAt: string;
}

export type FinishResult =
  | { outcome: 'published'; digest: ManifestDigest; latestUpdated: boolean; polls: number }
  | { outcome: 'staged'; digest: ManifestDigest; polls: number }
  /** Another attempt holds the publication claim: this one is never published. */
  | { outcome: 'lost'; winner: PublishedSummary }
  /** The sentinel stayed (failed), nothing was written (empty) or the sentinel outlived the completion timeout. */
  | { outcome: 'incomplete'; state: 'failed' | 'empty' | 'timed-out'; files: number; polls: number }
  /** Verification found problems (at most MAX_PROBLEMS, the last saying how many more). */
  | { outcome: 'rejected'; problems: string[] };

export interface CleanupInput {
  storageProfile?: string;
  bucket: string;
  logicalTimeKey: string;
  /** The cleaning run: an attempt whose claim names it is its own. */
  runId: string;
  /** copyEnded: the claiming run saw its COPY end (so the folder needs no quiet wait). */
  attempts: { attempt: number; copyEnded: boolean }[];
  quietSeconds: number;
  pollInitialMs: number;
  pollMaxMs: number;
}

export interface CleanupResult {
  attempts: { attempt: number; deleted: number; kept: number; note?: string }[];
}

export interface MaterializeCopyActivities {
  copyToS3(input: CopyToS3Input): Promise<CopyToS3Result>;
}

export interface S3ExportActivities {
  inspectExportAttempts(input: InspectInput): Promise<InspectResult>;
  finishExportAttempt(input: FinishInput): Promise<FinishResult>;
  cleanupExportAttempts(input: CleanupInput): Promise<CleanupResult>;
  updateLatestPointer(input: { bucket: string; storageProfile?: string; latestKey: string; pointer: LatestPointer }): Promise<{ updated: boolean }>;
}

export type ExportActivities = MaterializeCopyActivities & S3ExportActivities & SnapshotSetActivities;

/** A member as the set's claims and conflicts see it: a re-run of a published set must ask for the same members. */
export interface SetMemberSpec {
  name: string;
  source: ExportSource;
  format: ExportFormat;
}

export interface ChooseTimestampInput {
  materializeProfile: string;
  /** Checked against mz_clusters (an unknown one is a UserFixableError, before anything is written). */
  cluster?: string;
  sources: ExportSource[];
}

/** A published snapshot set as runs report it; `conflict` says why it does not answer this run's members. */
export interface SetPublicationSummary {
  attempt: number;
  manifest: string;
  manifestKey: string;
  materialize: MaterializeFacts;
  members: { name: string; manifest: string; rows: number; files: number; bytes: number }[];
  conflict?: string;
}

export interface FindSetPublicationInput {
  /** The set's S3-compatible store (its members' too); absent: AWS S3. */
  storageProfile?: string;
  bucket: string;
  /** `<prefix>/<set>/<logical time>`. */
  logicalTimeKey: string;
  members: SetMemberSpec[];
}

export interface CommitSetInput {
  storageProfile?: string;
  bucket: string;
  logicalTimeKey: string;
  /** Set when `_latest.json` should follow the set. */
  latestKey?: string;
  setName: string;
  logicalTime: string;
  /** Which timestamp of the run this is: a retry of the activity finds its own attempt claim by it. */
  setTry: number;
  materialize: MaterializeFacts;
  members: (SetMemberSpec & { manifestKey: string; manifestEtag: string; manifestSha256: string; rows: number; files: number; bytes: number })[];
  workflow: { namespace: string; workflowId: string; runId: string; taskQueue: string };
}

export type CommitSetResult =
  | { outcome: 'published'; attempt: number; manifest: string; manifestKey: string; latestUpdated: boolean }
  /** Another run published this logical time first; this run's set manifest was removed. */
  | { outcome: 'lost'; winner: SetPublicationSummary };

export interface SnapshotSetActivities {
  /** One timestamp every member can be read at (EXPLAIN TIMESTAMP over all members together), version and cluster. */
  chooseSnapshotTimestamp(input: ChooseTimestampInput): Promise<MaterializeFacts>;
  /** The published set of a logical time, if any (rolling `_SUCCESS` forward when its writer died before it). */
  findSnapshotSetPublication(input: FindSetPublicationInput): Promise<{ published?: SetPublicationSummary }>;
  /** Checks the staged members, then set-manifest.json, the publication claim, `_SUCCESS`, `_latest.json`. */
  commitSnapshotSet(input: CommitSetInput): Promise<CommitSetResult>;
}
