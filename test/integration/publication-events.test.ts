/**
 * Publication events end to end on the local stack: a real export announces itself to an SQS queue, an SNS topic
 * (delivered by moto to a subscribed queue), an EventBridge bus (a rule routes it to a queue) and a downstream
 * Temporal workflow (signal-with-start); the event is the documented CloudEvents envelope with a stable id; a
 * re-run sends the same id again; a target that keeps failing is retried, reported, and the export stays published.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import type { PublicationEvent } from '../../common/events/types';
import type { BulkExportResult } from '../../common/export/types';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { listKeys } from '../helpers/export-readback';
import { exportInput, runExport } from '../helpers/export-run';
import type { TestStack } from '../helpers/stack';

describe('publication events on the local stack', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));
  const id = randomUUID().slice(0, 8);
  const queues: Record<'direct' | 'fromSns' | 'fromBus', string> = { direct: '', fromSns: '', fromBus: '' };
  let topicArn = '';
  const bus = `exports-${id}`;
  const downstream = { workflowType: 'loadOrders', taskQueue: `downstream-${id}` };

  async function queue(name: string): Promise<{ url: string; arn: string }> {
    const url = (await stack.aws.sqs.send(new CreateQueueCommand({ QueueName: `${name}-${id}` }))).QueueUrl!;
    const attrs = await stack.aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    return { url, arn: attrs.Attributes!.QueueArn! };
  }

  /** Every message body the queue holds now (moto delivers SNS and EventBridge at once). */
  async function drain(url: string): Promise<string[]> {
    const bodies: string[] = [];
    for (;;) {
      const res = await stack.aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!res.Messages?.length) return bodies;
      bodies.push(...res.Messages.map((m) => m.Body!));
    }
  }

  before(async () => {
    const direct = await queue('direct');
    const fromSns = await queue('from-sns');
    const fromBus = await queue('from-bus');
    Object.assign(queues, { direct: direct.url, fromSns: fromSns.url, fromBus: fromBus.url });
    topicArn = (await stack.aws.sns.send(new CreateTopicCommand({ Name: `published-${id}` }))).TopicArn!;
    await stack.aws.sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: fromSns.arn, Attributes: { RawMessageDelivery: 'true' } }));
    await stack.aws.eventBridge.send(new CreateEventBusCommand({ Name: bus }));
    await stack.aws.eventBridge.send(new PutRuleCommand({ Name: `published-${id}`, EventBusName: bus, EventPattern: JSON.stringify({ source: ['mz-s3-export'] }) }));
    await stack.aws.eventBridge.send(new PutTargetsCommand({ Rule: `published-${id}`, EventBusName: bus, Targets: [{ Id: 'queue', Arn: fromBus.arn }] }));
  });

  after(async () => {
    for await (const w of stack.temporal.workflow.list({ query: `TaskQueue = '${downstream.taskQueue}' AND ExecutionStatus = 'Running'` })) {
      await stack.temporal.workflow.getHandle(w.workflowId).terminate('test over').catch(() => undefined);
    }
  });

  it('announces a publication to SQS, SNS, EventBridge and a downstream workflow with one CloudEvents event; a re-run sends the same id', async () => {
    const input = exportInput(conn, {
      object: 'public.orders',
      logicalTime: '2024-05-01T00:00:00Z',
      notify: { sqs: { queueUrl: queues.direct }, sns: { topicArn }, eventBridge: { eventBusName: bus }, temporal: downstream },
    });
    const result = await runExport(stack, input);
    const eventId = `${input.exportName}/20240501T000000.000Z/attempt-001`;
    assert.deepEqual(
      result.notifications?.map((n) => [n.target, n.delivered, n.error]),
      [
        ['sns', true, undefined],
        ['sqs', true, undefined],
        ['eventBridge', true, undefined],
        ['temporal', true, undefined],
      ],
    );

    const [direct] = (await drain(queues.direct)).map((b) => JSON.parse(b) as PublicationEvent);
    assert.deepEqual({ ...direct, time: undefined }, {
      specversion: '1.0',
      id: eventId,
      source: `mz-s3-export://${conn.bucket}/${conn.prefix}/${input.exportName}`,
      type: 'com.materialize.s3export.published',
      subject: '20240501T000000.000Z',
      time: undefined,
      datacontenttype: 'application/json',
      data: {
        exportName: input.exportName,
        logicalTime: '2024-05-01T00:00:00.000Z',
        attempt: 1,
        manifest: result.manifest,
        bucket: conn.bucket,
        manifestKey: result.manifestKey,
        location: result.outputPath,
        format: 'csv',
        rows: result.rows,
        files: result.files,
        bytes: result.bytes,
        materializeTimestamp: result.materialize!.timestamp,
        workflowId: result.workflowId,
        runId: result.runId,
      },
    });
    assert.match(direct.data.materializeTimestamp!, /^\d+$/);
    assert.ok(!Number.isNaN(Date.parse(direct.time)));

    const viaSns = (await drain(queues.fromSns)).map((b) => JSON.parse(b) as PublicationEvent);
    assert.deepEqual(viaSns.map((e) => e.id), [eventId]);
    const viaBus = (await drain(queues.fromBus)).map((b) => JSON.parse(b) as { source: string; 'detail-type': string; detail: PublicationEvent });
    assert.deepEqual(viaBus.map((e) => [e.source, e['detail-type'], e.detail.id, e.detail.data.rows]), [['mz-s3-export', 'Export Published', eventId, result.rows]]);

    // The downstream workflow was started with the event and signalled with it.
    const handle = stack.temporal.workflow.getHandle(`loadOrders-${eventId}`);
    const described = await handle.describe();
    assert.equal(described.type, 'loadOrders');
    assert.equal(described.taskQueue, downstream.taskQueue);
    const signals = async () => (await handle.fetchHistory()).events!.filter((e) => e.workflowExecutionSignaledEventAttributes).map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
    assert.deepEqual(await signals(), ['exportPublished']);

    // At least once: a re-run of the same logical time finds the publication and announces it again, same id.
    const again = await runExport(stack, input);
    assert.equal(again.reusedExisting, true);
    assert.ok(again.notifications?.every((n) => n.delivered));
    assert.deepEqual((await drain(queues.direct)).map((b) => (JSON.parse(b) as PublicationEvent).id), [eventId]);
    assert.deepEqual((await drain(queues.fromSns)).map((b) => (JSON.parse(b) as PublicationEvent).id), [eventId]);
    assert.deepEqual(await signals(), ['exportPublished', 'exportPublished']);
  });

  it('a target that keeps failing is retried and reported; the export stays published and the other targets get the event', async () => {
    const missingQueue = queues.direct.replace(/direct-/, 'nosuch-');
    const input = exportInput(conn, {
      object: 'public.orders',
      logicalTime: '2024-05-02T00:00:00Z',
      notify: { sqs: { queueUrl: missingQueue }, sns: { topicArn } },
      tuning: { ...exportInput(conn, {}).tuning, notifyMaxAttempts: 2 },
    });
    const result = (await runExport(stack, input)) as BulkExportResult;
    const sqs = result.notifications!.find((n) => n.target === 'sqs')!;
    assert.deepEqual({ ...sqs, error: undefined }, { target: 'sqs', destination: missingQueue, delivered: false, error: undefined });
    assert.match(sqs.error ?? '', /^NotYetError: sqs .* does not exist \(QueueDoesNotExist\); create it, or correct notify\.sqs/);
    assert.equal(result.notifications!.find((n) => n.target === 'sns')!.delivered, true);
    // Published all the same: _SUCCESS is there and the run succeeded.
    const keys = await listKeys(stack, conn.bucket, `${conn.prefix}/${input.exportName}/`);
    assert.ok(keys.includes(`${conn.prefix}/${input.exportName}/20240502T000000.000Z/attempt-001/_SUCCESS`));
    // The failing target was tried twice (notifyMaxAttempts), as the run's history records.
    const history = await stack.temporal.workflow.getHandle(result.workflowId).fetchHistory();
    const failed = history.events!.filter((e) => /does not exist/.test(e.activityTaskFailedEventAttributes?.failure?.message ?? ''));
    assert.equal(failed.length, 1);
    const scheduledId = failed[0].activityTaskFailedEventAttributes!.scheduledEventId;
    const started = history.events!.find((e) => e.eventId?.toString() === failed[0].activityTaskFailedEventAttributes!.startedEventId?.toString());
    assert.equal(started?.activityTaskStartedEventAttributes?.attempt, 2, `activity ${scheduledId} failed on its second try`);
    assert.deepEqual((await drain(queues.fromSns)).length, 1);
  });

  it('bad notify input is refused before anything runs', async () => {
    await assert.rejects(
      runExport(stack, exportInput(conn, { object: 'public.orders', notify: { sns: { topicArn: 'arn:aws:s3:::bucket' }, kafka: {} } as never })),
      (e: Error & { cause?: Error }) => /notify\.sns\.topicArn/.test(e.cause?.message ?? '') && /notify\.kafka: is not a notification target/.test(e.cause?.message ?? ''),
    );
  });
});
