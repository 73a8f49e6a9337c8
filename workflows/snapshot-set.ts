/**
 * snapshotSet: several objects or queries exported AS OF one Materialize timestamp and published together.
 *
 *   choose one timestamp for all members -> each member a staged bulkExport (child workflow) AS OF it, a few at a
 *   time -> set-manifest.json -> publication claim -> _SUCCESS -> _latest.json -> with notify, one event
 *
 * The run's steps live in SnapshotSetRun (snapshot-set-run.ts); this file validates the input, resolves the
 * logical time, registers the query and the search attributes. Deterministic code only.
 */
import { isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import { applicationFailure } from '../common/failures';
import { resolveSnapshotSetInput, type ResolvedSnapshotSetInput, type SnapshotSetInput, type SnapshotSetResult } from '../common/export/snapshot-set';
import { MzConnection as MZ_CONNECTION, MzExportName as MZ_EXPORT_NAME, MzLogicalTime as MZ_LOGICAL_TIME } from '../common/search-attributes';
import { snapshotSetProgressQuery } from './export-messages';
import { announceSetPublication } from './publication-events';
import { pauseOwnScheduleAfterFailure, resolveLogicalTime, upsertMissingSearchAttributes } from './run-context';
import { SnapshotSetRun } from './snapshot-set-run';

export async function snapshotSet(rawInput: SnapshotSetInput): Promise<SnapshotSetResult> {
  let input: ResolvedSnapshotSetInput;
  try {
    input = resolveSnapshotSetInput(rawInput);
  } catch (e) {
    throw applicationFailure('InvalidInputError', (e as Error).message);
  }
  const info = workflowInfo();
  const run = new SnapshotSetRun(input, resolveLogicalTime(input.logicalTime, info));
  setHandler(snapshotSetProgressQuery, () => run.snapshot());
  upsertMissingSearchAttributes(info, [
    { key: MZ_EXPORT_NAME, value: input.setName },
    { key: MZ_LOGICAL_TIME, value: new Date(run.logicalTime) },
    { key: MZ_CONNECTION, value: input.connectionName },
  ]);
  try {
    const result = await run.execute();
    // One event for the published set (its members are staged, never announced), after its _SUCCESS; a failed
    // announcement is reported, never undone. Only inputs with notify reach it, so older histories replay as before.
    if (input.notify) result.notifications = await announceSetPublication(input, result);
    return result;
  } catch (err) {
    if (!isCancellation(err)) await pauseOwnScheduleAfterFailure(info);
    throw err;
  }
}
