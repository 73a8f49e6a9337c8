/**
 * Onboarding never widens trust and never takes over what is not its own; offboarding deletes only what is its
 * own. Each case reproduces a way the earlier onboarding went wrong (a role trusting a wrong principal with the
 * placeholder external ID left behind; checks that failed only after bucket, policy and role were made; another
 * connection's role or policy taken over; two runs on one role both completing; offboarding deleting another
 * connection's role), on the real stack: the workflows on the Temporal dev server, moto's IAM and S3, mz-local.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  GetPolicyCommand,
  GetRoleCommand,
  ListPolicyVersionsCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { parsePolicyDocument, serializePolicy, trustPolicy } from '../../common/iam-policies';
import type { OffboardResult, OnboardResult } from '../../common/onboarding/progress';
import type { OffboardInput, OnboardInput } from '../../common/onboarding/types';
import { quoteIdent, quoteLiteral } from '../../common/sql/quoting';
import { sharedStack, type TestStack } from '../helpers/stack';
import { printTable } from './support/report';
import { failureOf, mzRows } from '../helpers/workflow-outcomes';
import { offboardAwsConnection, onboardAwsConnection } from '../../workflows';

const MZ_LOCAL_PRINCIPAL = 'arn:aws:iam::123456789012:role/MaterializeConnection';
const ACCOUNT = '123456789012';

describe('onboarding never widens trust and never takes over what is not its own', function () {
  this.timeout(120_000);
  let stack: TestStack;
  const rows: string[][] = [];

  before(async function () {
    this.timeout(180_000);
    stack = await sharedStack();
  });
  after(() => printTable('onboarding trust and ownership', ['scenario', 'outcome'], rows));

  function freshInput(overrides: Partial<OnboardInput> = {}): OnboardInput {
    const id = randomUUID().slice(0, 8);
    return {
      bucket: `trust-${id}`,
      prefix: 'exports',
      roleName: `mz-trust-${id}`,
      policyName: `mz-trust-${id}-s3`,
      connectionName: `trust_${id}`,
      validationTimeoutSeconds: 60,
      stepTimeoutSeconds: 30,
      retry: { initialIntervalSeconds: 0.3, maximumIntervalSeconds: 1 },
      ...overrides,
    };
  }

  const runOptions = () => ({ taskQueue: stack.taskQueue, workflowId: `trust-test-${randomUUID()}`, workflowExecutionTimeout: '3 minutes' });
  const start = (input: OnboardInput): Promise<WorkflowHandle<typeof onboardAwsConnection>> =>
    stack.temporal.workflow.start(onboardAwsConnection, { ...runOptions(), args: [input] });
  const onboard = async (input: OnboardInput): Promise<OnboardResult> => (await start(input)).result();
  const offboard = (input: OffboardInput): Promise<OffboardResult> => stack.temporal.workflow.execute(offboardAwsConnection, { ...runOptions(), args: [input] });


  const sql = <T extends object = Record<string, unknown>>(text: string) => mzRows<T>(stack, text);

  const exists = (p: Promise<unknown>) =>
    p.then(
      () => true,
      (e: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
        if (e.name === 'NoSuchEntity' || e.name === 'NoSuchEntityException' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return false;
        throw e;
      },
    );

  /** Which of the input's four objects exist. */
  async function made(input: OnboardInput) {
    return {
      bucket: await exists(stack.aws.s3.send(new HeadBucketCommand({ Bucket: input.bucket }))),
      policy: await exists(stack.aws.iam.send(new GetPolicyCommand({ PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/${input.policyName}` }))),
      role: await exists(stack.aws.iam.send(new GetRoleCommand({ RoleName: input.roleName }))),
      connection: (await sql(`SELECT 1 FROM mz_catalog.mz_connections WHERE name = ${quoteLiteral(input.connectionName)}`)).length > 0,
    };
  }
  const NOTHING = { bucket: false, policy: false, role: false, connection: false };

  async function trustOf(roleName: string) {
    const role = await stack.aws.iam.send(new GetRoleCommand({ RoleName: roleName }));
    return parsePolicyDocument(role.Role!.AssumeRolePolicyDocument!);
  }

  /** Every role in the account whose trust policy names this principal or the placeholder external ID. */
  async function rolesTrusting(what: string): Promise<string[]> {
    const roles = (await stack.aws.iam.send(new ListRolesCommand({ MaxItems: 1000 }))).Roles ?? [];
    return roles.filter((r) => decodeURIComponent(r.AssumeRolePolicyDocument ?? '').includes(what)).map((r) => r.RoleName!);
  }

  async function policyVersions(policyName: string) {
    const arn = `arn:aws:iam::${ACCOUNT}:policy/${policyName}`;
    return (await stack.aws.iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions ?? [];
  }

  async function validates(connectionName: string): Promise<boolean> {
    return sql(`VALIDATE CONNECTION ${quoteIdent(connectionName)}`).then(
      () => true,
      () => false,
    );
  }

  describe('the principal', () => {
    for (const [what, principal] of [
      ['an account root', 'arn:aws:iam::999999999999:root'],
      ['a user', 'arn:aws:iam::999999999999:user/someone'],
      ['a wildcard', '*'],
    ] as const) {
      it(`${what} as materializePrincipal is rejected before any write`, async () => {
        const input = freshInput({ materializePrincipal: principal });
        const f = await failureOf(onboard(input));
        assert.equal(f.type, 'InvalidInputError');
        assert.match(f.message, /materializePrincipal: .*is not an IAM role ARN/);
        assert.deepEqual(await made(input), NOTHING);
        assert.deepEqual(await rolesTrusting(principal), []);
        rows.push([`materializePrincipal ${principal}`, 'InvalidInputError, nothing made']);
      });
    }

    it("an aws-cn role (another partition than the worker's account) is rejected before any write", async () => {
      const principal = 'arn:aws-cn:iam::123456789012:role/MaterializeConnection';
      const input = freshInput({ materializePrincipal: principal });
      const f = await failureOf(onboard(input));
      assert.equal(f.type, 'ConflictError');
      assert.match(f.message, /^preflight: materializePrincipal: .*partition aws-cn.*partition aws|^preflight: materializePrincipal: .*aws-cn.*aws/);
      assert.deepEqual(await made(input), NOTHING);
      assert.deepEqual(await rolesTrusting(principal), []);
      rows.push(['materializePrincipal in aws-cn', 'ConflictError, nothing made']);
    });

    it("another account's role, well-formed but not what Materialize reports: nothing trusts it, nothing is left", async () => {
      const principal = 'arn:aws:iam::999999999999:role/MaterializeConnection';
      const input = freshInput({ materializePrincipal: principal });
      const f = await failureOf(onboard(input));
      assert.equal(f.type, 'ConflictError');
      assert.match(f.message, new RegExp(`materializePrincipal is ${principal} but Materialize reports ${MZ_LOCAL_PRINCIPAL}; remove materializePrincipal`));
      // With another AWS connection in the environment the preflight knows the principal already; in a fresh one
      // the check comes right after CREATE CONNECTION, and the connection is dropped again.
      if (f.message.startsWith('catalog:')) assert.match(f.message, /\(connection trust_\w+, which this run had created, was dropped again: nothing is left\)$/);
      else assert.match(f.message, /^preflight: /);
      assert.deepEqual(await rolesTrusting(principal), [], 'no role trusts the wrong principal');
      assert.deepEqual(await made(input), NOTHING, 'the connection this run made was dropped again, nothing else was made');
      rows.push(["another account's role as materializePrincipal", 'ConflictError, nothing made or left']);
    });

    it('no placeholder trust policy exists at any moment: the role is created trusting this external ID', async () => {
      const input = freshInput({ materializePrincipal: MZ_LOCAL_PRINCIPAL });
      const handle = await start(input);
      // Watch the role from the outside while the run goes: every trust policy it ever has.
      const seen = new Set<string>();
      let done = false;
      const watching = (async () => {
        while (!done) {
          const doc = await trustOf(input.roleName).catch(() => undefined);
          if (doc) seen.add(JSON.stringify(doc));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const result: OnboardResult = await handle.result().finally(() => (done = true));
      await watching;
      assert.deepEqual([...seen].map((d) => JSON.parse(d)), [trustPolicy(MZ_LOCAL_PRINCIPAL, result.externalId)]);
      assert.ok(
        result.changes.includes(`role ${input.roleName}: created, trusting ${MZ_LOCAL_PRINCIPAL} with external ID ${result.externalId}`),
        result.changes.join('\n'),
      );
      // The run's own record: no activity was ever asked to write the placeholder.
      const inputs = ((await handle.fetchHistory()).events ?? []).flatMap((e) =>
        (e.activityTaskScheduledEventAttributes?.input?.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString('utf8')),
      );
      assert.ok(inputs.some((i) => i.includes(result.externalId)), 'the activity inputs are readable');
      assert.deepEqual(inputs.filter((i) => i.includes('PENDING')), []);
      rows.push(['onboarding with materializePrincipal', 'role created with its final trust policy only']);
    });
  });

  describe('every check that can fail runs before the first write', () => {
    it('a connection name taken by a connection to another role fails with no bucket, policy or role made', async () => {
      const input = freshInput();
      await sql(
        `CREATE CONNECTION ${quoteIdent(input.connectionName)} TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::${ACCOUNT}:role/someone-else') WITH (VALIDATE = false)`,
      );
      const f = await failureOf(onboard(input));
      assert.equal(f.type, 'ConflictError');
      assert.match(f.message, /^preflight: connection trust_\w+ exists and assumes role arn:aws:iam::123456789012:role\/someone-else/);
      assert.deepEqual(await made(input), { ...NOTHING, connection: true });
      rows.push(['connection name owned by another role', 'ConflictError in preflight, nothing made']);
    });

    it('a failure after writes names each thing the run made and how to remove it', async () => {
      await sql('ALTER SYSTEM SET mz_local_propagation_delay_seconds = 60');
      try {
        const input = freshInput({ validationTimeoutSeconds: 1 });
        const f = await failureOf(onboard(input));
        assert.equal(f.type, 'NotYetError');
        for (const thing of [`connection ${input.connectionName}: created`, `bucket ${input.bucket}: created`, `policy ${input.policyName}: created`, `role ${input.roleName}: created`]) {
          assert.ok(f.message.includes(thing), `${thing} in ${f.message}`);
        }
        assert.match(f.message, /remove them with offboardAwsConnection \{"connectionName":"trust_\w+","roleName":"mz-trust-\w+","policyName":"mz-trust-\w+-s3"\}/);
        const off = await offboard({ connectionName: input.connectionName, roleName: input.roleName, policyName: input.policyName });
        assert.equal(off.roleDeleted && off.policyDeleted && off.connectionDropped, true);
        rows.push(['validation times out after writes', 'failure lists what was made; offboarding removes it']);
      } finally {
        await sql('ALTER SYSTEM RESET mz_local_propagation_delay_seconds');
      }
    });
  });

  describe("another connection's role or policy is never taken over", () => {
    let first: OnboardInput;
    let firstResult: OnboardResult;

    before(async function () {
      this.timeout(120_000);
      first = freshInput();
      firstResult = await onboard(first);
    });

    it("a second connection naming the first one's role is refused; the first keeps its access", async () => {
      const second = freshInput({ roleName: first.roleName });
      const f = await failureOf(onboard(second));
      assert.equal(f.type, 'ConflictError');
      assert.match(f.message, new RegExp(`role ${first.roleName} (is assumed by connection ${first.connectionName}|serves connection .*/${first.connectionName})`));
      assert.match(f.message, /choose another roleName/);
      assert.deepEqual(await trustOf(first.roleName), trustPolicy(MZ_LOCAL_PRINCIPAL, firstResult.externalId));
      assert.ok(await validates(first.connectionName), 'the first connection still validates');
      assert.deepEqual(await made({ ...second, roleName: `${second.roleName}-none` }), NOTHING);
      rows.push(["second connection with the first's roleName", 'ConflictError, first untouched, nothing made']);
    });

    it("a second connection naming the first one's policy is refused; the policy keeps its one version", async () => {
      const second = freshInput({ policyName: first.policyName });
      const f = await failureOf(onboard(second));
      assert.equal(f.type, 'ConflictError');
      assert.match(f.message, new RegExp(`policy ${first.policyName} (serves connection .*/${first.connectionName}|is attached to role ${first.roleName})`));
      assert.equal((await policyVersions(first.policyName)).length, 1);
      assert.deepEqual(await made({ ...second, policyName: `${second.policyName}-none` }), NOTHING);
      rows.push(["second connection with the first's policyName", 'ConflictError, policy unchanged, nothing made']);
    });

    it("offboarding with the first connection's role and policy but another connection name deletes nothing", async () => {
      const f = await failureOf(offboard({ connectionName: `other_${randomUUID().slice(0, 8)}`, roleName: first.roleName, policyName: first.policyName }));
      assert.equal(f.type, 'ConflictError');
      assert.match(f.message, /^preflight: role mz-trust-\w+ serves connection .*, not .*; offboard that connection instead/);
      assert.deepEqual(await made(first), { bucket: true, policy: true, role: true, connection: true });
      assert.ok(await validates(first.connectionName), 'the first connection still validates');
      rows.push(["offboarding another connection's role and policy", 'ConflictError, nothing deleted']);
    });
  });

  it('a foreign untagged policy attached to other roles is refused, not given a new version', async () => {
    const input = freshInput();
    const policy = await stack.aws.iam.send(
      new CreatePolicyCommand({
        PolicyName: input.policyName,
        PolicyDocument: serializePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::elsewhere/*' }] }),
      }),
    );
    const otherRole = `someone-${randomUUID().slice(0, 8)}`;
    await stack.aws.iam.send(
      new CreateRoleCommand({
        RoleName: otherRole,
        AssumeRolePolicyDocument: serializePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
      }),
    );
    await stack.aws.iam.send(new AttachRolePolicyCommand({ RoleName: otherRole, PolicyArn: policy.Policy!.Arn }));
    const f = await failureOf(onboard(input));
    assert.equal(f.type, 'ConflictError');
    assert.match(f.message, new RegExp(`^preflight: policy ${input.policyName} is attached to role ${otherRole}, which mz-s3-export did not attach it to .*choose another policyName, or detach it there`));
    assert.equal((await policyVersions(input.policyName)).length, 1);
    assert.deepEqual(await made(input), { ...NOTHING, policy: true });
    rows.push(['foreign policy attached to another role', 'ConflictError in preflight, no new version']);
  });

  it("an untagged role made by hand for another connection's external ID is refused", async () => {
    const input = freshInput();
    await stack.aws.iam.send(
      new CreateRoleCommand({ RoleName: input.roleName, AssumeRolePolicyDocument: serializePolicy(trustPolicy(MZ_LOCAL_PRINCIPAL, 'mz_someone-else_u1')) }),
    );
    const f = await failureOf(onboard(input));
    assert.equal(f.type, 'ConflictError');
    assert.match(f.message, /requires external ID mz_someone-else_u1, which is not connection trust_\w+'s/);
    assert.deepEqual(await trustOf(input.roleName), trustPolicy(MZ_LOCAL_PRINCIPAL, 'mz_someone-else_u1'));
    assert.deepEqual(await made(input), { ...NOTHING, role: true });
    rows.push(["hand-made role for another external ID", 'ConflictError, role untouched, nothing made']);
  });

  it('two onboardings of one role with different connection names at the same time: exactly one completes', async () => {
    const a = freshInput();
    const b = freshInput({ roleName: a.roleName });
    const [ra, rb] = await Promise.allSettled([onboard(a), onboard(b)]);
    const won = [ra, rb].filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<OnboardResult>[];
    const lost = [ra, rb].filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(won.length, 1, `${won.length} completed`);
    const cause = (lost[0].reason as WorkflowFailedError).cause as { type?: string; message: string };
    assert.equal(cause.type, 'ConflictError', cause.message);
    const winner = ra.status === 'fulfilled' ? a : b;
    const loser = winner === a ? b : a;
    assert.deepEqual(await trustOf(a.roleName), trustPolicy(MZ_LOCAL_PRINCIPAL, won[0].value.externalId));
    assert.ok(await validates(winner.connectionName));
    assert.equal((await made(loser)).connection, false, "the loser's connection is not left");
    rows.push(['two onboardings of one role at once', `one completed, the other: ${cause.message.slice(0, 60)}...`]);
  });

  it('an existing bucket in use stays; a role made by hand following the guide (placeholder) is adopted and bound', async () => {
    const input = freshInput({ createBucket: false });
    await stack.aws.s3.send(new CreateBucketCommand({ Bucket: input.bucket }));
    await stack.aws.iam.send(new CreateRoleCommand({ RoleName: input.roleName, AssumeRolePolicyDocument: serializePolicy(trustPolicy(MZ_LOCAL_PRINCIPAL, 'PENDING')) }));
    const result = await onboard(input);
    assert.deepEqual(await trustOf(input.roleName), trustPolicy(MZ_LOCAL_PRINCIPAL, result.externalId));
    const role = await stack.aws.iam.send(new GetRoleCommand({ RoleName: input.roleName }));
    const binding = role.Role!.Tags!.find((t) => t.Key === 'mz-s3-export:connection')?.Value;
    assert.match(binding ?? '', new RegExp(`/${input.connectionName}$`));
    rows.push(['hand-made role with the placeholder', 'adopted, bound by tag']);
  });
});
