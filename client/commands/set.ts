/**
 * `mz-s3-export set`: starts a snapshot set (several objects or queries exported AS OF one Materialize timestamp,
 * published together) and, by default, follows it with a line per member as each one changes, then prints the
 * result. Members come from --members (objects) or from --input (the same JSON the Web UI takes, queries too).
 */
import * as fs from 'node:fs';
import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { renderLogicalTime } from '../../common/export/paths';
import { resolveSnapshotSetInput, type SnapshotSetInput, type SnapshotSetProgress, type SnapshotSetResult } from '../../common/export/snapshot-set';
import type { ExportFormat } from '../../common/export/types';
import { snapshotSetProgressQuery } from '../../workflows/export-messages';
import { snapshotSet } from '../../workflows';
import { COMMON_OPTIONS, expectPositionals, stringFlag, UsageError, type OptionSpecs, type ParsedArgs, START_OPTIONS } from '../args';
import { awaitRunOutcome, printStarted, resultWithProgress } from '../follow';
import { noWorkerMode, requireWorker } from '../worker-check';
import { withTemporalClient } from '../temporal';
import { notifyFlag, parseS3Target, printNotifications } from './export';

export const usage = `set --name NAME --connection CONN --to s3://BUCKET/PREFIX (--members M=OBJECT,... | --input FILE)
       [--format csv|parquet] [--cluster NAME] [--logical-time ISO] [--max-parallel N] [--profile NAME]
       [--storage-profile NAME] [--notify JSON] [--workflow-id ID] [--no-wait | --wait-for-worker] [--json]
                                                            export several objects AS OF one timestamp, published together`;

export const options: OptionSpecs = {
  name: { type: 'string', value: 'NAME', help: 'the set name: the folder under the prefix, and how runs are found' },
  connection: { type: 'string', value: 'CONN', help: 'the Materialize AWS connection onboarding created' },
  to: { type: 'string', value: 's3://BUCKET/PREFIX', help: 'where: the bucket and the prefix the connection may write to' },
  members: { type: 'string', value: 'M=OBJECT,...', help: 'the members: member name = object (schema.name), comma-separated' },
  input: { type: 'string', value: 'FILE', help: "the set's JSON input (as in the Web UI; '-' reads stdin); flags given too override its fields" },
  format: { type: 'string', value: 'csv|parquet', help: 'file format of the --members (default parquet)' },
  cluster: { type: 'string', value: 'NAME', help: 'the Materialize cluster every COPY runs on (keep exports off the serving cluster)' },
  'logical-time': { type: 'string', value: 'ISO', help: 'the instant the set stands for (default now); names the output folder' },
  'max-parallel': { type: 'string', value: 'N', help: 'members exported at once (default 4)' },
  profile: COMMON_OPTIONS.profile,
  'storage-profile': COMMON_OPTIONS.storageProfile,
  notify: { type: 'string', value: 'JSON', help: 'announce the published set (one event): {"sqs": {"queueUrl": ...}, "sns": ..., ...} (docs/events.md)' },
  ...START_OPTIONS,
};

/** The SnapshotSetInput the flags (and --input) describe; checked by resolveSnapshotSetInput before anything starts. */
export function setInputFromArgs(args: ParsedArgs, now: Date, readFile: (path: string) => string = (p) => fs.readFileSync(p === '-' ? 0 : p, 'utf8')): SnapshotSetInput {
  const file = stringFlag(args, 'input');
  let base: Partial<SnapshotSetInput> = {};
  if (file !== undefined) {
    try {
      base = JSON.parse(readFile(file)) as Partial<SnapshotSetInput>;
    } catch (e) {
      throw new UsageError(`--input ${file}: ${(e as Error).message}`);
    }
  }
  const membersFlag = stringFlag(args, 'members');
  if (membersFlag === undefined && !base.members) throw new UsageError('give the members: --members orders=public.orders,lines=public.order_lines, or --input FILE');
  const format = (stringFlag(args, 'format') ?? 'parquet') as ExportFormat;
  const members = membersFlag?.split(',').map((pair) => {
    const m = /^\s*([^=\s]+)\s*=\s*(\S+)\s*$/.exec(pair);
    if (!m) throw new UsageError(`--members: ${JSON.stringify(pair)} must be NAME=OBJECT, e.g. orders=public.orders`);
    return { name: m[1], object: m[2], format };
  });
  const to = stringFlag(args, 'to');
  const target = to !== undefined ? parseS3Target(to) : {};
  const maxParallel = stringFlag(args, 'max-parallel');
  const flags: Partial<SnapshotSetInput> = {
    setName: stringFlag(args, 'name'),
    connectionName: stringFlag(args, 'connection'),
    ...target,
    members,
    cluster: stringFlag(args, 'cluster'),
    materializeProfile: stringFlag(args, 'profile'),
    storageProfile: stringFlag(args, 'storage-profile'),
    notify: notifyFlag(args),
    maxParallel: maxParallel === undefined ? undefined : Number(maxParallel),
    // Explicit, so the workflow id and the output folder name the same instant.
    logicalTime: stringFlag(args, 'logical-time') ?? base.logicalTime ?? now.toISOString(),
  };
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return { ...base, ...defined } as SnapshotSetInput;
}

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 1, 'set takes only options');
  const input = setInputFromArgs(args, new Date());
  const resolved = resolveSnapshotSetInput(input);
  const json = Boolean(args.flags.json);
  const say = (line: string) => (json ? process.stderr : process.stdout).write(line + '\n');
  const workflowId = stringFlag(args, 'workflow-id') ?? `set-${resolved.setName}-${renderLogicalTime(input.logicalTime!)}`;

  await withTemporalClient(async (client, config) => {
    await requireWorker(client, config.temporal.taskQueue, noWorkerMode(args.flags), (line) => process.stderr.write(`${line}\n`));
    let handle: WorkflowHandle & { firstExecutionRunId?: string };
    try {
      handle = await client.workflow.start(snapshotSet, {
        taskQueue: config.temporal.taskQueue,
        workflowId,
        args: [input],
        staticSummary: `Snapshot set ${resolved.setName}: ${resolved.members.map((m) => m.exportName).join(', ')} → s3://${resolved.bucket}/${resolved.prefix}`,
        staticDetails: `Logical time ${input.logicalTime}; connection ${resolved.connectionName}${resolved.cluster ? `; cluster ${resolved.cluster}` : ''}${resolved.storageProfile ? `; storage profile ${resolved.storageProfile}` : ''}. Output: <prefix>/${resolved.setName}/<logical time>/attempt-NNN/set-manifest.json and _SUCCESS.`,
      });
      say(`started ${workflowId}`);
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      say(`${workflowId} is already running; following it`);
      handle = client.workflow.getHandle(workflowId);
    }
    if (args.flags['no-wait']) return printStarted(handle, json, "; follow it with 'mz-s3-export status' or the Web UI");
    const result = await awaitRunOutcome(workflowId, () => followSet(handle, say), json);
    if (!result) return;
    if (json) console.log(JSON.stringify(result, null, 2));
    else printSetResult(result, say);
  });
}

/** Waits for the result, printing the set's phase when it changes and a line for each member that changed. */
function followSet(handle: WorkflowHandle, say: (l: string) => void): Promise<SnapshotSetResult> {
  let shown = new Map<string, string>();
  let lastPhase = '';
  return resultWithProgress<SnapshotSetResult, SnapshotSetProgress>(handle, {
    query: snapshotSetProgressQuery,
    key: (p) => JSON.stringify([p.phase, p.message, p.setAttempt, p.members]),
    show: (p) => {
      const phase = `[${p.elapsedSeconds}s] ${p.phase}${p.timestamp ? ` AS OF ${p.timestamp}` : ''}: ${p.message}`;
      if (phase !== lastPhase) say((lastPhase = phase));
      const now = new Map(p.members.map((m) => [m.name, memberLine(m)]));
      for (const [name, line] of now) if (shown.get(name) !== line) say(`  ${name}: ${line}`);
      shown = now;
    },
    intervalMs: 1000,
  });
}

export function memberLine(m: SnapshotSetProgress['members'][number]): string {
  const numbers = m.rows !== undefined ? ` (${m.rows} rows, ${m.files ?? 0} files)` : '';
  return `${m.state}${numbers}${m.error ? `: ${m.error}` : ''}`;
}

function printSetResult(r: SnapshotSetResult, say: (l: string) => void): void {
  say(r.reusedExisting ? `already published by an earlier run (attempt ${r.attempt})` : `published (attempt ${r.attempt}, ${r.setAttempts} timestamp(s) tried)`);
  say(`  AS OF        ${r.materialize.timestamp} (${new Date(Number(r.materialize.timestamp)).toISOString()}) on cluster ${r.materialize.cluster}`);
  for (const m of r.members) say(`  ${m.name.padEnd(12)} ${m.rows} rows, ${m.files} files  ${m.manifest}`);
  say(`  set manifest ${r.manifest}`);
  if (r.latestUpdated) say(`  _latest.json points at it`);
  printNotifications(r.notifications, 'set', say);
}
