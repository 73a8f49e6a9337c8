/**
 * bulkExport: one verified, published export of a Materialize object or query to S3 for one logical time.
 *
 *   COPY into <prefix>/<exportName>/<logical time>/attempt-NNN (a fresh, claimed folder per attempt)
 *   -> wait until Materialize's sentinel is gone -> verify -> manifest.json -> publication claim -> _SUCCESS
 *   -> _latest.json (only ever forward)
 *
 * The run's state and steps live in ExportRun (export-run.ts); this file validates the input, resolves the
 * logical time, registers the query and the search attributes. Deterministic code only.
 */
import { isCancellation, setHandler, workflowInfo } from '@temporalio/workflow';
import { applicationFailure } from '../common/failures';
import { resolveExportInput, type ResolvedExportInput } from '../common/export/input';
import type { BulkExportInput, BulkExportResult } from '../common/export/types';
import { progressQuery } from './export-messages';
import { ExportRun } from './export-run';
import { announcePublication } from './publication-events';
import { pauseOwnScheduleAfterFailure, resolveLogicalTime, upsertMissingSearchAttributes } from './run-context';
import { MzConnection as MZ_CONNECTION, MzExportName as MZ_EXPORT_NAME, MzLogicalTime as MZ_LOGICAL_TIME } from '../common/search-attributes';

export async function bulkExport(rawInput: BulkExportInput): Promise<BulkExportResult> {
  let input: ResolvedExportInput;
  try {
    input = resolveExportInput(rawInput);
  } catch (e) {
    throw applicationFailure('InvalidInputError', (e as Error).message);
  }
  const info = workflowInfo();
  const run = new ExportRun(input, resolveLogicalTime(input.logicalTime, info));
  setHandler(progressQuery, () => run.snapshot());
  upsertMissingSearchAttributes(info, [
    { key: MZ_EXPORT_NAME, value: input.exportName },
    { key: MZ_LOGICAL_TIME, value: new Date(run.logicalTime) },
    { key: MZ_CONNECTION, value: input.connectionName },
  ]);
  try {
    const result = await run.execute();
    // Announced only once published (a staged member publishes nothing); a failed announcement is reported, never undone.
    if (input.notify && input.commit === 'publish') result.notifications = await announcePublication(input, result);
    return result;
  } catch (err) {
    if (!isCancellation(err)) await pauseOwnScheduleAfterFailure(info);
    throw err;
  }
}
