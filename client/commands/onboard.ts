/**
 * `mz-s3-export onboard`: starts the onboardAwsConnection workflow from flags or a JSON file (the same JSON the
 * Temporal Web UI takes), then waits with a progress line and prints the result; --plan prints the IAM documents
 * and SQL it would apply and changes nothing.
 */
import { isCompatibleInput, resolveCompatibleOnboardInput, resolveOnboardInput } from '../../common/onboarding/input';
import { onboardingPlan, renderOnboardingPlan } from '../onboarding-plan';
import type { OnboardInput } from '../../common/onboarding/types';
import { booleanValueFlag, CliError, COMMON_OPTIONS, expectPositionals, inputFromFileAndFlags, numberFlag, type OptionSpecs, type ParsedArgs, START_OPTIONS } from '../args';
import { startAndWait } from '../follow';
import { onboardAwsConnection, onboardS3CompatibleConnection } from '../../workflows';

export const usage = `onboard --bucket B --prefix P --connection C (--role R --policy P [--region R] [--principal ARN] | --storage-profile NAME)
        [--profile NAME] [--create-bucket false] [--validation-timeout SECONDS] | --file input.json
        [--plan] [--json] [--no-wait | --wait-for-worker] [--workflow-id ID]
                                                            bucket, IAM policy and role, Materialize connection, validated`;

/** Flag name -> input field; flags override the file's values. */
const FLAGS: Record<string, keyof OnboardInput | 'storageProfile'> = {
  bucket: 'bucket',
  prefix: 'prefix',
  region: 'region',
  role: 'roleName',
  policy: 'policyName',
  connection: 'connectionName',
  principal: 'materializePrincipal',
  profile: 'materializeProfile',
  'storage-profile': 'storageProfile',
};

export const options: OptionSpecs = {
  bucket: { type: 'string', value: 'B', help: 'the S3 bucket (created unless --create-bucket false; an existing one is adopted)' },
  prefix: { type: 'string', value: 'P', help: 'the key prefix the IAM policy allows' },
  region: { type: 'string', value: 'R', help: "the bucket's region; must match the worker's AWS_REGION" },
  role: { type: 'string', value: 'R', help: 'the IAM role Materialize assumes' },
  policy: { type: 'string', value: 'P', help: 'the IAM policy attached to the role' },
  connection: { type: 'string', value: 'C', help: 'the Materialize connection to create' },
  principal: { type: 'string', value: 'ARN', help: "Materialize's AWS principal (default: read from an existing connection)" },
  profile: COMMON_OPTIONS.profile,
  'storage-profile': COMMON_OPTIONS.storageProfile,
  'create-bucket': { type: 'string', value: 'true|false', help: 'create the bucket when missing (default true)' },
  'validation-timeout': { type: 'string', value: 'SECONDS', help: 'how long to retry VALIDATE CONNECTION while IAM propagates' },
  file: { type: 'string', value: 'FILE', help: 'the input as JSON (the Web UI form); flags override its fields' },
  plan: { type: 'boolean', help: 'print the IAM documents and SQL it would apply; change nothing' },
  ...START_OPTIONS,
};

export function onboardInputFromArgs(args: ParsedArgs): OnboardInput {
  const input = inputFromFileAndFlags(args, FLAGS);
  const createBucket = booleanValueFlag(args, 'create-bucket');
  if (createBucket !== undefined) input.createBucket = createBucket;
  const timeout = numberFlag(args, 'validation-timeout');
  if (timeout !== undefined) input.validationTimeoutSeconds = timeout;
  return input as unknown as OnboardInput;
}

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 1, 'onboard takes only options');
  const raw = onboardInputFromArgs(args);
  if (isCompatibleInput(raw)) return onboardCompatible(args, raw);
  const input = resolveOnboardInput(raw); // bad input stops here, before anything is started
  if (args.flags.plan) {
    const plan = onboardingPlan(input);
    console.log(args.flags.json ? JSON.stringify(plan, null, 2) : renderOnboardingPlan(plan));
    return;
  }
  const workflow = { workflow: onboardAwsConnection, defaultWorkflowId: `onboard-${input.connectionName}`, input: raw };
  await startAndWait(args, workflow, (r: Record<string, unknown>) => {
    for (const k of ['connectionName', 'roleArn', 'policyArn', 'externalId', 'validatedAt']) console.log(`${k.padEnd(15)} ${r[k]}`);
    const changes = r.changes as string[];
    console.log(changes.length ? `changes:\n  ${changes.join('\n  ')}` : 'changes: none (everything already matched)');
  });
}

/** An S3-compatible store (--storage-profile): secrets and an access-key connection, proved by the probe COPY. */
async function onboardCompatible(args: ParsedArgs, raw: OnboardInput): Promise<void> {
  const input = resolveCompatibleOnboardInput(raw);
  if (args.flags.plan) throw new CliError('--plan prints IAM documents; an S3-compatible store (--storage-profile) has none (docs/s3-compatible.md lists the SQL)', 2);
  const workflow = { workflow: onboardS3CompatibleConnection, defaultWorkflowId: `onboard-${input.connectionName}`, input: raw as never };
  await startAndWait(args, workflow, (r: Record<string, unknown>) => {
    for (const k of ['connectionName', 'connectionId', 'endpoint', 'region', 'secrets']) console.log(`${k.padEnd(15)} ${r[k]}`);
    console.log(`changes:\n  ${(r.changes as string[]).join('\n  ')}`);
  });
}
