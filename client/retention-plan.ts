/** Text forms of an expiry plan and of what an applied expiry did, for the terminal. */
import { describeRule } from '../common/retention/input';
import { folderUri } from '../common/retention/plan';
import type { ExpireResult, TargetPlan } from '../common/retention/types';

export function formatExpiryPlan(result: ExpireResult): string {
  const lines: string[] = [`Expiry plan (listed at ${result.plannedAt}):`];
  for (const p of result.plans) {
    const store = p.storageProfile !== undefined ? ` (storage profile ${p.storageProfile})` : '';
    lines.push(`  s3://${p.bucket}/${p.prefix}/${p.name}/${store}: ${describeRule(p.rule)}; ${p.folders} logical-time folder(s)`);
    for (const d of p.delete) lines.push(`    - delete ${folderUri(p.bucket, d.key)}  ${d.objects} objects, ${d.bytes} bytes; ${d.why}`);
    if (p.deferred) lines.push(`    ... and ${p.deferred} older folder(s), planned again after these are deleted`);
    for (const d of p.protected) lines.push(`    = keep   ${folderUri(p.bucket, d.key)}  ${d.why}`);
    lines.push(`    ${p.delete.length + p.deferred} to delete (${p.bytesToDelete} bytes listed), ${p.kept} kept`);
  }
  return lines.join('\n');
}

export function foldersToDelete(result: ExpireResult): string[] {
  return result.plans.flatMap((p: TargetPlan) => p.delete.map((d) => folderUri(p.bucket, d.key)));
}

export function formatExpiryOutcome(result: ExpireResult): string {
  const lines = [`Deleted ${result.foldersDeleted} folder(s), ${result.objectsDeleted} objects.`];
  for (const f of result.deleted.filter((d) => d.skipped)) lines.push(`  left ${f.key}/: ${f.skipped}`);
  return lines.join('\n');
}
