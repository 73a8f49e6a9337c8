/**
 * Custom search attributes this project sets on its workflows, so runs can be filtered the same way from the
 * CLI (`runs --export NAME`) and from the Temporal Web UI. The local dev server registers them at start;
 * on another cluster: `temporal operator search-attribute create --name <name> --type <type>` for each.
 * Pure data: workflows import it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  MzExportName: 'Keyword',
  MzLogicalTime: 'Datetime',
  MzConnection: 'Keyword',
  /** On schedules only: a digest of the definition the last apply wrote (client/schedules/digest.ts). */
  MzScheduleDigest: 'Keyword',
} as const;

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

/** Typed keys for the attributes above and Temporal's own schedule ones, defined once for workflows and client. */
export const MzExportName = defineSearchAttributeKey('MzExportName', SearchAttributeType.KEYWORD);
export const MzLogicalTime = defineSearchAttributeKey('MzLogicalTime', SearchAttributeType.DATETIME);
export const MzConnection = defineSearchAttributeKey('MzConnection', SearchAttributeType.KEYWORD);
export const MzScheduleDigest = defineSearchAttributeKey('MzScheduleDigest', SearchAttributeType.KEYWORD);
export const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
export const TemporalScheduledById = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);
