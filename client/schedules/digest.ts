/**
 * A digest of the definition apply writes for one schedule, stored on the schedule as the search attribute
 * MzScheduleDigest. ListSchedules returns every schedule's search attributes, memo, spec and pause state a page
 * of up to 1,000 at a time, so a re-apply compares the file against the whole namespace in a few calls instead of
 * describing each schedule. Why a search attribute and not the memo: Temporal refuses memo updates on
 * workflow-backed schedules ("memo updates are not supported on workflow-backed schedules"), while UpdateSchedule
 * replaces search attributes.
 *
 * The digest covers the ScheduleOptions built from the entry (spec, action with its input, policies, pause state,
 * the file's note), whatever kind of entry built them: any change to what apply would write changes it.
 */
import { createHash } from 'node:crypto';
import type { ScheduleUpdateOptions } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { MzScheduleDigest } from '../../common/search-attributes';

/** Bumped when the shape of what is hashed changes, so old digests never match by accident. */
const DIGEST_VERSION = 'v1';

export function definitionDigest(options: ScheduleUpdateOptions): string {
  return `${DIGEST_VERSION}:${createHash('sha256').update(canonicalJson(withoutDigest(options))).digest('base64url')}`;
}

/** The options with `digest` as the schedule's MzScheduleDigest search attribute (not the action's). */
export function stampDigest<T extends { typedSearchAttributes?: unknown }>(options: T, digest: string): T {
  const plain = withoutDigest(options);
  return { ...plain, typedSearchAttributes: [...((plain.typedSearchAttributes as SearchAttributePair[] | undefined) ?? []), { key: MzScheduleDigest, value: digest }] };
}

/**
 * A digest of what a schedule set holds: each schedule's id with its definition digest (order-free). An apply
 * records it for what it left (reconcile.ts applyFile); the list gives the same once it has caught up with that apply.
 */
export function setDigest(schedules: Iterable<[id: string, digest: string | undefined]>): string {
  const lines = [...schedules].map(([id, digest]) => `${id}=${digest ?? ''}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('base64url');
}

/** True for a digest of the current version (whatever definition it was taken of). */
export function isCurrentDigest(digest: string | undefined): boolean {
  return digest?.startsWith(`${DIGEST_VERSION}:`) ?? false;
}

/** The digest a listed or described schedule carries, if any. */
export function digestOf(schedule: { typedSearchAttributes?: { get(key: typeof MzScheduleDigest): string | undefined } }): string | undefined {
  return schedule.typedSearchAttributes?.get(MzScheduleDigest);
}

function withoutDigest<T extends { typedSearchAttributes?: unknown }>(options: T): T {
  const pairs = options.typedSearchAttributes as SearchAttributePair[] | undefined;
  if (!Array.isArray(pairs)) return options;
  return { ...options, typedSearchAttributes: pairs.filter((p) => p.key.name !== MzScheduleDigest.name) };
}

/**
 * JSON with object keys sorted and undefined dropped (so equal values give equal text), functions by name (a
 * workflow given by reference is its type name).
 */
export function canonicalJson(v: unknown): string {
  return (
    JSON.stringify(v, (_k, value: unknown) => {
      if (typeof value === 'function') return value.name;
      if (value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
        return Object.fromEntries(
          Object.entries(value as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([x], [y]) => (x < y ? -1 : 1)),
        );
      }
      return value;
    }) ?? 'undefined'
  );
}
