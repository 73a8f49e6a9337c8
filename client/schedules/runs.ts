/**
 * Recent export runs and one run's status, found through the search attributes every bulkExport sets
 * (MzExportName, MzLogicalTime, MzConnection) and the ones Temporal sets on scheduled runs
 * (TemporalScheduledById, TemporalScheduledStartTime): the same filters work in the Web UI's search box.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { TemporalScheduledById, TemporalScheduledStartTime } from '../../common/search-attributes';
import { InvalidInputError } from '../../common/failures';
import { exportNameProblem } from '../../common/export/input';
import type { BulkExportResult, ExportProgress } from '../../common/export/types';
import { rootCauseOf } from '../../common/failures';
import { EXPORT_WORKFLOW_TYPE, MzConnection, MzExportName, MzLogicalTime } from './model';


export interface RunSummary {
  workflowId: string;
  runId: string;
  state: string;
  exportName?: string;
  connection?: string;
  logicalTime?: string;
  /** The schedule that started it, or undefined when started by hand (CLI, Web UI). */
  scheduleId?: string;
  startTime: string;
  closeTime?: string;
  rows?: number;
  files?: number;
  bytes?: number;
  manifest?: string;
  /** A failed (or timed-out, terminated, cancelled) run's root cause and what to change. */
  error?: string;
  /** Its failure type (UserFixableError, Timeout(HEARTBEAT), ...). */
  errorType?: string;
  progress?: Pick<ExportProgress, 'phase' | 'message' | 'attempt'>;
}

/** The visibility query for runs, optionally of one export (validated, so nothing raw reaches the query). */
export function runsQuery(exportName?: string): string {
  let q = `WorkflowType = '${EXPORT_WORKFLOW_TYPE}'`;
  if (exportName !== undefined) {
    const problem = exportNameProblem(exportName);
    if (problem) throw new InvalidInputError(problem, '--export');
    q += ` AND MzExportName = '${exportName}'`;
  }
  return q;
}

const CLOSED_UNSUCCESSFULLY = ['FAILED', 'TIMED_OUT', 'TERMINATED', 'CANCELLED'];

export async function listRuns(client: Client, opts: { exportName?: string; limit?: number } = {}): Promise<RunSummary[]> {
  const limit = opts.limit ?? 20;
  const infos: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query: runsQuery(opts.exportName), pageSize: Math.min(limit, 100) })) {
    infos.push(info);
    if (infos.length >= limit) break;
  }
  return Promise.all(infos.map((info) => summarize(client, info, { queryProgress: false })));
}

export async function runStatus(client: Client, workflowId: string): Promise<RunSummary> {
  const info = await client.workflow.getHandle(workflowId).describe();
  return summarize(client, info, { queryProgress: true });
}

async function summarize(client: Client, info: Omit<WorkflowExecutionInfo, 'raw'>, opts: { queryProgress: boolean }): Promise<RunSummary> {
  const sa = info.typedSearchAttributes;
  const logical = sa.get(MzLogicalTime) ?? sa.get(TemporalScheduledStartTime);
  const run: RunSummary = {
    workflowId: info.workflowId,
    runId: info.runId,
    state: info.status.name,
    exportName: sa.get(MzExportName),
    connection: sa.get(MzConnection),
    logicalTime: logical?.toISOString(),
    scheduleId: sa.get(TemporalScheduledById),
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString(),
  };
  const handle = client.workflow.getHandle(info.workflowId, info.runId);
  if (info.status.name === 'COMPLETED') {
    const result = (await handle.result().catch((e: Error) => {
      run.error = `result unreadable: ${e.message}`;
      return undefined;
    })) as Partial<BulkExportResult> | undefined;
    Object.assign(run, {
      rows: result?.rows,
      files: result?.files,
      bytes: result?.bytes,
      manifest: result?.manifest,
      logicalTime: result?.logicalTime ?? run.logicalTime,
    });
  } else if (CLOSED_UNSUCCESSFULLY.includes(info.status.name)) {
    // result() reads only the history's close event, which holds the failure and its cause chain.
    try {
      await handle.result();
    } catch (e) {
      const root = rootCauseOf(e);
      run.error = root.activityType ? `${root.message} (in activity ${root.activityType})` : root.message;
      run.errorType = root.type;
    }
  } else if (info.status.name === 'RUNNING' && opts.queryProgress && info.type === EXPORT_WORKFLOW_TYPE) {
    try {
      const p = await client.withDeadline(Date.now() + 5000, () => handle.query<ExportProgress>('progress'));
      run.progress = { phase: p.phase, message: p.message, attempt: p.attempt };
      if (p.rows !== undefined) run.rows = p.rows;
    } catch (e) {
      run.progress = { phase: 'starting', message: `no progress answer (is a worker running on its task queue?): ${(e as Error).message}` };
    }
  }
  return run;
}

export function formatRuns(runs: RunSummary[]): string {
  if (!runs.length) return 'No export runs found.';
  const rows = runs.map((r) => [
    r.workflowId,
    r.state,
    r.logicalTime ?? '',
    r.rows?.toString() ?? '',
    r.files?.toString() ?? '',
    r.manifest ?? r.error?.split('\n')[0] ?? r.progress?.message ?? '',
  ]);
  const head = ['WORKFLOW ID', 'STATE', 'LOGICAL TIME', 'ROWS', 'FILES', 'MANIFEST / ERROR'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function formatStatus(r: RunSummary): string {
  const lines = [
    `workflow id   ${r.workflowId}`,
    `run id        ${r.runId}`,
    `state         ${r.state}`,
    `export        ${r.exportName ?? '(not yet known)'}${r.connection ? ` via connection ${r.connection}` : ''}`,
    `logical time  ${r.logicalTime ?? '(not yet known)'}`,
    `started by    ${r.scheduleId ? `schedule ${r.scheduleId}` : 'hand (CLI or Web UI)'}`,
    `started       ${r.startTime}${r.closeTime ? `, closed ${r.closeTime}` : ''}`,
  ];
  if (r.progress) lines.push(`progress      ${r.progress.phase}${r.progress.attempt ? ` (attempt ${r.progress.attempt})` : ''}: ${r.progress.message}`);
  if (r.rows !== undefined) lines.push(`rows          ${r.rows}`);
  if (r.files !== undefined) lines.push(`files         ${r.files}${r.bytes !== undefined ? ` (${r.bytes} bytes)` : ''}`);
  if (r.manifest) lines.push(`manifest      ${r.manifest}`);
  if (r.error) lines.push(`error         ${r.errorType ? `${r.errorType}: ` : ''}${r.error}`);
  return lines.join('\n');
}
