import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { workerOnboardingPolicy } from '../../common/onboarding/worker-iam-policy';
import { workerExportPolicy } from '../../common/export/worker-iam-policy';
import { statementsOf } from '../../common/iam-policies';
import { startCli } from '../helpers/cli-process';

describe("the worker's IAM policy for onboarding", () => {
  it('docs/security.md shows exactly what workerOnboardingPolicy() generates', () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'security.md'), 'utf8');
    const section = doc.slice(doc.indexOf("## The worker's own AWS permissions for onboarding"));
    const shown = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
    assert.ok(shown, 'a JSON block in the section');
    assert.deepEqual(JSON.parse(shown), workerOnboardingPolicy({ roles: 'mz-s3-export-*', policies: 'mz-s3-export-*', buckets: 'acme-exports' }));
  });

  it('every action the onboarding activities call is in it (each AWS command they import)', () => {
    const files = ['aws-iam.ts', 'iam-ownership.ts', 'preflight.ts', 's3-bucket.ts'].map((f) =>
      fs.readFileSync(path.join(__dirname, '..', '..', 'activities', 'onboarding', f), 'utf8'),
    );
    const granted = JSON.stringify(workerOnboardingPolicy());
    // The IAM action of a command is its name without 'Command' (HeadBucket and the public access block calls
    // are authorized as s3:ListBucket and s3:*BucketPublicAccessBlock).
    const aliases: Record<string, string> = {
      HeadBucket: 's3:ListBucket',
      ListObjectsV2: 's3:ListBucket',
      DeleteObjects: 's3:DeleteObject',
      GetPublicAccessBlock: 's3:GetBucketPublicAccessBlock',
      PutPublicAccessBlock: 's3:PutBucketPublicAccessBlock',
    };
    const commands = new Set(files.flatMap((f) => [...f.matchAll(/\b([A-Z][A-Za-z0-9]+)Command\b/g)].map((m) => m[1])));
    const missing = [...commands].filter((c) => !(aliases[c] ? granted.includes(`"${aliases[c]}"`) : new RegExp(`"(iam|s3|sts):${c}"`).test(granted)));
    assert.deepEqual(missing, []);
  });
});

describe("the worker's IAM policy for exports", function () {
  this.timeout(30_000);
  const root = path.join(__dirname, '..', '..');

  it('docs/operations.md shows exactly what workerExportPolicy() generates, and the CLI prints the same', async () => {
    const doc = fs.readFileSync(path.join(root, 'docs', 'operations.md'), 'utf8');
    const section = doc.slice(doc.indexOf("**The worker's own permissions for exports**"));
    const shown = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
    assert.ok(shown, 'a JSON block in the section');
    const expected = workerExportPolicy({ bucket: 'acme-exports', prefix: 'exports' });
    assert.deepEqual(JSON.parse(shown), expected);
    const printed = await cliOutput(['iam-policy', 'worker', '--role', 'export', '--bucket', 'acme-exports', '--prefix', 'exports/']);
    assert.deepEqual(JSON.parse(printed), expected);
  });

  it('scopes every object action to <bucket>/<prefix>/* and listing to the prefix', () => {
    const statements = statementsOf(workerExportPolicy({ bucket: 'b1', prefix: 'team/x', doctor: false }));
    assert.deepEqual(
      statements.map((s) => [s.Action, s.Resource, s.Condition]),
      [
        [['s3:ListBucket'], 'arn:aws:s3:::b1', { StringLike: { 's3:prefix': ['team/x/*'] } }],
        [['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], 'arn:aws:s3:::b1/team/x/*', undefined],
      ],
    );
  });

  it('every S3 call the export activities make is in it (each AWS command they import)', () => {
    const dir = path.join(root, 'activities', 'export');
    const files = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
    const granted = JSON.stringify(workerExportPolicy());
    const aliases: Record<string, string> = { ListObjectsV2: 's3:ListBucket', DeleteObjects: 's3:DeleteObject', HeadObject: 's3:GetObject' };
    const commands = new Set(files.flatMap((f) => [...f.matchAll(/\b([A-Z][A-Za-z0-9]+)Command\b/g)].map((m) => m[1])));
    assert.ok(commands.size >= 4, `found ${[...commands]}`);
    const missing = [...commands].filter((c) => !granted.includes(`"${aliases[c] ?? `s3:${c}`}"`));
    assert.deepEqual(missing, []);
  });

  it('retention needs nothing more; publication events add one statement per notify target, on that resource only', async () => {
    const granted = JSON.stringify(workerExportPolicy());
    const retention = ['retention/expiry.ts', 's3-folders.ts'].map((f) => fs.readFileSync(path.join(root, 'activities', f), 'utf8')).join('\n');
    const s3Commands = new Set([...retention.matchAll(/\b([A-Z][A-Za-z0-9]+)Command\b/g)].map((m) => m[1]));
    const aliases: Record<string, string> = { ListObjectsV2: 's3:ListBucket', DeleteObjects: 's3:DeleteObject' };
    assert.deepEqual([...s3Commands].filter((c) => !granted.includes(`"${aliases[c] ?? `s3:${c}`}"`)), []);

    const notify = {
      sns: { topicArn: 'arn:aws:sns:eu-west-1:123456789012:published' },
      sqs: { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/published' },
      eventBridge: { eventBusName: 'exports' },
      temporal: { workflowType: 'load', taskQueue: 'loads' },
    };
    const policy = workerExportPolicy({ bucket: 'bucket-1', prefix: 'x', doctor: false, notify, region: 'eu-west-1', accountId: '123456789012' });
    assert.deepEqual(
      statementsOf(policy).slice(2).map((s) => [s.Action, s.Resource]),
      [
        [['sns:Publish'], 'arn:aws:sns:eu-west-1:123456789012:published'],
        [['sqs:SendMessage'], 'arn:aws:sqs:eu-west-1:123456789012:published'],
        [['events:PutEvents'], 'arn:aws:events:eu-west-1:123456789012:event-bus/exports'],
      ],
    );
    const events = fs.readFileSync(path.join(root, 'activities', 'events', 'notify.ts'), 'utf8');
    const eventCommands = [...new Set([...events.matchAll(/\b([A-Z][A-Za-z0-9]+)Command\b/g)].map((m) => m[1]))].sort();
    // sts:GetCallerIdentity needs no permission (AWS STS API reference); it names a denied bus's account.
    assert.deepEqual(eventCommands, ['GetCallerIdentity', 'Publish', 'PutEvents', 'SendMessage']);
    const printed = await cliOutput(['iam-policy', 'worker', '--role', 'export', '--bucket', 'bucket-1', '--prefix', 'x', '--no-doctor', '--notify', JSON.stringify(notify), '--region', 'eu-west-1', '--account', '123456789012']);
    assert.deepEqual(JSON.parse(printed), policy);
  });

  it('the CLI refuses options of the other role and bad names, saying what to change', async () => {
    await assert.rejects(cliOutput(['iam-policy', 'worker', '--role', 'onboarding', '--prefix', 'x']), /exit 2: .*--prefix applies only to --role export/);
    await assert.rejects(cliOutput(['iam-policy', 'worker', '--role', 'exporter', '--bucket', 'Bad_Bucket']), /exit 2: .*--role must be one of export, onboarding/);
    const onboarding = JSON.parse(await cliOutput(['iam-policy', 'worker', '--role', 'onboarding', '--names', 'mz-s3-export-*', '--bucket', 'acme-exports']));
    assert.deepEqual(onboarding, workerOnboardingPolicy({ roles: 'mz-s3-export-*', policies: 'mz-s3-export-*', buckets: 'acme-exports' }));
  });
});

/** What `mz-s3-export <argv>` prints on stdout, run as a user runs it; rejects with stderr on a non-zero exit. */
async function cliOutput(argv: string[]): Promise<string> {
  const { code, stdout, stderr } = await startCli(argv, {}).exited;
  if (code !== 0) throw new Error(`exit ${code}: ${stderr}`);
  return stdout;
}
