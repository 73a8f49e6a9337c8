/**
 * The expiry plan as pure functions: group a prefix's listing into logical-time folders, find what set manifests
 * reference, and decide per folder. The activity feeds S3 listings in; tests feed made-up ones.
 *
 *   <prefix>/<name>/<logical time>/...                   an export's (or a set's) logical-time folder
 *   <prefix>/<name>/<logical time>/_claims/publication.json   makes it published
 *   <prefix>/<set>/<logical time>/attempt-NNN/set-manifest.json  a set manifest: every export folder it names stays
 *   <prefix>/<set>/members/<member>/<logical time>/...     a set's member exports: part of the set's logical time
 */
import { CLAIMS_FOLDER, SUCCESS_FILE, parseAttemptFolder, parseLogicalTimeFolder } from '../export/paths';
import { describeRule } from './input';
import type { FolderDecision, FolderFacts, KeepReason, ResolvedExpiryTarget, TargetPlan } from './types';

/** A plan carries at most this many deletions (history stays small); the workflow plans again for the rest. */
export const MAX_DELETIONS_PER_PLAN = 500;
export const SET_MANIFEST_FILE = 'set-manifest.json';
/** Under `<prefix>/<set>/`, the folder of the set's member exports (never a logical-time folder name). */
export const SET_MEMBERS_FOLDER = 'members';

export interface ListedObject {
  key: string;
  size: number;
  lastModifiedMs: number;
}

/** Folder facts by `<name>/<logical time folder>`, for the names asked about; set manifests under any name. */
export class PrefixIndex {
  readonly folders = new Map<string, FolderFacts & { lastWrittenMs: number }>();
  readonly setManifests: string[] = [];
  objects = 0;

  constructor(
    private readonly prefix: string,
    private readonly names: ReadonlySet<string>,
  ) {}

  add(o: ListedObject): void {
    this.objects++;
    if (!o.key.startsWith(`${this.prefix}/`)) return;
    const parts = o.key.slice(this.prefix.length + 1).split('/');
    if (parts.length >= 3 && parts[parts.length - 1] === SET_MANIFEST_FILE) this.setManifests.push(o.key);
    const name = parts[0];
    if (parts.length < 3 || !this.names.has(name)) return;
    // A set member's folder counts as part of the set's folder of the same logical time, and goes with it.
    const member = parts[1] === SET_MEMBERS_FOLDER && parts.length >= 5 ? parts[2] : undefined;
    const folder = member === undefined ? parts[1] : parts[3];
    const logicalTime = parseLogicalTimeFolder(folder);
    if (!logicalTime) return; // `_latest.json`, or something that is not ours: never expired
    const id = `${name}/${folder}`;
    let f = this.folders.get(id);
    if (!f) {
      f = { logicalTime, key: `${this.prefix}/${id}`, objects: 0, bytes: 0, published: false, lastWrittenAt: '', lastWrittenMs: 0 };
      this.folders.set(id, f);
    }
    f.objects++;
    f.bytes += o.size;
    if (o.lastModifiedMs > f.lastWrittenMs) f.lastWrittenMs = o.lastModifiedMs;
    if (member !== undefined) {
      const memberFolder = `${this.prefix}/${name}/${SET_MEMBERS_FOLDER}/${member}/${folder}`;
      if (!f.memberFolders?.includes(memberFolder)) f.memberFolders = [...(f.memberFolders ?? []), memberFolder];
      return;
    }
    const rest = parts.slice(2).join('/');
    if (rest === `${CLAIMS_FOLDER}/publication.json` || (parts.length === 4 && parts[3] === SUCCESS_FILE && parseAttemptFolder(parts[2]) !== undefined)) {
      f.published = true;
    }
  }

  foldersOf(name: string): FolderFacts[] {
    const out: FolderFacts[] = [];
    for (const [id, f] of this.folders) {
      if (!id.startsWith(`${name}/`)) continue;
      const { lastWrittenMs, ...facts } = f;
      out.push({ ...facts, lastWrittenAt: new Date(lastWrittenMs).toISOString() });
    }
    return out;
  }
}

/**
 * The `<name>/<logical time>` folders a set manifest refers to: every string in it that is a key or s3:// URI
 * under the prefix, whatever field holds it (member manifest keys, file URIs). The set's own folder is left out,
 * or a set would keep itself forever.
 */
export function setManifestReferences(manifest: unknown, bucket: string, prefix: string, manifestKey: string): { name: string; logicalTime: string }[] {
  const own = manifestKey.slice(prefix.length + 1).split('/').slice(0, 2).join('/');
  const found = new Map<string, { name: string; logicalTime: string }>();
  const visit = (v: unknown, depth: number): void => {
    if (depth > 20) return;
    if (typeof v === 'string') {
      const key = v.startsWith(`s3://${bucket}/`) ? v.slice(`s3://${bucket}/`.length) : v;
      if (!key.startsWith(`${prefix}/`)) return;
      const [name, folder] = key.slice(prefix.length + 1).split('/');
      const logicalTime = folder ? parseLogicalTimeFolder(folder) : undefined;
      if (logicalTime && `${name}/${folder}` !== own) found.set(`${name}/${folder}`, { name, logicalTime });
    } else if (Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
    else if (v && typeof v === 'object') Object.values(v).forEach((x) => visit(x, depth + 1));
  };
  visit(manifest, 0);
  return [...found.values()];
}

/** Why a folder stays although no rule keeps it, by logical time. */
export type Protections = Map<string, { reason: Extract<KeepReason, 'latest' | 'set-reference'>; why: string }[]>;

/** The decision for every folder of one target. Pure: the same listing, protections and clock give the same plan. */
export function planTarget(
  target: Pick<ResolvedExpiryTarget, 'bucket' | 'prefix' | 'storageProfile' | 'name' | 'keepLast' | 'keepWithin' | 'keepWithinMs'>,
  folders: FolderFacts[],
  protections: Protections,
  nowMs: number,
  recentWriteSeconds: number,
): TargetPlan {
  const newestFirst = [...folders].sort((a, b) => (a.logicalTime < b.logicalTime ? 1 : a.logicalTime > b.logicalTime ? -1 : 0));
  const published = newestFirst.filter((f) => f.published);
  // keepLast N keeps the N newest published logical times and everything newer than the Nth (runs in flight,
  // failed ones a retry may still publish); with fewer than N published it keeps everything.
  const boundary = target.keepLast !== undefined && published.length >= target.keepLast ? published[target.keepLast - 1].logicalTime : undefined;
  const decisions: FolderDecision[] = newestFirst.map((f) => {
    const kept: KeepReason[] = [];
    const whys: string[] = [];
    if (target.keepLast !== undefined && (boundary === undefined || f.logicalTime >= boundary)) kept.push('keep-last');
    if (target.keepWithinMs !== undefined && Date.parse(f.logicalTime) > nowMs - target.keepWithinMs) kept.push('keep-within');
    for (const p of protections.get(f.logicalTime) ?? []) {
      if (!kept.includes(p.reason)) kept.push(p.reason);
      whys.push(p.why);
    }
    if (Date.parse(f.lastWrittenAt) > nowMs - recentWriteSeconds * 1000) {
      kept.push('recent-write');
      whys.push(`written to at ${f.lastWrittenAt}, within the last ${recentWriteSeconds} s: an export may be writing there`);
    }
    if (kept.includes('keep-last')) whys.unshift(`within the last ${target.keepLast}`);
    if (kept.includes('keep-within')) whys.unshift(`younger than ${target.keepWithin}`);
    const state = f.published ? 'published' : 'never published';
    return {
      ...f,
      action: kept.length ? 'keep' : 'delete',
      kept,
      why: kept.length ? `kept: ${whys.join('; ')}` : `${state}; older than what the rule keeps (${describeRule(target)})`,
    };
  });
  const doomed = decisions.filter((d) => d.action === 'delete').reverse(); // oldest first
  const shown = doomed.slice(0, MAX_DELETIONS_PER_PLAN);
  return {
    bucket: target.bucket,
    prefix: target.prefix,
    ...(target.storageProfile !== undefined ? { storageProfile: target.storageProfile } : {}),
    name: target.name,
    rule: { ...(target.keepLast !== undefined ? { keepLast: target.keepLast } : {}), ...(target.keepWithin !== undefined ? { keepWithin: target.keepWithin } : {}) },
    folders: decisions.length,
    delete: shown,
    deferred: doomed.length - shown.length,
    protected: decisions.filter((d) => d.action === 'keep' && !d.kept.includes('keep-last') && !d.kept.includes('keep-within')),
    kept: decisions.length - doomed.length,
    bytesToDelete: shown.reduce((s, d) => s + d.bytes, 0),
  };
}

/** s3://bucket/<folder key>/: how plans name folders and how `confirmed` lists them. */
export function folderUri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}/`;
}
