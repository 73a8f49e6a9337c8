/**
 * `mz-s3-export expire`: retention. Always shows the plan first (expireExports without apply: nothing is
 * deleted); with --apply, after a confirmation, runs it again with apply and the plan's folders as `confirmed`,
 * so nothing the user was not shown is deleted.
 */
import * as fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { resolveExpireInput } from '../../common/retention/input';
import type { ExpireInput, ExpireResult } from '../../common/retention/types';
import { expireExports } from '../../workflows';
import { COMMON_OPTIONS, expectPositionals, inputFromFileAndFlags, numberFlag, stringFlag, UsageError, type OptionSpecs, type ParsedArgs } from '../args';
import { confirmOrRefuse } from '../confirm';
import { awaitRunOutcome } from '../follow';
import { formatExpiryOutcome, formatExpiryPlan, foldersToDelete } from '../retention-plan';
import { withTemporalClient } from '../temporal';
import { noWorkerMode, requireWorker } from '../worker-check';
import { parseS3Target } from './export';
import { parseScheduleFile } from '../schedules/file';

export const usage = `expire --to s3://BUCKET/PREFIX --name NAME[,NAME...] [--keep-last N] [--keep-within 30d] [--storage-profile NAME]
       | --file input.json | --schedules-file FILE
       [--apply [--yes]] [--json] [--wait-for-worker]     show which logical-time folders retention deletes; --apply deletes them`;

export const options: OptionSpecs = {
  to: { type: 'string', value: 's3://BUCKET/PREFIX', help: 'where the exports are (the prefix they were exported to)' },
  name: { type: 'string', value: 'NAME[,NAME]', help: 'the export or snapshot set name(s), comma-separated' },
  'keep-last': { type: 'string', value: 'N', help: 'keep the newest N published logical times (and anything newer)' },
  'keep-within': { type: 'string', value: 'DURATION', help: 'keep every logical time younger than this, e.g. 30d, 12h' },
  'storage-profile': COMMON_OPTIONS.storageProfile,
  'recent-write-seconds': { type: 'string', value: 'S', help: 'keep folders written to this recently (default 3600)' },
  file: { type: 'string', value: 'FILE', help: 'the expireExports input as JSON (the Web UI form takes the same)' },
  'schedules-file': { type: 'string', value: 'FILE', help: "a schedule file: the plan of its expiry schedule (its entries' retention rules)" },
  apply: { type: 'boolean', help: 'after showing the plan, delete what it lists (asks first; --yes skips)' },
  yes: { type: 'boolean', help: 'do not ask before deleting' },
  json: COMMON_OPTIONS.json,
  'wait-for-worker': COMMON_OPTIONS.waitForWorker,
};

export function expireInputFromArgs(args: ParsedArgs): ExpireInput {
  const schedules = stringFlag(args, 'schedules-file');
  const fromFile = (schedules ? expiryOfScheduleFile(schedules) : inputFromFileAndFlags(args, {})) as Partial<ExpireInput>;
  const to = stringFlag(args, 'to');
  const names = stringFlag(args, 'name');
  const keepLast = numberFlag(args, 'keep-last');
  const keepWithin = stringFlag(args, 'keep-within');
  const recent = numberFlag(args, 'recent-write-seconds');
  const storageProfile = stringFlag(args, 'storage-profile');
  const input: ExpireInput = { ...fromFile, targets: fromFile.targets ?? [] };
  if (to || names) {
    if (!to || !names) throw new UsageError('give both --to s3://BUCKET/PREFIX and --name NAME (or --file)');
    const { bucket, prefix } = parseS3Target(to);
    const rule = { ...(keepLast !== undefined ? { keepLast } : {}), ...(keepWithin !== undefined ? { keepWithin } : {}) };
    const store = storageProfile !== undefined ? { storageProfile } : {};
    input.targets = [...input.targets, ...names.split(',').map((name) => ({ bucket, prefix, ...store, name: name.trim(), ...rule }))];
  } else if (keepLast !== undefined || keepWithin !== undefined || storageProfile !== undefined) {
    throw new UsageError('--keep-last, --keep-within and --storage-profile go with --to and --name; in --file each target has its own rule and storageProfile');
  } else if (!stringFlag(args, 'file') && !schedules) {
    throw new UsageError("give --to and --name with --keep-last and/or --keep-within, or --file; 'mz-s3-export expire --help'");
  }
  if (recent !== undefined) input.recentWriteSeconds = recent;
  // The plan always comes first; apply is this command's decision, never the file's.
  delete input.apply;
  delete input.confirmed;
  return input;
}

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 1, 'expire takes only options');
  const input = expireInputFromArgs(args);
  resolveExpireInput(input); // every input problem before anything starts
  const json = Boolean(args.flags.json);
  await withTemporalClient(async (client, config) => {
    await requireWorker(client, config.temporal.taskQueue, noWorkerMode(args.flags), (line) => process.stderr.write(`${line}\n`));
    const stamp = new Date().toISOString().replace(/[-:]/g, '');
    const plan = await runExpiry(client, config.temporal.taskQueue, `expire-plan-${stamp}`, input);
    if (!plan) return;
    const doomed = foldersToDelete(plan);
    if (!args.flags.apply) {
      console.log(json ? JSON.stringify(plan, null, 2) : `${formatExpiryPlan(plan)}\nNothing was deleted; --apply deletes the folders listed.`);
      return;
    }
    (json ? process.stderr : process.stdout).write(`${formatExpiryPlan(plan)}\n`);
    if (!doomed.length) {
      console.log(json ? JSON.stringify(plan, null, 2) : 'Nothing to delete.');
      return;
    }
    await confirmOrRefuse(`delete the ${doomed.length} folder(s) listed above`, Boolean(args.flags.yes));
    const applied = await runExpiry(client, config.temporal.taskQueue, `expire-apply-${stamp}`, { ...input, apply: true, confirmed: doomed });
    if (applied) console.log(json ? JSON.stringify(applied, null, 2) : formatExpiryOutcome(applied));
  });
}

/** The input of a schedule file's expiry schedule (its top-level `expiry` over the entries' retention rules). */
function expiryOfScheduleFile(fileName: string): ExpireInput {
  let text: string;
  try {
    text = fs.readFileSync(fileName, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${fileName}: ${(e as Error).message}`);
  }
  const expiry = parseScheduleFile(text, fileName).entries.find((e) => e.expire)?.expire;
  if (!expiry) throw new UsageError(`${fileName} has no expiry schedule: add retention to its exports and a top-level expiry block (docs/retention.md)`);
  return expiry;
}

/** Starts expireExports and waits for it; a failure is printed by its root cause (exit 1) and undefined returned. */
async function runExpiry(client: Client, taskQueue: string, workflowId: string, input: ExpireInput): Promise<ExpireResult | undefined> {
  const handle = await client.workflow.start(expireExports, { taskQueue, workflowId, args: [input] });
  return awaitRunOutcome(workflowId, () => handle.result());
}
