/** bulkExport's queries. Pure definitions: the CLI, the schedule code and tests import them too. */
import { defineQuery } from '@temporalio/workflow';
import type { ExportProgress } from '../common/export/types';
import type { SnapshotSetProgress } from '../common/export/snapshot-set';

/** Phase, attempt, rows, files, bytes, elapsed time and the attempts so far. */
export const progressQuery = defineQuery<ExportProgress>('progress');

/** snapshotSet's progress (the same query name, so `status` asks any export run the same way). */
export const snapshotSetProgressQuery = defineQuery<SnapshotSetProgress>('progress');
