/**
 * `mz-s3-export export`: starts bulkExport and, by default, waits with a progress line, then prints the result
 * (or, with --json, only the result as JSON on stdout). The input is checked here first, so mistakes fail before
 * anything starts; the workflow checks it again (the Web UI and schedules start it without this command).
 */
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { resolveExportInput } from '../../common/export/input';
import { renderLogicalTime } from '../../common/export/paths';
import type { NotificationReport } from '../../common/events/types';
import type { BulkExportInput, BulkExportResult, ExportFormat, ExportProgress } from '../../common/export/types';
import { progressQuery } from '../../workflows/export-messages';
import { bulkExport } from '../../workflows';
import { COMMON_OPTIONS, expectPositionals, stringFlag, UsageError, type OptionSpecs, type ParsedArgs, START_OPTIONS } from '../args';
import { awaitRunOutcome, printStarted, resultWithProgress } from '../follow';
import { noWorkerMode, requireWorker } from '../worker-check';
import { withTemporalClient } from '../temporal';

export const usage = `export --name NAME --connection CONN (--object NAME | --query SQL) --to s3://BUCKET/PREFIX
       [--format csv|parquet] [--max-file-size 256MB] [--header] [--logical-time ISO] [--profile NAME] [--storage-profile NAME]
       [--max-attempts N] [--no-latest] [--notify JSON] [--workflow-id ID] [--no-wait | --wait-for-worker] [--json]
                                                            export to <PREFIX>/<NAME>/<logical time>/attempt-NNN/ and publish a manifest`;

export const options: OptionSpecs = {
  name: { type: 'string', value: 'NAME', help: 'the export name: the folder under the prefix, and how runs are found' },
  connection: { type: 'string', value: 'CONN', help: 'the Materialize AWS connection onboarding created' },
  object: { type: 'string', value: 'NAME', help: 'a table, view, materialized view or source to export (schema.name)' },
  query: { type: 'string', value: 'SQL', help: 'a SELECT to export instead of an object' },
  to: { type: 'string', value: 's3://BUCKET/PREFIX', help: 'where: the bucket and the prefix the connection may write to' },
  format: { type: 'string', value: 'csv|parquet', help: 'file format (default parquet)' },
  'max-file-size': { type: 'string', value: 'SIZE', help: "Materialize's MAX FILE SIZE, e.g. 256MB" },
  header: { type: 'boolean', help: 'CSV only: write a header row' },
  'logical-time': { type: 'string', value: 'ISO', help: 'the instant the export stands for (default now); names the output folder' },
  profile: COMMON_OPTIONS.profile,
  'storage-profile': COMMON_OPTIONS.storageProfile,
  'max-attempts': { type: 'string', value: 'N', help: 'COPY attempts before giving up (default 3)' },
  'no-latest': { type: 'boolean', help: 'do not point _latest.json at this export' },
  notify: { type: 'string', value: 'JSON', help: 'announce the publication: {"sns": {"topicArn": ...}, "sqs": {"queueUrl": ...}, ...} (docs/events.md)' },
  ...START_OPTIONS,
};

export function parseS3Target(to: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(to.trim());
  if (!m) throw new UsageError(`--to ${JSON.stringify(to)} must be s3://BUCKET/PREFIX (a prefix is required: the IAM policy is scoped to it)`);
  return { bucket: m[1], prefix: m[2] };
}

/** The BulkExportInput the flags describe (checked by resolveExportInput before anything starts). */
export function exportInputFromArgs(args: ParsedArgs, now: Date): BulkExportInput {
  const to = parseS3Target(stringFlag(args, 'to', true));
  const maxAttempts = stringFlag(args, 'max-attempts');
  const input: BulkExportInput = {
    exportName: stringFlag(args, 'name', true),
    connectionName: stringFlag(args, 'connection', true),
    object: stringFlag(args, 'object'),
    query: stringFlag(args, 'query'),
    bucket: to.bucket,
    prefix: to.prefix,
    format: (stringFlag(args, 'format') ?? 'parquet') as ExportFormat,
    maxFileSize: stringFlag(args, 'max-file-size'),
    csvHeader: args.flags.header ? true : undefined,
    // Explicit, so the workflow id and the output folder name the same instant.
    logicalTime: stringFlag(args, 'logical-time') ?? now.toISOString(),
    materializeProfile: stringFlag(args, 'profile'),
    storageProfile: stringFlag(args, 'storage-profile'),
    maxAttempts: maxAttempts === undefined ? undefined : Number(maxAttempts),
    publishLatest: args.flags['no-latest'] ? false : undefined,
    notify: notifyFlag(args),
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as unknown as BulkExportInput;
}

/** --notify as the JSON object the workflow checks (docs/events.md); `export` and `set` take it. */
export function notifyFlag(args: ParsedArgs): BulkExportInput['notify'] {
  const raw = stringFlag(args, 'notify');
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as BulkExportInput['notify'];
  } catch (e) {
    throw new UsageError(`--notify must be JSON such as '{"sqs": {"queueUrl": "https://sqs..."}}': ${(e as Error).message}`);
  }
}

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 1, 'export takes only options');
  const input = exportInputFromArgs(args, new Date());
  const resolved = resolveExportInput(input);
  const json = Boolean(args.flags.json);
  const say = (line: string) => (json ? process.stderr : process.stdout).write(line + '\n');
  const workflowId = stringFlag(args, 'workflow-id') ?? `export-${resolved.exportName}-${renderLogicalTime(input.logicalTime!)}`;

  await withTemporalClient(async (client, config) => {
    await requireWorker(client, config.temporal.taskQueue, noWorkerMode(args.flags), (line) => process.stderr.write(`${line}\n`));
    const handle = await startOrAttach(client, input, workflowId, config.temporal.taskQueue, say);
    if (args.flags['no-wait']) return printStarted(handle, json, "; follow it with the Web UI or 'mz-s3-export runs'");
    // A failure is told by its root cause and what to change; no stack trace.
    const result = await awaitRunOutcome(workflowId, () => waitWithProgress(handle, say), json);
    if (!result) return;
    if (json) console.log(JSON.stringify(result, null, 2));
    else printResult(result, say);
  });
}

async function startOrAttach(
  client: Client,
  input: BulkExportInput,
  workflowId: string,
  taskQueue: string,
  say: (l: string) => void,
): Promise<WorkflowHandle & { firstExecutionRunId?: string }> {
  const what = input.object ?? 'query';
  try {
    const handle = await client.workflow.start(bulkExport, {
      taskQueue,
      workflowId,
      args: [input],
      staticSummary: `Export ${input.exportName}: ${what} → s3://${input.bucket}/${input.prefix} (${input.format})`,
      staticDetails: `Logical time ${input.logicalTime}; connection ${input.connectionName}. Output: <prefix>/${input.exportName}/<logical time>/attempt-NNN/ with manifest.json and _SUCCESS.`,
    });
    say(`started ${workflowId}`);
    return handle;
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    say(`${workflowId} is already running; following it`);
    return client.workflow.getHandle(workflowId);
  }
}

function waitWithProgress(handle: WorkflowHandle, say: (l: string) => void): Promise<BulkExportResult> {
  return resultWithProgress<BulkExportResult, ExportProgress>(handle, {
    query: progressQuery,
    // A new line when something but the clock changed.
    key: (p) => progressLine({ ...p, elapsedSeconds: 0, startedAt: new Date().toISOString() }),
    show: (p) => say(progressLine(p)),
    intervalMs: 1000,
  });
}

export function progressLine(p: ExportProgress): string {
  const elapsed = Math.max(p.elapsedSeconds, Math.round((Date.now() - Date.parse(p.startedAt)) / 1000));
  const numbers = [
    p.rows !== undefined ? `${p.rows} rows` : '',
    p.files !== undefined ? `${p.files} files` : '',
    p.bytes !== undefined ? `${p.bytes} bytes` : '',
  ].filter(Boolean);
  return `[${elapsed}s] ${p.phase}${p.attempt ? ` (attempt ${p.attempt})` : ''}: ${p.message}${numbers.length ? ` — ${numbers.join(', ')}` : ''}`;
}

function printResult(r: BulkExportResult, say: (l: string) => void): void {
  say(r.reusedExisting ? `already published by an earlier run (attempt ${r.attempt})` : `published (attempt ${r.attempt})`);
  say(`  rows      ${r.rows}`);
  say(`  files     ${r.files} (${r.bytes} bytes, ${r.format})`);
  say(`  output    ${r.outputPath}`);
  say(`  manifest  ${r.manifest}`);
  if (r.latestUpdated) say(`  _latest.json points at it`);
  printNotifications(r.notifications, 'export', say);
}

/** One line per notification target; one that failed after its retries is a warning, never a failure of the run. */
export function printNotifications(reports: NotificationReport[] | undefined, what: 'export' | 'set', say: (l: string) => void): void {
  for (const n of reports ?? []) say(n.delivered ? `  notified  ${n.target} ${n.destination}` : `  WARNING   ${n.target} ${n.destination} not notified (the ${what} stays published): ${n.error}`);
}
