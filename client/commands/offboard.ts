/**
 * `mz-s3-export offboard`: starts offboardAwsConnection (drop the connection, delete the policy and the role;
 * the bucket's data only with --delete-data). --plan prints what it would delete.
 */
import { OFFBOARD_FIELDS, resolveOffboardInput } from '../../common/onboarding/input';
import { renderOffboardingPlan } from '../onboarding-plan';
import type { OffboardInput } from '../../common/onboarding/types';
import { inputFromFileAndFlags, stringFlag, type ParsedArgs } from '../args';
import { startAndWait } from '../follow';

export const usage = `offboard --connection C --role R --policy P [--profile NAME] [--delete-data --bucket B --prefix P]
        | --file input.json [--plan] [--json] [--no-wait]      drop the connection, delete the IAM policy and role`;

const FLAGS: Record<string, keyof OffboardInput> = {
  connection: 'connectionName',
  role: 'roleName',
  policy: 'policyName',
  profile: 'materializeProfile',
  bucket: 'bucket',
  prefix: 'prefix',
};

export function offboardInputFromArgs(args: ParsedArgs): OffboardInput {
  const input = inputFromFileAndFlags(args, FLAGS);
  if (args.flags['delete-data']) input.deleteData = true;
  // An onboarding input file names more than offboarding needs; keep only what offboarding reads.
  if (!input.deleteData && stringFlag(args, 'file')) {
    delete input.bucket;
    delete input.prefix;
  }
  return Object.fromEntries(Object.entries(input).filter(([k]) => OFFBOARD_FIELDS.includes(k as keyof OffboardInput))) as unknown as OffboardInput;
}

export async function run(args: ParsedArgs): Promise<void> {
  const raw = offboardInputFromArgs(args);
  const input = resolveOffboardInput(raw);
  if (args.flags.plan) {
    console.log(args.flags.json ? JSON.stringify({ input }, null, 2) : renderOffboardingPlan(input));
    return;
  }
  const workflow = { workflowType: 'offboardAwsConnection', defaultWorkflowId: `offboard-${input.connectionName}`, input: raw };
  await startAndWait(args, workflow, (r: { changes: string[] }) =>
    console.log(r.changes.length ? r.changes.join('\n') : 'nothing to remove: it was all gone already'),
  );
}
