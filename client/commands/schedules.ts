/** `mz-s3-export schedules ...`: export schedules as code (plan/apply a file) and day-to-day operations. */
import * as fs from 'node:fs';
import { parseScheduleFile, parseOverlap, type OverlapPolicy, type ScheduleFile } from '../schedules/file';
import { parseLogicalTime } from '../../common/export/logical-time';
import { COMMON_OPTIONS, expectPositionals, numberFlag, stringFlag, UsageError, type OptionSpecs, type ParsedArgs } from '../args';
import { withTemporalClient } from '../temporal';
import { formatPlan } from '../schedules/format';
import {
  backfillSchedule,
  deleteSchedule,
  getManagedSchedule,
  listManagedSchedules,
  pauseSchedule,
  triggerSchedule,
  unpauseSchedule,
} from '../schedules/operations';
import { toScheduleId } from '../schedules/model';
import { noWorkerMode, requireWorker } from '../worker-check';
import { applyFile, DEFAULT_CONCURRENCY, planSchedules } from '../schedules/reconcile';
import { formatRuns, runStatus, type RunSummary } from '../schedules/runs';
import { sleep } from '../../local/processes';

export const usage = `schedules plan -f FILE [--concurrency N] [--json]           show what apply would create, update and delete
schedules apply -f FILE [--concurrency N] [--json]          make Temporal Schedules match the file (only ours; applies of one set take turns)
schedules list [--json]                                     the schedules mz-s3-export manages
schedules pause NAME --note TEXT                            pause a schedule, saying why
schedules unpause NAME [--note TEXT]                        resume it
schedules trigger NAME [--wait] [--overlap POLICY]          run an export now (logical time: now)
schedules backfill NAME --from TIME --to TIME [--wait] [--overlap POLICY]
                                                            one export per fire missed in that range
schedules delete NAME                                       delete a schedule (its runs and data stay)`;

const FILE: OptionSpecs = { file: { type: 'string', short: 'f', value: 'FILE', help: 'the schedule file (YAML or JSON; see examples/schedules.yaml)' } };
const WAIT: OptionSpecs = {
  wait: { type: 'boolean', help: 'wait for the runs and print them' },
  'wait-for-worker': COMMON_OPTIONS.waitForWorker,
};
const OVERLAP: OptionSpecs = {
  overlap: { type: 'string', value: 'POLICY', help: 'skip, bufferOne, bufferAll, cancelOther, terminateOther or allowAll' },
};
const JSON_OUT: OptionSpecs = { json: COMMON_OPTIONS.json };
const CONCURRENCY: OptionSpecs = {
  concurrency: { type: 'string', value: 'N', help: `Temporal calls in flight at once (default ${DEFAULT_CONCURRENCY}; raise it for thousands of entries)` },
};

/** Each subcommand's own options, so a flag another subcommand takes is still an error here. */
export function options(sub: string | undefined): OptionSpecs {
  switch (sub) {
    case 'plan':
    case 'apply':
      return { ...FILE, ...CONCURRENCY, ...JSON_OUT };
    case 'list':
      return JSON_OUT;
    case 'pause':
      return { note: { type: 'string', value: 'TEXT', help: 'why, and until when (shown in the Web UI)' } };
    case 'unpause':
      return { note: { type: 'string', value: 'TEXT', help: 'why it may run again' } };
    case 'trigger':
      return { ...WAIT, ...OVERLAP, ...JSON_OUT };
    case 'backfill':
      return {
        from: { type: 'string', value: 'TIME', help: 'the first fire time to cover (ISO 8601)' },
        to: { type: 'string', value: 'TIME', help: 'the last fire time to cover (ISO 8601, in the past)' },
        ...WAIT,
        ...OVERLAP,
        ...JSON_OUT,
      };
    default:
      return {};
  }
}

export async function run(args: ParsedArgs): Promise<void> {
  const [, sub, name] = args.positionals;
  expectPositionals(args, ['plan', 'apply', 'list'].includes(sub) ? 2 : 3, `see 'mz-s3-export schedules ${sub ?? ''} --help'`);
  const json = Boolean(args.flags.json);
  switch (sub) {
    case 'plan':
    case 'apply': {
      const { file, fileName } = readFile(args);
      await withTemporalClient(async (client, config) => {
        // apply lets its creates resolve schedules the list does not show yet, instead of describing each first.
        const opts = { defaultTaskQueue: config.temporal.taskQueue, concurrency: concurrencyFlag(args), describeUnlisted: sub === 'plan' };
        if (sub === 'plan') {
          const plan = await planSchedules(client, file, opts);
          console.log(json ? JSON.stringify(plan, null, 2) : formatPlan(plan));
          return;
        }
        // Under the set's apply lock: a second apply of the same set waits for this one (docs/schedules.md).
        const { result } = await applyFile(client, file, opts, {
          onWait: (holder) => console.error(`Waiting for ${holder} to finish (one apply per schedule set at a time)...`),
          onPlan: (plan) => {
            if (!json) console.log(formatPlan(plan));
          },
          onStep: json ? undefined : (line) => console.log(`  ${line}`),
        });
        console.log(
          json
            ? JSON.stringify(result, null, 2)
            : `Applied ${fileName}: ${result.created.length} created, ${result.updated.length} updated, ${result.deleted.length} deleted, ${result.unchanged.length} unchanged.`,
        );
      });
      return;
    }
    case 'list':
      await withTemporalClient(async (client) => {
        const rows = await listManagedSchedules(client);
        if (json) return console.log(JSON.stringify(rows, null, 2));
        if (!rows.length) return console.log("No schedules managed by mz-s3-export; create them with 'schedules apply -f FILE'.");
        for (const r of rows) {
          console.log(`${r.scheduleId}  (set ${r.scheduleSet})  ${r.when}`);
          const next = r.nextFire ? `${r.paused ? 'would fire next' : 'next fire'} ${r.nextFire}` : 'no further fires';
          console.log(`    ${r.paused ? `PAUSED: ${r.note ?? ''}` : 'active'}; ${next}; runs taken ${r.actionsTaken}, skipped for overlap ${r.skippedOverlap}`);
          if (r.lastFire) console.log(`    last fire ${r.lastFire.scheduledAt} → ${r.lastFire.workflowId}`);
          for (const w of r.running) console.log(`    running ${w}`);
        }
      });
      return;
    case 'pause': {
      const note = stringFlag(args, 'note');
      if (!note) throw new UsageError('schedules pause needs --note "why, and until when"');
      await withTemporalClient((client) => pauseSchedule(client, required(name, sub), note));
      console.log(`Paused ${name}: ${note}`);
      return;
    }
    case 'unpause': {
      const note = stringFlag(args, 'note') ?? 'unpaused with mz-s3-export schedules unpause';
      await withTemporalClient((client) => unpauseSchedule(client, required(name, sub), note));
      console.log(`Unpaused ${name}.`);
      return;
    }
    case 'trigger':
      await withTemporalClient(async (client) => {
        await requireScheduleWorker(client, required(name, sub), args);
        const workflowId = await triggerSchedule(client, required(name, sub), overlapFlag(args) ?? 'allowAll');
        if (!workflowId) {
          console.log('The schedule did not start a run (its overlap policy skipped it, or it is slow); see schedules list.');
          process.exitCode = 1;
          return;
        }
        (json ? console.error : console.log)(`Started ${workflowId}`);
        if (args.flags.wait) printRuns(await waitForRuns(client, [workflowId]), json);
      });
      return;
    case 'backfill': {
      const from = timeFlag(args, 'from');
      const to = timeFlag(args, 'to');
      await withTemporalClient(async (client) => {
        await requireScheduleWorker(client, required(name, sub), args);
        const fires = await backfillSchedule(client, required(name, sub), { from, to, overlap: overlapFlag(args) });
        console.log(`Backfill of ${name} from ${from.toISOString()} to ${to.toISOString()}: ${fires.length} fire(s), one export each`);
        for (const f of fires) console.log(`  ${f.toISOString()}`);
        if (args.flags.wait && fires.length) {
          printRuns(await waitForScheduledRuns(client, required(name, sub), from, to, fires.length), json);
        }
      });
      return;
    }
    case 'delete':
      await withTemporalClient(async (client) => {
        const id = await deleteSchedule(client, required(name, sub));
        console.log(`Deleted ${id}; its past runs and exported data stay. If it is still in a schedule file, the next apply creates it again.`);
      });
      return;
    default:
      throw new UsageError(`unknown 'schedules ${sub ?? ''}'; use plan, apply, list, pause, unpause, trigger, backfill or delete`);
  }
}

/** --wait on runs nobody will take would wait forever: check the schedule's task queue first (else only warn). */
async function requireScheduleWorker(client: Client, nameOrId: string, args: ParsedArgs): Promise<void> {
  const { description } = await getManagedSchedule(client, nameOrId);
  if (description.action.type !== 'startWorkflow') return;
  const mode = args.flags.wait ? noWorkerMode(args.flags) : 'queue';
  await requireWorker(client, description.action.taskQueue, mode, (line) => console.error(line));
}

function readFile(args: ParsedArgs): { file: ScheduleFile; fileName: string } {
  const fileName = stringFlag(args, 'file');
  if (!fileName) throw new UsageError('give the schedule file with -f FILE (YAML or JSON; see examples/schedules.yaml)');
  let text: string;
  try {
    text = fs.readFileSync(fileName, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${fileName}: ${(e as Error).message}`);
  }
  return { file: parseScheduleFile(text, fileName), fileName };
}

function required(name: string | undefined, sub: string): string {
  if (!name || name.startsWith('-')) throw new UsageError(`schedules ${sub} needs the export name (or schedule id)`);
  return name;
}

function overlapFlag(args: ParsedArgs): OverlapPolicy | undefined {
  const raw = stringFlag(args, 'overlap');
  if (raw === undefined) return undefined;
  const p = parseOverlap(raw);
  if (!p) throw new UsageError(`--overlap ${raw}: use skip, bufferOne, bufferAll, cancelOther, terminateOther or allowAll`);
  return p;
}

function timeFlag(args: ParsedArgs, name: string): Date {
  const raw = stringFlag(args, name, true);
  const parsed = parseLogicalTime(raw);
  if ('problem' in parsed) throw new UsageError(`--${name}: ${parsed.problem}`);
  return new Date(parsed.ms);
}

type Client = Parameters<Parameters<typeof withTemporalClient>[0]>[0];

async function waitForRuns(client: Client, workflowIds: string[]): Promise<RunSummary[]> {
  await Promise.all(workflowIds.map((id) => client.workflow.getHandle(id).result().catch(() => undefined)));
  return Promise.all(workflowIds.map((id) => runStatus(client, id)));
}

/** Waits until count runs of the schedule with scheduled times in [from, to] have closed. */
async function waitForScheduledRuns(client: Client, nameOrId: string, from: Date, to: Date, count: number): Promise<RunSummary[]> {
  const query =
    `TemporalScheduledById = '${toScheduleId(nameOrId)}' AND TemporalScheduledStartTime >= '${from.toISOString()}'` +
    ` AND TemporalScheduledStartTime <= '${to.toISOString()}'`;
  let last = '';
  let idleSince = Date.now();
  for (;;) {
    const ids: string[] = [];
    let open = 0;
    for await (const info of client.workflow.list({ query })) {
      ids.push(info.workflowId);
      if (info.status.name === 'RUNNING') open++;
    }
    if (ids.length >= count && open === 0) return waitForRuns(client, ids.sort());
    if (open > 0) idleSince = Date.now();
    else if (Date.now() - idleSince > 30_000) {
      // Nothing runs and nothing new starts: the overlap policy skipped the remaining fires.
      console.log(`  only ${ids.length} of ${count} fires started; the overlap policy skipped the others`);
      return waitForRuns(client, ids.sort());
    }
    const line = `  waiting: ${ids.length - open} of ${count} done, ${open} running`;
    if (line !== last) console.log((last = line));
    await sleep(1000);
  }
}

function printRuns(runs: RunSummary[], json: boolean): void {
  console.log(json ? JSON.stringify(runs, null, 2) : formatRuns(runs));
  if (runs.some((r) => r.state !== 'COMPLETED')) process.exitCode = 1;
}

/** --concurrency: a whole number from 1 to 256 (past that a server sees a burst, not throughput). */
export function concurrencyFlag(args: ParsedArgs): number | undefined {
  const n = numberFlag(args, 'concurrency');
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 256)) throw new UsageError(`--concurrency must be a whole number from 1 to 256, not ${n}`);
  return n;
}
