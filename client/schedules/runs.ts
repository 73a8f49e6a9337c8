/**
 * Recent export and snapshot set runs and one run's status, found through the search attributes every bulkExport
 * and snapshotSet sets (MzExportName, MzLogicalTime, MzConnection) and the ones Temporal sets on scheduled runs
 * (TemporalScheduledById, TemporalScheduledStartTime): the same filters work in the Web UI's search box.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { TemporalScheduledById, TemporalScheduledStartTime } from '../../common/search-attributes';
import { InvalidInputError } from '../../common/failures';
import { exportNameProblem } from '../../common/export/input';
import type { BulkExportResult, ExportProgress } from '../../common/export/types';
import type { SnapshotSetProgress, SnapshotSetResult } from '../../common/export/snapshot-set';
import { rootCauseOf } from '../../common/failures';
import { formatDuration } from '../../common/duration';
import { EXPORT_WORKFLOW_TYPE, MzConnection, MzExportName, MzLogicalTime, SET_WORKFLOW_TYPE, scheduleIdFor } from './model';


export interface RunSummary {
  workflowId: string;
  runId: string;
  /** A single export (bulkExport) or a snapshot set. */
  kind?: 'export' | 'set';
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
  /** The Materialize timestamp the published data reflects (AS OF). */
  materializeTimestamp?: string;
  /** A snapshot set's members: what each published, or (running) where each is. */
  members?: { name: string; state?: string; rows?: number; files?: number; manifest?: string; error?: string }[];
  /** A failed (or timed-out, terminated, cancelled) run's root cause and what to change. */
  error?: string;
  /** Its failure type (UserFixableError, Timeout(HEARTBEAT), ...). */
  errorType?: string;
  progress?: { phase: ExportProgress['phase'] | SnapshotSetProgress['phase']; message: string; attempt?: number };
}

/** The visibility query for runs, optionally of one export (validated, so nothing raw reaches the query). */
export function runsQuery(exportName?: string): string {
  let q = `WorkflowType IN ('${EXPORT_WORKFLOW_TYPE}', '${SET_WORKFLOW_TYPE}')`;
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
    kind: info.type === SET_WORKFLOW_TYPE ? 'set' : 'export',
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
    })) as Partial<BulkExportResult & SnapshotSetResult> | undefined;
    Object.assign(run, {
      rows: result?.rows,
      files: result?.files,
      bytes: result?.bytes,
      manifest: result?.manifest,
      logicalTime: result?.logicalTime ?? run.logicalTime,
      materializeTimestamp: result?.materialize?.timestamp,
      ...(run.kind === 'set' && result?.members ? { members: result.members } : {}),
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
  } else if (info.status.name === 'RUNNING' && opts.queryProgress) {
    try {
      const p = await client.withDeadline(Date.now() + 5000, () => handle.query<ExportProgress | SnapshotSetProgress>('progress'));
      run.progress = { phase: p.phase, message: p.message, attempt: 'attempt' in p ? p.attempt : undefined };
      if ('rows' in p && p.rows !== undefined) run.rows = p.rows;
      if ('members' in p) {
        run.members = p.members.map((m) => ({ name: m.name, state: m.state, rows: m.rows, files: m.files, error: m.error }));
        if (p.timestamp) run.materializeTimestamp = p.timestamp;
      }
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
    `${r.kind === 'set' ? 'snapshot set' : 'export      '}  ${r.exportName ?? '(not yet known)'}${r.connection ? ` via connection ${r.connection}` : ''}`,
    `logical time  ${r.logicalTime ?? '(not yet known)'}`,
    `started by    ${r.scheduleId ? `schedule ${r.scheduleId}` : 'hand (CLI or Web UI)'}`,
    `started       ${r.startTime}${r.closeTime ? `, closed ${r.closeTime}` : ''}`,
  ];
  if (r.progress) lines.push(`progress      ${r.progress.phase}${r.progress.attempt ? ` (attempt ${r.progress.attempt})` : ''}: ${r.progress.message}`);
  if (r.rows !== undefined) lines.push(`rows          ${r.rows}`);
  if (r.files !== undefined) lines.push(`files         ${r.files}${r.bytes !== undefined ? ` (${r.bytes} bytes)` : ''}`);
  if (r.materializeTimestamp) lines.push(`AS OF         ${asOfText(r.materializeTimestamp)}`);
  if (r.manifest) lines.push(`${r.kind === 'set' ? 'set manifest' : 'manifest    '}  ${r.manifest}`);
  for (const m of r.members ?? []) {
    const numbers = m.rows !== undefined ? `${m.rows} rows, ${m.files ?? 0} files` : '';
    lines.push(`  member ${m.name}: ${[m.state, numbers, m.manifest ?? m.error].filter(Boolean).join('  ')}`);
  }
  if (r.error) lines.push(`error         ${r.errorType ? `${r.errorType}: ` : ''}${r.error}`);
  return lines.join('\n');
}

/** A Materialize timestamp (EpochMilliseconds timeline) with the instant it names. */
function asOfText(ts: string): string {
  const ms = Number(ts);
  return Number.isFinite(ms) && ms > 0 && ms < 8.64e15 ? `${ts} (${new Date(ms).toISOString()})` : ts;
}

/** How fresh an export's or set's published data is, and how far it lags its schedule. */
export interface Freshness {
  name: string;
  /** The newest published logical time, the Materialize timestamp its data reflects, and the run. */
  newest?: { logicalTime: string; materializeTimestamp?: string; workflowId: string };
  /** Seconds from the newest published logical time to now. */
  secondsBehindNow?: number;
  /** Its schedule's latest fire, and how far the newest publication is behind it (0: caught up). */
  schedule?: { scheduleId: string; lastFireAt?: string; secondsBehind?: number };
}

/**
 * The newest publication of an export or set among its recent completed runs (by logical time, so a backfill of
 * an older time does not count as newer), and its schedule's last fire when it has one of ours.
 */
export async function freshnessOf(client: Client, name: string, now = Date.now()): Promise<Freshness> {
  const out: Freshness = { name };
  const query = `${runsQuery(name)} AND ExecutionStatus = 'Completed'`;
  // The logical time is a search attribute: only the newest run's result is read (for its AS OF).
  let newestInfo: WorkflowExecutionInfo | undefined;
  let seen = 0;
  const logicalOf = (i: WorkflowExecutionInfo) => (i.typedSearchAttributes.get(MzLogicalTime) ?? i.typedSearchAttributes.get(TemporalScheduledStartTime))?.getTime() ?? -Infinity;
  for await (const info of client.workflow.list({ query, pageSize: 50 })) {
    if (!newestInfo || logicalOf(info) > logicalOf(newestInfo)) newestInfo = info;
    if (++seen >= 50) break;
  }
  const newest = newestInfo ? await summarize(client, newestInfo, { queryProgress: false }) : undefined;
  if (newest?.logicalTime) {
    out.newest = { logicalTime: newest.logicalTime, workflowId: newest.workflowId, ...(newest.materializeTimestamp ? { materializeTimestamp: newest.materializeTimestamp } : {}) };
    out.secondsBehindNow = Math.max(0, Math.round((now - Date.parse(newest.logicalTime)) / 1000));
  }
  try {
    const described = await client.schedule.getHandle(scheduleIdFor(name)).describe();
    const last = described.info.recentActions.at(-1)?.scheduledAt;
    out.schedule = { scheduleId: scheduleIdFor(name), ...(last ? { lastFireAt: last.toISOString() } : {}) };
    // Logical times are whole seconds (the schedule's start time attribute); a fire's scheduled time may carry ms.
    if (last) out.schedule.secondsBehind = Math.max(0, Math.floor((last.getTime() - (newest?.logicalTime ? Date.parse(newest.logicalTime) : 0)) / 1000));
  } catch {
    // No schedule of ours by that name: started by hand only.
  }
  return out;
}

export function formatFreshness(f: Freshness): string {
  if (!f.newest) return `freshness     ${f.name}: nothing published yet${f.schedule?.lastFireAt ? ` (schedule last fired ${f.schedule.lastFireAt})` : ''}`;
  const parts = [`newest publication ${f.newest.logicalTime}`];
  if (f.newest.materializeTimestamp) parts.push(`AS OF ${asOfText(f.newest.materializeTimestamp)}`);
  parts.push(`${formatDuration(f.secondsBehindNow! * 1000)} ago`);
  if (f.schedule?.secondsBehind !== undefined)
    parts.push(f.schedule.secondsBehind === 0 ? 'caught up with its schedule' : `${formatDuration(f.schedule.secondsBehind * 1000)} behind its schedule's last fire`);
  return `freshness     ${f.name}: ${parts.join(', ')}`;
}
