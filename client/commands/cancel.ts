/**
 * `mz-s3-export cancel`: cancels a run, by workflow id or by export name and logical time, and waits until it
 * has closed. bulkExport handles the cancellation itself (workflows/export.ts): the COPY activity sends pg's
 * cancel request (closing the session when that is ignored), the workflow waits until the COPY has stopped,
 * removes what that attempt wrote, and only then closes as cancelled; so when this command returns, nothing of
 * the attempt is left running or lying in S3.
 */
import { CancelledFailure, WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { InvalidInputError } from '../../common/failures';
import { exportNameProblem } from '../../common/export/input';
import { parseLogicalTime } from '../../common/export/logical-time';
import type { ExportProgress } from '../../common/export/types';
import { progressQuery } from '../../workflows/export-messages';
import { COMMON_OPTIONS, CliError, expectPositionals, stringFlag, UsageError, type OptionSpecs, type ParsedArgs } from '../args';
import { formatRunFailure, runFailure, stopWaitingOnInterrupt } from '../follow';
import { EXPORT_WORKFLOW_TYPE, MzLogicalTime } from '../schedules/model';
import { withTemporalClient } from '../temporal';
import { livePollers, missingWorkerText } from '../worker-check';

export const usage = `cancel WORKFLOW_ID | --export NAME --logical-time ISO [--no-wait] [--json]
                                                            cancel a run and wait until its COPY stopped and its attempt is cleaned`;

export const options: OptionSpecs = {
  export: { type: 'string', value: 'NAME', help: 'cancel the running export of this name...' },
  'logical-time': { type: 'string', value: 'ISO', help: '...for this logical time' },
  'no-wait': { type: 'boolean', help: 'only request the cancellation' },
  json: COMMON_OPTIONS.json,
};

export interface CancelOutcome {
  workflowId: string;
  /** The state the run closed in (CANCELLED, or COMPLETED/FAILED when it ended before the request reached it). */
  state: string;
  /** bulkExport only: files of the cancelled attempt that were removed. */
  cleanedFiles?: number;
  message: string;
}

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 2, 'cancel takes one workflow id, or --export and --logical-time');
  const json = Boolean(args.flags.json);
  await withTemporalClient(async (client) => {
    const ids = await runsToCancel(client, args);
    const outcomes: CancelOutcome[] = [];
    for (const workflowId of ids) {
      const handle = client.workflow.getHandle(workflowId);
      const state = (await handle.describe()).status.name;
      if (state !== 'RUNNING') {
        outcomes.push({ workflowId, state, message: `${workflowId} is already ${state}; nothing to cancel` });
        continue;
      }
      await handle.cancel();
      if (args.flags['no-wait']) {
        outcomes.push({ workflowId, state: 'RUNNING', message: `cancellation of ${workflowId} requested; 'mz-s3-export status ${workflowId}' shows when it closed` });
        continue;
      }
      if (!json) console.error(`cancellation of ${workflowId} requested; waiting until the COPY has stopped and the attempt is cleaned...`);
      outcomes.push(await stopWaitingOnInterrupt(workflowId, () => waitUntilClosed(client, handle)));
    }
    if (json) console.log(JSON.stringify(outcomes, null, 2));
    else for (const o of outcomes) console.log(o.message);
    if (outcomes.some((o) => o.state !== 'CANCELLED' && o.state !== 'RUNNING')) process.exitCode = 1;
  });
}

/** The workflow id given, or the running exports of --export at --logical-time (a schedule and a person may both run one). */
async function runsToCancel(client: Client, args: ParsedArgs): Promise<string[]> {
  const id = args.positionals[1];
  const exportName = stringFlag(args, 'export');
  const logicalTime = stringFlag(args, 'logical-time');
  if (id) {
    if (exportName || logicalTime) throw new UsageError('give either a workflow id or --export with --logical-time, not both');
    try {
      await client.workflow.getHandle(id).describe();
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) throw new InvalidInputError(`no workflow ${id} in namespace ${client.options.namespace}; 'mz-s3-export runs' lists recent ones`);
      throw e;
    }
    return [id];
  }
  if (!exportName || !logicalTime) throw new UsageError("cancel needs a workflow id, or --export NAME with --logical-time ISO ('mz-s3-export runs' lists both)");
  const nameProblem = exportNameProblem(exportName);
  if (nameProblem) throw new UsageError(`--export: ${nameProblem}`);
  const parsed = parseLogicalTime(logicalTime);
  if ('problem' in parsed) throw new UsageError(`--logical-time: ${parsed.problem}`);
  // Both values were validated above, so nothing raw reaches the visibility query. The logical time is compared
  // here, not in the query: the dev server's SQLite visibility compares datetimes as text, in Go's format.
  const wanted = parsed.ms;
  const query = `WorkflowType = '${EXPORT_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND MzExportName = '${exportName}'`;
  const ids: string[] = [];
  for await (const info of client.workflow.list({ query })) {
    if (info.typedSearchAttributes.get(MzLogicalTime)?.getTime() === wanted) ids.push(info.workflowId);
  }
  if (!ids.length) {
    throw new CliError(`no running export ${exportName} at ${new Date(wanted).toISOString()}; 'mz-s3-export runs --export ${exportName}' lists its runs`);
  }
  return ids;
}

/** Waits for the run to close, noting when no worker is there to carry out the cancellation. */
async function waitUntilClosed(client: Client, handle: WorkflowHandle): Promise<CancelOutcome> {
  const workflowId = handle.workflowId;
  const { taskQueue } = await handle.describe();
  const missing = missingWorkerText(taskQueue, client.options.namespace, await livePollers(client, taskQueue));
  if (missing) console.error(`${missing}: the cancellation is carried out when one runs.`);
  try {
    await handle.result();
    return { workflowId, state: 'COMPLETED', message: `${workflowId} finished before the cancellation reached it; its export is published` };
  } catch (e) {
    if (!(e instanceof WorkflowFailedError)) throw e;
    if (!(e.cause instanceof CancelledFailure)) {
      return { workflowId, state: 'FAILED', message: formatRunFailure(runFailure(workflowId, e)) };
    }
  }
  const cleanedFiles = await cleanedFilesOf(handle);
  const cleaned = cleanedFiles === undefined ? '' : `; attempt files removed: ${cleanedFiles}`;
  return { workflowId, state: 'CANCELLED', ...(cleanedFiles === undefined ? {} : { cleanedFiles }), message: `${workflowId} cancelled: the COPY has stopped and nothing was published${cleaned}` };
}

/** bulkExport's progress after the close says what the cleanup removed; other workflows have no such answer. */
async function cleanedFilesOf(handle: WorkflowHandle): Promise<number | undefined> {
  const { type } = await handle.describe();
  if (type !== EXPORT_WORKFLOW_TYPE) return undefined;
  try {
    const p: ExportProgress = await handle.query(progressQuery);
    return p.attempts.reduce((n, a) => n + (a.outcome === 'cancelled' ? (a.cleanedFiles ?? 0) : 0), 0);
  } catch {
    return undefined; // no worker to answer the query: the close itself says the cleanup ran
  }
}
