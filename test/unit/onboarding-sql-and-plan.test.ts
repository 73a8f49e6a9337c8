import { strict as assert } from 'node:assert';
import { classifyProbeFailure, classifyValidateFailure } from '../../activities/onboarding/connection-failures';
import { resolveOffboardInput, resolveOnboardInput } from '../../common/onboarding/input';
import { onboardingPlan, renderOffboardingPlan, renderOnboardingPlan } from '../../client/onboarding-plan';
import {
  connectionCatalogSql,
  createConnectionSql,
  probeCopySql,
  probeKeyPrefix,
  probeRunPrefix,
  validateConnectionSql,
} from '../../common/onboarding/sql';
import { onboardInputFromArgs, options as onboardOptions } from '../../client/commands/onboard';
import { offboardInputFromArgs, options as offboardOptions } from '../../client/commands/offboard';
import { parseArgs } from '../../client/args';

describe('onboarding SQL', () => {
  it('quotes the connection name and escapes literals', () => {
    assert.equal(
      createConnectionSql('conn', "arn:aws:iam::123456789012:role/o'brien", 'us-east-1'),
      `CREATE CONNECTION "conn" TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/o''brien', REGION = 'us-east-1') WITH (VALIDATE = false)`,
    );
    assert.equal(validateConnectionSql('conn'), 'VALIDATE CONNECTION "conn"');
    assert.match(connectionCatalogSql("x' OR '1'='1"), /WHERE c\.name = 'x'' OR ''1''=''1'$/);
  });

  it('the probe COPY has the shape Materialize takes', () => {
    assert.equal(
      probeCopySql('conn', 's3://b/p/_probe/r-0001/'),
      `COPY (SELECT 1 AS probe) TO 's3://b/p/_probe/r-0001/' WITH (AWS CONNECTION = "conn", FORMAT = 'csv')`,
    );
  });

  it('probe paths never prefix one another, and all start with the run prefix', () => {
    const paths = [1, 2, 10, 100].map((n) => probeKeyPrefix('p', 'run', n));
    assert.deepEqual(paths, ['p/_probe/run-0001', 'p/_probe/run-0002', 'p/_probe/run-0010', 'p/_probe/run-0100']);
    for (const a of paths) for (const b of paths) if (a !== b) assert.ok(!b.startsWith(a));
    for (const a of paths) assert.ok(a.startsWith(probeRunPrefix('p', 'run')));
  });
});

describe('classifying Materialize failures', () => {
  it('tells "not yet assumable" from an insecure trust policy', () => {
    assert.equal(
      classifyValidateFailure(
        'role trust policy does not require an external ID | Trust policy for role arn:aws:iam::1:role/r is insecure',
      ),
      'insecure-trust-policy',
    );
    assert.equal(
      classifyValidateFailure(
        'User: arn:aws:sts::123456789012:assumed-role/MaterializeConnection/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::1:role/r',
      ),
      'not-yet-assumable',
    );
    assert.equal(classifyValidateFailure('unknown catalog item \'conn\''), 'unknown-connection');
    assert.equal(classifyValidateFailure('connection reset'), 'other');
  });

  it('reads the probe COPY failures', () => {
    assert.equal(classifyProbeFailure('AccessDenied error when using DeleteObject'), 'access-denied');
    assert.equal(classifyProbeFailure('S3 bucket path is not empty, contains 1 objects'), 'path-not-empty');
  });
});

describe('--plan and the CLI input', () => {
  const argv = [
    'onboard', '--bucket', 'acme', '--prefix', 'exp', '--role', 'r', '--policy', 'p', '--connection', 'c',
    '--create-bucket', 'false', '--validation-timeout', '90', '--plan',
  ];

  it('flags become the workflow input', () => {
    const input = onboardInputFromArgs(parseArgs(argv, onboardOptions));
    assert.deepEqual(input, {
      bucket: 'acme', prefix: 'exp', roleName: 'r', policyName: 'p', connectionName: 'c',
      createBucket: false, validationTimeoutSeconds: 90,
    });
  });

  it('the plan shows the documents and SQL the run applies, with placeholders for what it learns', () => {
    const input = resolveOnboardInput(onboardInputFromArgs(parseArgs(argv, onboardOptions)));
    const plan = onboardingPlan(input);
    assert.deepEqual((plan.policy.document.Statement as any[]).map((s) => s.Action), [['s3:PutObject', 's3:DeleteObject'], ['s3:ListBucket']]);
    assert.match(JSON.stringify(plan.role.trustPolicy), /"sts:ExternalId":"<external_id from mz_internal.mz_aws_connections>"/);
    assert.doesNotMatch(JSON.stringify(plan), /PENDING/, 'no placeholder trust policy is ever applied');
    assert.match(plan.sql.createConnection, /^CREATE CONNECTION "c" TO AWS \(ASSUME ROLE ARN = 'arn:aws:iam::<account id>:role\/r'/);
    const text = renderOnboardingPlan(plan);
    for (const step of ['1. Preflight', '2. CREATE CONNECTION', '4. Bucket acme', '5. IAM policy p', '6. IAM role r', '7. VALIDATE CONNECTION "c"', '8. COPY (SELECT 1 AS probe)']) {
      assert.ok(text.includes(step), `${step} in\n${text}`);
    }
    assert.match(text, /fail \(createBucket is false\)/);
  });

  it('offboarding keeps the data unless asked', () => {
    const args = parseArgs(['offboard', '--connection', 'c', '--role', 'r', '--policy', 'p'], offboardOptions);
    assert.match(renderOffboardingPlan(resolveOffboardInput(offboardInputFromArgs(args))), /data in the bucket stays/);
    const del = parseArgs(['offboard', '--connection', 'c', '--role', 'r', '--policy', 'p', '--delete-data', '--bucket', 'bkt', '--prefix', 'x'], offboardOptions);
    assert.match(renderOffboardingPlan(resolveOffboardInput(offboardInputFromArgs(del))), /Delete every object under s3:\/\/bkt\/x\//);
  });
});
