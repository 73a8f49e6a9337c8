/** bulkExport's queries. Pure definitions: the CLI, the schedule code and tests import them too. */
import { defineQuery } from '@temporalio/workflow';
import type { ExportProgress } from '../common/export/types';

/** Phase, attempt, rows, files, bytes, elapsed time and the attempts so far. */
export const progressQuery = defineQuery<ExportProgress>('progress');
