/**
 * The retention rule and the expireExports input, checked in one go (every problem listed, each naming its
 * field). Pure: the workflow runs it first, the CLI and the schedule file before anything starts.
 */
import { bucketNameProblem, checkField, normalizePrefix, prefixProblem } from '../aws-names';
import { parseDuration } from '../duration';
import { exportNameProblem } from '../export/input';
import { parseLogicalTimeFolder } from '../export/paths';
import { Problems } from '../failures';
import { storageProfileProblem } from '../storage-profile';
import type { ExpireInput, ResolvedExpireInput, ResolvedExpiryTarget, RetentionRule } from './types';

export const EXPIRE_DEFAULTS = { recentWriteSeconds: 3600, maxKeepLast: 100_000 } as const;

const RULE_FIELDS = ['keepLast', 'keepWithin'];
const TARGET_FIELDS = ['bucket', 'prefix', 'storageProfile', 'name', ...RULE_FIELDS];
const INPUT_FIELDS = ['targets', 'apply', 'confirmed', 'recentWriteSeconds'];

/**
 * A retention rule's problems, added under `field` (e.g. `retention` or `targets[0]`); its keepWithin in ms.
 * Unknown fields are the caller's to report (it knows which fields sit beside the rule).
 */
export function checkRetentionRule(raw: RetentionRule, field: string, problems: Problems): { keepWithinMs?: number } {
  if (raw.keepLast === undefined && raw.keepWithin === undefined) {
    problems.add(field, 'give keepLast (the newest N logical times to keep), keepWithin (a duration such as 30d), or both');
  }
  if (raw.keepLast !== undefined && (!Number.isInteger(raw.keepLast) || raw.keepLast < 1 || raw.keepLast > EXPIRE_DEFAULTS.maxKeepLast)) {
    problems.add(`${field}.keepLast`, `${JSON.stringify(raw.keepLast)} must be a whole number from 1 to ${EXPIRE_DEFAULTS.maxKeepLast}`);
  }
  if (raw.keepWithin === undefined) return {};
  const d = parseDuration(raw.keepWithin);
  if ('problem' in d) {
    problems.add(`${field}.keepWithin`, d.problem);
    return {};
  }
  // Zero would keep nothing younger than now: a typo would expire everything but what keepLast holds.
  if (d.ms < 60_000) problems.add(`${field}.keepWithin`, `"${raw.keepWithin}" must be at least 1m`);
  return { keepWithinMs: d.ms };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownFields(obj: Record<string, unknown>, known: string[], field: string, problems: Problems): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) problems.add(field ? `${field}.${key}` : key, `is not a field here (known: ${known.join(', ')})`);
  }
}

export function resolveExpireInput(raw: unknown): ResolvedExpireInput {
  const problems = new Problems();
  if (!isObject(raw)) {
    problems.add('input', 'must be one JSON object, e.g. {"targets": [{"bucket": "...", "prefix": "...", "name": "...", "keepLast": 30}]}');
    problems.throwIfAny('the expiry input');
  }
  const input = raw as ExpireInput & Record<string, unknown>;
  unknownFields(input, INPUT_FIELDS, '', problems);
  const targets: ResolvedExpiryTarget[] = [];
  if (!Array.isArray(input.targets) || input.targets.length === 0 || input.targets.length > 1000) {
    problems.add('targets', 'must be a list of 1 to 1000 {bucket, prefix, name, keepLast and/or keepWithin, and storageProfile for an S3-compatible store}');
  } else {
    const seen = new Set<string>();
    input.targets.forEach((t: unknown, i: number) => {
      const field = `targets[${i}]`;
      if (!isObject(t)) return problems.add(field, 'must be an object {bucket, prefix, name, keepLast and/or keepWithin}');
      unknownFields(t, TARGET_FIELDS, field, problems);
      const before = problems.list.length;
      checkField(problems, `${field}.bucket`, bucketNameProblem(t.bucket));
      checkField(problems, `${field}.prefix`, prefixProblem(t.prefix));
      checkField(problems, `${field}.name`, exportNameProblem(t.name));
      if (t.storageProfile !== undefined) checkField(problems, `${field}.storageProfile`, storageProfileProblem(t.storageProfile));
      const { keepWithinMs } = checkRetentionRule(t as RetentionRule, field, problems);
      if (problems.list.length > before) return;
      const target: ResolvedExpiryTarget = {
        bucket: t.bucket as string,
        prefix: normalizePrefix(t.prefix as string),
        name: t.name as string,
        ...(t.storageProfile !== undefined ? { storageProfile: t.storageProfile as string } : {}),
        ...(t.keepLast !== undefined ? { keepLast: t.keepLast as number } : {}),
        ...(t.keepWithin !== undefined ? { keepWithin: t.keepWithin as string, keepWithinMs } : {}),
      };
      const id = `${target.storageProfile !== undefined ? `storage profile ${target.storageProfile}: ` : ''}s3://${target.bucket}/${target.prefix}/${target.name}/`;
      if (seen.has(id)) return problems.add(`${field}.name`, `${id} is already a target; give each export once`);
      seen.add(id);
      targets.push(target);
    });
  }
  if (input.apply !== undefined && typeof input.apply !== 'boolean') problems.add('apply', 'must be true or false');
  if (input.confirmed !== undefined) {
    if (!Array.isArray(input.confirmed) || input.confirmed.some((c) => typeof c !== 'string' || !c.startsWith('s3://') || c.length > 2000)) {
      problems.add('confirmed', 'must be a list of folder URIs, s3://bucket/prefix/name/<logical time>/, as a plan printed them');
    } else if (!input.apply) problems.add('confirmed', 'applies only with "apply": true');
    else input.confirmed.forEach((c: string, i: number) => checkField(problems, `confirmed[${i}]`, confirmedFolderProblem(c, targets)));
  }
  // null is not "the default": a form that sends null meant something else; only a missing field is.
  const recentWriteSeconds = input.recentWriteSeconds === undefined ? EXPIRE_DEFAULTS.recentWriteSeconds : input.recentWriteSeconds;
  if (!Number.isInteger(recentWriteSeconds) || recentWriteSeconds < 0 || recentWriteSeconds > 30 * 86400) {
    problems.add('recentWriteSeconds', `${JSON.stringify(input.recentWriteSeconds)} must be a whole number of seconds from 0 to 2592000 (30 days)`);
  }
  problems.throwIfAny('the expiry input');
  return {
    targets,
    apply: input.apply ?? false,
    ...(input.confirmed ? { confirmed: input.confirmed } : {}),
    recentWriteSeconds,
  };
}

/**
 * A confirmed folder must be one a plan of these very targets can print: `s3://<bucket>/<prefix>/<name>/<logical
 * time>/`. Confirming never widens a deletion (only folders the fresh plan lists go), but a URI of another bucket
 * or prefix, or one with '..', means the user confirmed something else than they think: say so before anything.
 */
function confirmedFolderProblem(uri: string, targets: ResolvedExpiryTarget[]): string | undefined {
  const target = targets.find((t) => uri.startsWith(`s3://${t.bucket}/${t.prefix}/${t.name}/`));
  if (!target) {
    const bucket = /^s3:\/\/([^/]*)/.exec(uri)?.[1] ?? '';
    const where = targets.some((t) => t.bucket === bucket) ? 'prefix and name' : `bucket "${bucket}"`;
    return `"${uri}" is not a folder of any target (its ${where} matches none): confirm only folders a plan of these targets printed, s3://<bucket>/<prefix>/<name>/<logical time>/`;
  }
  const folder = uri.slice(`s3://${target.bucket}/${target.prefix}/${target.name}/`.length);
  if (!/^[^/]+\/$/.test(folder) || parseLogicalTimeFolder(folder.slice(0, -1)) === undefined) {
    return `"${uri}" must end in one logical-time folder and '/', e.g. s3://${target.bucket}/${target.prefix}/${target.name}/20240501T000000.000Z/`;
  }
  return undefined;
}

/** A rule for messages and plans: "the last 7 and everything younger than 30d". */
export function describeRule(rule: RetentionRule): string {
  const parts = [
    rule.keepLast !== undefined ? `the last ${rule.keepLast} published logical time(s)` : undefined,
    rule.keepWithin !== undefined ? `every logical time younger than ${rule.keepWithin}` : undefined,
  ].filter(Boolean);
  return `keep ${parts.join(' and ')}`;
}
