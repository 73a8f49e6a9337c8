/**
 * The worker's documented IAM permissions (common/export/worker-iam-policy.ts) for publication events and
 * retention, on a moto of the suite's own that enforces IAM: the worker's key belongs to an IAM user holding only
 * the generated policy for the export prefix and the named `notify` targets (swapped between cases with
 * PutUserPolicy; moto reads a user's policies at every request), Materialize writes with a second user holding the
 * guide's policy for the prefix.
 *
 * Proven here: with exactly the generated policy one export announces itself to SNS, SQS and EventBridge; without
 * one target's statement that notification is refused by moto and reported failed, naming the action and the
 * resource to grant, while the data stays published and the other targets are notified; a queue the policy does
 * not name is refused (least privilege); a snapshot set's event needs the same statements; expireExports deletes
 * an expired logical time with the same policy.
 *
 * What moto 5.2 cannot check (helpers/enforcing-aws.ts adaptForMoto, docs/security.md): it authorizes sns:Publish
 * and events:PutEvents against the resource `*`, so the tested policy grants those two actions on `*`; that a topic
 * or bus outside the policy is refused therefore rests on AWS's resource-level permissions for them (the unit test
 * test/unit/worker-iam-policy.test.ts shows the generated statements name exactly the topic and the bus).
 * sqs:SendMessage is checked against the queue's ARN, exactly as AWS does.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { serializePolicy, statementsOf, type PolicyDocument } from '../../common/iam-policies';
import type { BulkExportInput, BulkExportResult } from '../../common/export/types';
import type { NotificationTarget, PublicationEvent, PublicationNotifications } from '../../common/events/types';
import type { ExpireResult } from '../../common/retention/types';
import { workerExportPolicy } from '../../common/export/worker-iam-policy';
import { adaptForMoto, MOTO_ACCOUNT, REGION, startEnforcingAws, type AccessKey, type EnforcingAws } from '../helpers/enforcing-aws';
import { FAST_TUNING, runExport } from '../helpers/export-run';
import { sharedStack, type TestStack } from '../helpers/stack';
import { expireExports, snapshotSet } from '../../workflows';
import type { SnapshotSetResult } from '../../common/export/snapshot-set';

/** The statement each target adds to the generated policy (common/export/worker-iam-policy.ts). */
const STATEMENT_OF: Record<Exclude<NotificationTarget, 'temporal'>, { sid: string; action: string }> = {
  sns: { sid: 'PublishExportEventsSns', action: 'sns:Publish' },
  sqs: { sid: 'PublishExportEventsSqs', action: 'sqs:SendMessage' },
  eventBridge: { sid: 'PublishExportEventsEventBridge', action: 'events:PutEvents' },
};

describe("the worker's documented IAM permissions for publication events and retention, enforced by moto", function () {
  this.timeout(240_000);
  const id = randomUUID().slice(0, 8);
  const bucket = `authz-events-${id}`;
  const prefix = 'exports';
  const connectionName = 'authz_events_conn';
  const taskQueue = `mz-s3-export-authz-events-${process.pid}`;
  let aws: EnforcingAws;
  let stack: TestStack;
  let workerKey: AccessKey;
  let admin: { sns: SNSClient; sqs: SQSClient; eventBridge: EventBridgeClient };
  let notify: Required<Pick<PublicationNotifications, 'sns' | 'sqs' | 'eventBridge'>>;
  /** Where the events land, read with the admin key: the queue itself, a queue subscribed to the topic, one the bus routes to. */
  const inbox = { sqs: '', sns: '', eventBridge: '' };
  let otherQueue = { url: '', arn: '' };

  /** The generated policy for the export prefix and these notify targets, adapted only where moto must be. */
  const generated = (n: PublicationNotifications) => workerExportPolicy({ bucket, prefix, notify: n, region: REGION, accountId: MOTO_ACCOUNT });
  const holdOnly = async (policy: PolicyDocument) =>
    aws.admin.iam.send(new PutUserPolicyCommand({ UserName: workerKey.userName, PolicyName: 'only-this', PolicyDocument: serializePolicy(adaptForMoto(policy)) }));

  async function queue(name: string): Promise<{ url: string; arn: string }> {
    const url = (await admin.sqs.send(new CreateQueueCommand({ QueueName: `${name}-${id}` }))).QueueUrl!;
    const attrs = await admin.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    return { url, arn: attrs.Attributes!.QueueArn! };
  }

  /** The event ids a queue holds now (moto delivers SNS and EventBridge at once). */
  async function drain(url: string): Promise<string[]> {
    const ids: string[] = [];
    for (;;) {
      const res = await admin.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!res.Messages?.length) return ids;
      for (const m of res.Messages) {
        const body = JSON.parse(m.Body!) as PublicationEvent & { detail?: PublicationEvent };
        ids.push(body.detail?.id ?? body.id);
      }
    }
  }

  before(async () => {
    stack = await sharedStack();
    aws = await startEnforcingAws('authz-events');
    const clientConfig = { region: REGION, endpoint: aws.endpoint, credentials: { accessKeyId: aws.admin.key.accessKeyId, secretAccessKey: aws.admin.key.secretAccessKey } };
    admin = { sns: new SNSClient(clientConfig), sqs: new SQSClient(clientConfig), eventBridge: new EventBridgeClient(clientConfig) };
    await aws.admin.s3.send(new CreateBucketCommand({ Bucket: bucket }));

    const direct = await queue('direct');
    const fromSns = await queue('from-sns');
    const fromBus = await queue('from-bus');
    otherQueue = await queue('not-in-policy');
    Object.assign(inbox, { sqs: direct.url, sns: fromSns.url, eventBridge: fromBus.url });
    const topicArn = (await admin.sns.send(new CreateTopicCommand({ Name: `published-${id}` }))).TopicArn!;
    await admin.sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: fromSns.arn, Attributes: { RawMessageDelivery: 'true' } }));
    const bus = `exports-${id}`;
    await admin.eventBridge.send(new CreateEventBusCommand({ Name: bus }));
    await admin.eventBridge.send(new PutRuleCommand({ Name: `published-${id}`, EventBusName: bus, EventPattern: JSON.stringify({ source: ['mz-s3-export'] }) }));
    await admin.eventBridge.send(new PutTargetsCommand({ Rule: `published-${id}`, EventBusName: bus, Targets: [{ Id: 'queue', Arn: fromBus.arn }] }));
    notify = { sns: { topicArn }, sqs: { queueUrl: direct.url }, eventBridge: { eventBusName: bus } };

    workerKey = await aws.userWith(adaptForMoto(generated(notify)), 'events-worker');
    await aws.exportSource({ connectionName, bucket, prefix, rows: 100 });
    await aws.enforce(true);
    await aws.startWorker(stack.env, { name: 'authz-events-worker', taskQueue, key: workerKey });
  });

  after(async () => {
    for (const c of Object.values(admin ?? {})) c.destroy();
    await aws?.stop();
  });

  const input = (fields: Partial<BulkExportInput>): BulkExportInput => ({
    exportName: `e-${randomUUID().slice(0, 8)}`,
    connectionName,
    bucket,
    prefix,
    object: 't',
    format: 'csv',
    // Three tries allowed per target: a denial must still take one (UserFixableError), which the history shows.
    tuning: { ...FAST_TUNING, notifyMaxAttempts: 3 },
    ...fields,
  });
  const eventIdOf = (r: BulkExportResult) => `${r.exportName}/${r.logicalTime.replace(/[-:]/g, '')}/attempt-${String(r.attempt).padStart(3, '0')}`;
  const published = async (r: BulkExportResult) =>
    ((await aws.admin.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: r.manifestKey.replace(/manifest\.json$/, '') }))).Contents ?? []).map((o) => o.Key!);

  it('with only the generated policy for the named topic, queue and bus, one export announces itself to all three', async () => {
    await holdOnly(generated(notify));
    const result = (await runExport(stack, input({ logicalTime: '2024-09-01T00:00:00Z', notify }), { taskQueue })) as BulkExportResult;
    assert.deepEqual(result.notifications?.map((n) => [n.target, n.delivered, n.error]), [
      ['sns', true, undefined],
      ['sqs', true, undefined],
      ['eventBridge', true, undefined],
    ]);
    for (const target of ['sns', 'sqs', 'eventBridge'] as const) assert.deepEqual(await drain(inbox[target]), [eventIdOf(result)], `${target} delivered the event`);
  });

  for (const missing of ['sns', 'sqs', 'eventBridge'] as const) {
    it(`without the ${STATEMENT_OF[missing].action} statement: ${missing} is refused and reported failed with what to grant; the data stays published, the others are notified`, async () => {
      const full = generated(notify);
      await holdOnly({ ...full, Statement: statementsOf(full).filter((s) => s.Sid !== STATEMENT_OF[missing].sid) });
      try {
        const result = (await runExport(stack, input({ logicalTime: '2024-09-02T00:00:00Z', notify }), { taskQueue })) as BulkExportResult;
        const report = result.notifications!.find((n) => n.target === missing)!;
        const resource = statementsOf(full).find((s) => s.Sid === STATEMENT_OF[missing].sid)!.Resource as string;
        assert.equal(report.delivered, false);
        // Names the action and the exact resource to grant, and how to print the statement.
        assert.ok(
          report.error?.startsWith(`UserFixableError: the worker's AWS identity may not ${STATEMENT_OF[missing].action} on ${resource} (`),
          `${missing}: ${report.error}`,
        );
        assert.match(report.error!, /AccessDenied.*add a statement allowing .* to its policy \(mz-s3-export iam-policy worker --role export --notify/);
        // Not retried: waiting grants nothing (one activity attempt in the history).
        const history = await stack.temporal.workflow.getHandle(result.workflowId).fetchHistory();
        const denied = history.events!.filter((e) => /may not/.test(e.activityTaskFailedEventAttributes?.failure?.message ?? ''));
        assert.equal(denied.length, 1);
        const started = history.events!.find((e) => e.eventId?.toString() === denied[0].activityTaskFailedEventAttributes!.startedEventId?.toString());
        assert.equal(started?.activityTaskStartedEventAttributes?.attempt, 1);
        // Never un-published: the run succeeded with _SUCCESS and manifest in place; the other two got the event.
        const keys = await published(result);
        assert.ok(keys.some((k) => k.endsWith('/_SUCCESS')) && keys.includes(result.manifestKey), `${keys}`);
        for (const other of (['sns', 'sqs', 'eventBridge'] as const).filter((t) => t !== missing)) {
          assert.equal(result.notifications!.find((n) => n.target === other)!.delivered, true, other);
          assert.deepEqual(await drain(inbox[other]), [eventIdOf(result)], `${other} delivered`);
        }
        assert.deepEqual(await drain(inbox[missing]), [], `${missing} received nothing`);
        // The run's details (what the Web UI shows) say it is published and which notification failed.
        const details = (await stack.temporal.workflow.getHandle(result.workflowId).query<{ currentDetails: string }>('__temporal_workflow_metadata')).currentDetails;
        assert.match(details, new RegExp(`^\\*\\*Published\\*\\* .*1 notification\\(s\\) failed[\\s\\S]*- ${missing} .*${STATEMENT_OF[missing].action}`));
      } finally {
        await holdOnly(generated(notify));
      }
    });
  }

  it("a snapshot set's event needs the same statements: without sqs:SendMessage the set is published, SQS reported, SNS and EventBridge notified", async () => {
    const full = generated(notify);
    await holdOnly({ ...full, Statement: statementsOf(full).filter((s) => s.Sid !== STATEMENT_OF.sqs.sid) });
    try {
      const result = (await stack.temporal.workflow.execute(snapshotSet, {
        taskQueue,
        workflowId: `authz-set-${id}`,
        args: [
          {
            setName: `set-${id}`,
            connectionName,
            bucket,
            prefix,
            logicalTime: '2024-09-04T00:00:00Z',
            members: [
              { name: 'all', object: 't', format: 'csv' },
              { name: 'few', query: 'SELECT id FROM t WHERE id <= 10', format: 'csv' },
            ],
            notify,
            tuning: { ...FAST_TUNING, notifyMaxAttempts: 3 },
          },
        ],
        workflowExecutionTimeout: '3 minutes',
      })) as SnapshotSetResult;
      const eventId = `set-${id}/20240904T000000.000Z/attempt-${String(result.attempt).padStart(3, '0')}`;
      assert.deepEqual(result.notifications?.map((n) => [n.target, n.delivered]), [
        ['sns', true],
        ['sqs', false],
        ['eventBridge', true],
      ]);
      assert.ok(result.notifications![1].error?.startsWith(`UserFixableError: the worker's AWS identity may not sqs:SendMessage on ${statementsOf(full).find((s) => s.Sid === STATEMENT_OF.sqs.sid)!.Resource} (`), result.notifications![1].error);
      assert.deepEqual(await drain(inbox.sns), [eventId]);
      assert.deepEqual(await drain(inbox.eventBridge), [eventId]);
      assert.deepEqual(await drain(inbox.sqs), []);
      const keys = ((await aws.admin.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: result.manifestKey.replace(/set-manifest\.json$/, '') }))).Contents ?? []).map((o) => o.Key!);
      assert.ok(keys.some((k) => k.endsWith('/_SUCCESS')) && keys.includes(result.manifestKey), `the set stays published: ${keys}`);
    } finally {
      await holdOnly(generated(notify));
    }
  });

  it('least privilege: a queue the policy does not name is refused by moto, reported, and receives nothing', async () => {
    await holdOnly(generated(notify));
    const result = (await runExport(stack, input({ logicalTime: '2024-09-03T00:00:00Z', notify: { sqs: { queueUrl: otherQueue.url } } }), { taskQueue })) as BulkExportResult;
    const [report] = result.notifications!;
    assert.equal(report.delivered, false);
    assert.ok(report.error?.startsWith(`UserFixableError: the worker's AWS identity may not sqs:SendMessage on ${otherQueue.arn} (`), report.error);
    assert.deepEqual(await drain(otherQueue.url), []);
    assert.ok((await published(result)).some((k) => k.endsWith('/_SUCCESS')));
  });

  // moto's limits, asserted so that an upgrade lifting them shows: then adaptForMoto can keep the topic and bus ARNs,
  // and the least-privilege case above can cover SNS and EventBridge as it covers SQS.
  it("moto's limit, as documented: it refuses sns:Publish and events:PutEvents granted on the exact topic and bus, and cannot tell them from others", async () => {
    const worker = { region: REGION, endpoint: aws.endpoint, credentials: { accessKeyId: workerKey.accessKeyId, secretAccessKey: workerKey.secretAccessKey } };
    const sns = new SNSClient(worker);
    const eventBridge = new EventBridgeClient(worker);
    const publish = () => sns.send(new PublishCommand({ TopicArn: notify.sns.topicArn, Message: '{}' }));
    const put = () => eventBridge.send(new PutEventsCommand({ Entries: [{ EventBusName: notify.eventBridge.eventBusName, Source: 'moto-limit', DetailType: 'probe', Detail: '{}' }] }));
    const denied = (e: unknown) => ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403 ? true : assert.fail(String(e)));
    try {
      // Exactly as generated (resource = the topic's and the bus's ARN): moto matches the statement against `*`.
      await aws.admin.iam.send(new PutUserPolicyCommand({ UserName: workerKey.userName, PolicyName: 'only-this', PolicyDocument: serializePolicy(generated(notify)) }));
      await assert.rejects(publish(), denied);
      await assert.rejects(put(), denied);
      // Adapted (`*`): allowed, for this topic and for any other; only AWS tells them apart.
      await holdOnly(generated(notify));
      const otherTopic = (await admin.sns.send(new CreateTopicCommand({ Name: `other-${id}` }))).TopicArn!;
      await sns.send(new PublishCommand({ TopicArn: otherTopic, Message: '{}' }));
      await put();
    } finally {
      await holdOnly(generated(notify));
      sns.destroy();
      eventBridge.destroy();
    }
    await drain(inbox.eventBridge); // the probe's event, routed by the rule
  });

  it('retention: expireExports deletes an expired logical time with the same policy (ListBucket, GetObject, DeleteObject on the prefix)', async () => {
    await holdOnly(generated(notify));
    const exportName = `kept-${id}`;
    for (const logicalTime of ['2024-10-01T00:00:00Z', '2024-10-02T00:00:00Z']) await runExport(stack, input({ exportName, logicalTime }), { taskQueue });
    const listing = async () => ((await aws.admin.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/${exportName}/` }))).Contents ?? []).map((o) => o.Key!);
    assert.ok((await listing()).some((k) => k.startsWith(`${prefix}/${exportName}/20241001T000000.000Z/`)));
    const res = (await stack.temporal.workflow.execute(expireExports, {
      taskQueue,
      workflowId: `authz-expire-${id}`,
      args: [{ targets: [{ bucket, prefix, name: exportName, keepLast: 1 }], apply: true, recentWriteSeconds: 0 }],
      workflowExecutionTimeout: '2 minutes',
    })) as ExpireResult;
    assert.equal(res.foldersDeleted, 1, JSON.stringify(res.deleted));
    assert.equal(res.skipped, 0);
    const after = await listing();
    assert.ok(!after.some((k) => k.includes('/20241001T000000.000Z/')), `the expired folder is gone: ${after}`);
    assert.ok(after.some((k) => k.startsWith(`${prefix}/${exportName}/20241002T000000.000Z/`) && k.endsWith('/_SUCCESS')), `the newest stays: ${after}`);
  });
});
