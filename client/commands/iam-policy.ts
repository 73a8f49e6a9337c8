/**
 * `mz-s3-export iam-policy worker --role export|onboarding`: prints the IAM policy the worker's own AWS identity
 * needs, from the same generators the docs show and the tests enforce with moto. Offline: no Temporal, AWS or
 * Materialize is contacted.
 */
import { bucketNameProblem, normalizePrefix, prefixProblem } from '../../common/aws-names';
import { workerExportPolicy } from '../../common/export/worker-iam-policy';
import { workerOnboardingPolicy } from '../../common/onboarding/worker-iam-policy';
import { expectPositionals, stringFlag, UsageError, type OptionSpecs, type ParsedArgs } from '../args';
import { checkNotifications } from '../../common/events/input';
import type { PublicationNotifications } from '../../common/events/types';
import { Problems } from '../../common/failures';

export const usage = `iam-policy worker --role export|onboarding [--bucket B] [--prefix P] [--account ID] [--names PATTERN] [--notify JSON --region R]
                                                               the worker's own IAM policy (JSON) for exports or onboarding`;

export const options: OptionSpecs = {
  role: { type: 'string', value: 'ROLE', help: "what the worker runs: 'export' (bulkExport, schedules) or 'onboarding' (onboard, offboard)" },
  bucket: { type: 'string', value: 'BUCKET', help: 'the export bucket (default: a <BUCKET> placeholder; onboarding: any bucket)' },
  prefix: { type: 'string', value: 'PREFIX', help: "export only: the export prefix (default: a <PREFIX> placeholder)" },
  account: { type: 'string', value: 'ID', help: 'onboarding only: the AWS account id (default: an <ACCOUNT_ID> placeholder)' },
  names: { type: 'string', value: 'PATTERN', help: "onboarding only: the role and policy names it may manage, e.g. 'mz-s3-export-*' (default '*')" },
  partition: { type: 'string', value: 'NAME', help: "the AWS partition (default 'aws')" },
  'no-doctor': { type: 'boolean', help: "export only: leave out s3:ListAllMyBuckets, which only 'doctor' uses" },
  notify: { type: 'string', value: 'JSON', help: "export only: the exports' notify targets; adds sns:Publish / sqs:SendMessage / events:PutEvents on each" },
  region: { type: 'string', value: 'REGION', help: 'export only, with --notify: the region of an event bus given by name' },
};

const ROLES = ['export', 'onboarding'] as const;

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 2, "iam-policy takes one subject: 'worker'");
  if (args.positionals[1] !== 'worker') throw new UsageError("iam-policy needs the subject 'worker' (iam-policy worker --role export)");
  const role = stringFlag(args, 'role');
  if (!role || !(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  const bucket = stringFlag(args, 'bucket');
  const bucketProblem = bucket === undefined ? undefined : bucketNameProblem(bucket);
  if (bucketProblem) throw new UsageError(`--bucket: ${bucketProblem}`);
  const partition = stringFlag(args, 'partition');
  if (partition !== undefined && !/^aws(-[a-z]+)*$/.test(partition)) throw new UsageError(`--partition "${partition}" is not an AWS partition such as aws, aws-cn, aws-us-gov`);

  const onlyFor = (flags: string[], which: string) => {
    const given = flags.filter((f) => args.flags[f] !== undefined);
    if (given.length) throw new UsageError(`${given.map((f) => `--${f}`).join(', ')} ${given.length > 1 ? 'apply' : 'applies'} only to --role ${which}`);
  };
  if (role === 'export') {
    onlyFor(['names'], 'onboarding');
    const notify = notifyFlag(args);
    const prefix = stringFlag(args, 'prefix');
    const problem = prefix === undefined ? undefined : prefixProblem(prefix);
    if (problem) throw new UsageError(`--prefix: ${problem}`);
    const account = stringFlag(args, 'account');
    const region = stringFlag(args, 'region');
    const doc = workerExportPolicy({
      partition,
      bucket,
      prefix: prefix && normalizePrefix(prefix),
      doctor: !args.flags['no-doctor'],
      ...(notify ? { notify } : {}),
      ...(region ? { region } : {}),
      ...(account ? { accountId: account } : {}),
    });
    console.log(JSON.stringify(doc, null, 2));
    return;
  }
  onlyFor(['prefix', 'no-doctor', 'notify', 'region'], 'export');
  const account = stringFlag(args, 'account');
  if (account !== undefined && !/^\d{12}$/.test(account)) throw new UsageError(`--account must be a 12-digit AWS account id, not "${account}"`);
  const names = stringFlag(args, 'names');
  if (names !== undefined && !/^[\w+=,.@-]*\*?$/.test(names)) throw new UsageError(`--names must be an IAM name or a prefix ending in '*', e.g. mz-s3-export-*`);
  console.log(JSON.stringify(workerOnboardingPolicy({ partition, accountId: account, roles: names, policies: names, buckets: bucket }), null, 2));
}

/** --notify: the exports' `notify` object, checked as the export input checks it. */
function notifyFlag(args: ParsedArgs): PublicationNotifications | undefined {
  const raw = stringFlag(args, 'notify');
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`--notify must be JSON such as '{"sns": {"topicArn": "arn:aws:sns:..."}}': ${(e as Error).message}`);
  }
  const problems = new Problems();
  checkNotifications(parsed, problems);
  if (problems.list.length) throw new UsageError(`--notify: ${problems.list.join('; ')}`);
  return parsed as PublicationNotifications;
}
