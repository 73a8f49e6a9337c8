/**
 * Retention: which logical-time folders of an export (or a snapshot set) to keep, and the expireExports
 * workflow's input, result and activity contract. Types only, free of Node (workflows import them).
 */

/** How much of one export's history to keep; a folder stays when any rule keeps it. At least one rule. */
export interface RetentionRule {
  /** Keep the newest N published logical times, and every folder newer than the Nth (failed or running ones too). */
  keepLast?: number;
  /** Keep every logical time younger than this duration (30d, 12h, 1d12h), measured from the run's start. */
  keepWithin?: string;
}

/** One export (or snapshot set) under s3://<bucket>/<prefix>/<name>/ and its rule. */
export interface ExpiryTarget extends RetentionRule {
  bucket: string;
  prefix: string;
  /** The bucket's S3-compatible store (the worker's storage profile, docs/s3-compatible.md); absent: AWS S3. */
  storageProfile?: string;
  /** The export or set name: the folder under the prefix. */
  name: string;
}

/** The expireExports workflow's input (one JSON object: the Web UI's start form takes the same). */
export interface ExpireInput {
  targets: ExpiryTarget[];
  /** Delete what the plan says; without it the run only plans (the default: nothing is deleted). */
  apply?: boolean;
  /**
   * With apply: delete only these folders (s3://bucket/prefix/name/<logical time>/), as a plan the user saw
   * listed them; a folder the fresh plan keeps stays anyway. The CLI passes the plan it printed.
   */
  confirmed?: string[];
  /**
   * Folders with an object written this recently are kept: an export (or a backfill) may be writing there.
   * Default 3600 (0 turns the guard off, e.g. in tests).
   */
  recentWriteSeconds?: number;
}

export type ResolvedExpiryTarget = Required<Pick<ExpiryTarget, 'bucket' | 'prefix' | 'name'>> &
  Pick<ExpiryTarget, 'storageProfile'> &
  RetentionRule & { keepWithinMs?: number };

export interface ResolvedExpireInput {
  targets: ResolvedExpiryTarget[];
  apply: boolean;
  confirmed?: string[];
  recentWriteSeconds: number;
}

/** What a listing shows of one logical-time folder (aggregated, so a plan stays small whatever the file count). */
export interface FolderFacts {
  /** ISO logical time, e.g. 2024-05-01T00:00:00.000Z. */
  logicalTime: string;
  /** <prefix>/<name>/<logical time folder> (no trailing slash). */
  key: string;
  objects: number;
  bytes: number;
  /** A publication claim, or (older layouts) an attempt folder with `_SUCCESS`. */
  published: boolean;
  /** The newest LastModified of its objects (ISO). */
  lastWrittenAt: string;
  /**
   * A snapshot set's members of this logical time, `<prefix>/<set>/members/<member>/<logical time>`: they go
   * with the set's folder (their objects are counted in it).
   */
  memberFolders?: string[];
}

export type KeepReason = 'keep-last' | 'keep-within' | 'latest' | 'set-reference' | 'recent-write';

export interface FolderDecision extends FolderFacts {
  action: 'keep' | 'delete';
  /** Why it stays (every rule that keeps it); empty for a deletion. */
  kept: KeepReason[];
  /** One line for people: why it stays or goes. */
  why: string;
}

/** The plan for one target: what goes, and what stays for a reason worth showing. */
export interface TargetPlan {
  bucket: string;
  prefix: string;
  /** The bucket's S3-compatible store; absent: AWS S3. */
  storageProfile?: string;
  name: string;
  rule: RetentionRule;
  folders: number;
  /** Folders to delete, oldest first (at most MAX_DELETIONS_PER_PLAN; `deferred` counts the rest). */
  delete: FolderDecision[];
  deferred: number;
  /** Folders kept although no rule would keep them: named by _latest.json, a set manifest, or written to recently. */
  protected: FolderDecision[];
  kept: number;
  bytesToDelete: number;
}

export interface PlanExpiryInput {
  /** The bucket's S3-compatible store; absent: AWS S3. The same in DeleteFoldersInput. */
  storageProfile?: string;
  bucket: string;
  prefix: string;
  targets: { name: string; keepLast?: number; keepWithinMs?: number; keepWithin?: string }[];
  /** The run's clock (workflow time), so a plan is computed against one instant. */
  nowMs: number;
  recentWriteSeconds: number;
}

export interface PlanExpiryResult {
  plannedAt: string;
  /** Objects listed under the prefix, and set manifests read for references. */
  objectsListed: number;
  setManifestsRead: number;
  plans: TargetPlan[];
}

export interface DeleteFoldersInput {
  storageProfile?: string;
  bucket: string;
  /** <prefix>/<name>/_latest.json: read again before each folder, whose logical time it must not name. */
  latestKey: string;
  folders: { key: string; logicalTime: string; lastWrittenAt: string; memberFolders?: string[] }[];
}

export interface DeletedFolder {
  key: string;
  deleted: number;
  /** Why the folder was left as it is (it changed since the plan, or _latest.json now names it). */
  skipped?: string;
}

export interface RetentionActivities {
  planExpiry(input: PlanExpiryInput): Promise<PlanExpiryResult>;
  deleteExpiredFolders(input: DeleteFoldersInput): Promise<{ folders: DeletedFolder[] }>;
}

export interface ExpireResult {
  mode: 'plan' | 'apply';
  plannedAt: string;
  plans: TargetPlan[];
  /** apply only: what was deleted and what was left because it changed since the plan. */
  deleted: DeletedFolder[];
  foldersDeleted: number;
  objectsDeleted: number;
  skipped: number;
}

export interface ExpireProgress {
  phase: 'planning' | 'deleting' | 'done';
  message: string;
  foldersDeleted: number;
  foldersToDelete: number;
}
