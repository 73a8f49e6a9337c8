/**
 * `mz-s3-export offboard`: starts offboardAwsConnection (drop the connection, delete the policy and the role;
 * the bucket's data only with --delete-data). --plan prints what it would delete.
 */
import { isCompatibleInput, OFFBOARD_FIELDS, resolveCompatibleOffboardInput, resolveOffboardInput } from '../../common/onboarding/input';
import { renderOffboardingPlan } from '../onboarding-plan';
import type { OffboardInput } from '../../common/onboarding/types';
import { CliError, COMMON_OPTIONS, expectPositionals, inputFromFileAndFlags, stringFlag, type OptionSpecs, type ParsedArgs, START_OPTIONS } from '../args';
import type { Client } from '@temporalio/client';
import { confirmOrRefuse } from '../confirm';
import { startAndWait } from '../follow';
import { offboardAwsConnection, offboardS3CompatibleConnection } from '../../workflows';
import { schedulesUsingConnection } from '../schedules/operations';

export const usage = `offboard --connection C (--role R --policy P | --storage-profile NAME) [--profile NAME] [--delete-data --bucket B --prefix P]
        [--yes] [--force] | --file input.json [--plan] [--json] [--no-wait | --wait-for-worker]
                                                            drop the connection, delete the IAM policy and role`;

const FLAGS: Record<string, keyof OffboardInput | 'storageProfile'> = {
  connection: 'connectionName',
  role: 'roleName',
  policy: 'policyName',
  profile: 'materializeProfile',
  'storage-profile': 'storageProfile',
  bucket: 'bucket',
  prefix: 'prefix',
};

export const options: OptionSpecs = {
  connection: { type: 'string', value: 'C', help: 'the Materialize connection to drop' },
  role: { type: 'string', value: 'R', help: 'the IAM role to delete' },
  policy: { type: 'string', value: 'P', help: 'the IAM policy to detach and delete' },
  profile: COMMON_OPTIONS.profile,
  'storage-profile': COMMON_OPTIONS.storageProfile,
  'delete-data': { type: 'boolean', help: 'also delete every object under s3://BUCKET/PREFIX/ (asks first; --yes skips)' },
  bucket: { type: 'string', value: 'B', help: 'with --delete-data: the bucket' },
  prefix: { type: 'string', value: 'P', help: 'with --delete-data: the prefix' },
  yes: { type: 'boolean', help: 'do not ask before deleting data' },
  force: { type: 'boolean', help: 'offboard even while managed schedules still export through the connection' },
  file: { type: 'string', value: 'FILE', help: 'the onboarding or offboarding input as JSON' },
  plan: { type: 'boolean', help: 'print what it would delete; change nothing' },
  ...START_OPTIONS,
};

export function offboardInputFromArgs(args: ParsedArgs): OffboardInput {
  const input = inputFromFileAndFlags(args, FLAGS);
  if (args.flags['delete-data']) input.deleteData = true;
  // An onboarding input file names more than offboarding needs; keep only what offboarding reads.
  if (!input.deleteData && stringFlag(args, 'file')) {
    delete input.bucket;
    delete input.prefix;
  }
  const keep = (k: string) => k === 'storageProfile' || OFFBOARD_FIELDS.includes(k as keyof OffboardInput);
  return Object.fromEntries(Object.entries(input).filter(([k]) => keep(k))) as unknown as OffboardInput;
}

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 1, 'offboard takes only options');
  const raw = offboardInputFromArgs(args);
  const input = isCompatibleInput(raw) ? resolveCompatibleOffboardInput(raw) : resolveOffboardInput(raw);
  if (args.flags.plan) {
    if ('storageProfile' in input) throw new CliError('--plan lists IAM deletions; an S3-compatible store (--storage-profile) has none: offboarding drops its connection and secrets', 2);
    console.log(args.flags.json ? JSON.stringify({ input }, null, 2) : renderOffboardingPlan(input));
    return;
  }
  const workflow = {
    workflow: 'storageProfile' in input ? (offboardS3CompatibleConnection as unknown as typeof offboardAwsConnection) : offboardAwsConnection,
    defaultWorkflowId: `offboard-${input.connectionName}`,
    input: raw,
    beforeStart: async (client: Client) => {
      await refuseWhileSchedulesExport(client, input.connectionName, Boolean(args.flags.force));
      if (input.deleteData) await confirmOrRefuse(`delete every object under s3://${input.bucket}/${input.prefix}/`, Boolean(args.flags.yes));
    },
  };
  await startAndWait(args, workflow, (r: { changes: string[] }) =>
    console.log(r.changes.length ? r.changes.join('\n') : 'nothing to remove: it was all gone already'),
  );
}

/**
 * Offboarding drops the connection; a managed schedule exporting through it would then fail at every fire.
 * Name those schedules and stop, unless --force.
 */
async function refuseWhileSchedulesExport(client: Client, connectionName: string, force: boolean): Promise<void> {
  const using = await schedulesUsingConnection(client, connectionName);
  if (!using.length) return;
  const names = using.map((s) => `${s.scheduleId}${s.paused ? ' (paused)' : ''}`).join(', ');
  if (force) {
    console.error(`--force: offboarding ${connectionName} although these schedules export through it and will fail: ${names}`);
    return;
  }
  throw new CliError(
    `connection ${connectionName} is still used by managed schedule(s) ${names}. Remove them from the schedule file and ` +
      `'schedules apply' (or 'mz-s3-export schedules delete NAME'), or pass --force to offboard anyway; nothing was changed`,
    1,
  );
}
