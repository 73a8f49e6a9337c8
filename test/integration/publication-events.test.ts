/**
 * Publication events end to end on the local stack: a real export announces itself to an SQS queue, an SNS topic
 * (delivered by moto to a subscribed queue), an EventBridge bus (a rule routes it to a queue) and a downstream
 * Temporal workflow (signal-with-start); the event is the documented CloudEvents envelope with a stable id; a
 * re-run sends the same id again; a target that keeps failing is retried, reported, and the export stays published.
 * A snapshot set announces itself once (never per member), after its `_SUCCESS`, with its own event type.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import type { PublicationEvent, SetPublicationEvent } from '../../common/events/types';
import type { SnapshotSetResult } from '../../common/export/snapshot-set';
import type { BulkExportResult } from '../../common/export/types';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { listKeys } from '../helpers/export-readback';
import { exportInput, FAST_TUNING, runExport } from '../helpers/export-run';
import { setInput, startSet } from '../helpers/snapshot-set-run';
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

  describe('snapshot sets', () => {
    const members = [
      { name: 'orders', object: 'public.orders', format: 'csv' as const },
      { name: 'totals', object: 'public.order_totals', format: 'parquet' as const },
    ];
    const runSet = async (input: ReturnType<typeof setInput>) => (await (await startSet(stack, input)).result()) as SnapshotSetResult;
    beforeEach(async () => {
      for (const url of Object.values(queues)) await drain(url); // what earlier tests' re-runs sent
    });

    it('announces a published set with one event (not one per member) after its _SUCCESS; a re-run sends the same id', async () => {
      const input = setInput(conn, members, {
        logicalTime: '2024-05-03T00:00:00Z',
        notify: { sqs: { queueUrl: queues.direct }, sns: { topicArn }, eventBridge: { eventBusName: bus }, temporal: downstream },
      });
      const result = await runSet(input);
      assert.deepEqual(result.notifications?.map((n) => [n.target, n.delivered, n.error]), [
        ['sns', true, undefined],
        ['sqs', true, undefined],
        ['eventBridge', true, undefined],
        ['temporal', true, undefined],
      ]);
      const eventId = `${input.setName}/20240503T000000.000Z/attempt-001`;
      const setFolder = `${conn.prefix}/${input.setName}/20240503T000000.000Z/attempt-001`;
      const events = (await drain(queues.direct)).map((b) => JSON.parse(b) as SetPublicationEvent);
      assert.equal(events.length, 1, 'one event for the set, none for its members');
      assert.deepEqual({ ...events[0], time: undefined }, {
        specversion: '1.0',
        id: eventId,
        source: `mz-s3-export://${conn.bucket}/${conn.prefix}/${input.setName}`,
        type: 'com.materialize.s3export.set.published',
        subject: '20240503T000000.000Z',
        time: undefined,
        datacontenttype: 'application/json',
        data: {
          setName: input.setName,
          logicalTime: '2024-05-03T00:00:00.000Z',
          attempt: 1,
          manifest: `s3://${conn.bucket}/${setFolder}/set-manifest.json`,
          bucket: conn.bucket,
          manifestKey: `${setFolder}/set-manifest.json`,
          location: `s3://${conn.bucket}/${setFolder}/`,
          materializeTimestamp: result.materialize.timestamp,
          members: result.members,
          rows: result.rows,
          files: result.files,
          bytes: result.bytes,
          workflowId: result.workflowId,
          runId: result.runId,
        },
      });
      assert.deepEqual(events[0].data.members.map((m) => m.name), ['orders', 'totals']);
      assert.ok(events[0].data.members.every((m) => m.rows > 0 && m.files > 0 && m.manifest.startsWith(`s3://${conn.bucket}/${conn.prefix}/${input.setName}/members/${m.name}/`)));
      // Through SNS with its message attributes (raw delivery carries them as SQS attributes): setName, not exportName.
      const viaSns = await stack.aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.fromSns, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
      assert.deepEqual(
        (viaSns.Messages ?? []).map((m) => [(JSON.parse(m.Body!) as SetPublicationEvent).id, m.MessageAttributes?.eventType?.StringValue, m.MessageAttributes?.setName?.StringValue, m.MessageAttributes?.exportName]),
        [[eventId, 'com.materialize.s3export.set.published', input.setName, undefined]],
      );
      const viaBus = (await drain(queues.fromBus)).map((b) => JSON.parse(b) as { 'detail-type': string; detail: SetPublicationEvent });
      assert.deepEqual(viaBus.map((e) => [e['detail-type'], e.detail.id, e.detail.data.materializeTimestamp]), [['Snapshot Set Published', eventId, result.materialize.timestamp]]);
      assert.equal((await stack.temporal.workflow.getHandle(`loadOrders-${eventId}`).describe()).type, 'loadOrders');

      // After the set's commit (set manifest, claim, _SUCCESS, _latest.json), and only in the set's own run.
      const history = (await stack.temporal.workflow.getHandle(result.workflowId).fetchHistory()).events!;
      const activityType = (e: (typeof history)[number]) => e.activityTaskScheduledEventAttributes?.activityType?.name;
      const commitScheduled = history.find((e) => activityType(e) === 'commitSnapshotSet')!.eventId!.toString();
      const committed = history.findIndex((e) => e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === commitScheduled);
      const notifies = history.map((e, i) => (activityType(e) === 'notifyPublication' ? i : -1)).filter((i) => i >= 0);
      assert.ok(committed > 0 && notifies.length === 4 && notifies.every((i) => i > committed), `commit completed at ${committed}, notifications scheduled at ${notifies.join(', ')}`);
      for (const m of members) {
        const child = (await stack.temporal.workflow.getHandle(`${result.workflowId}/${m.name}/${result.setAttempts}`).fetchHistory()).events!;
        assert.equal(child.filter((e) => activityType(e) === 'notifyPublication').length, 0, `member ${m.name} announces nothing`);
      }

      // At least once: a re-run finds the published set and announces it again with the same id.
      const again = await runSet(input);
      assert.equal(again.reusedExisting, true);
      assert.ok(again.notifications?.every((n) => n.delivered));
      assert.deepEqual((await drain(queues.direct)).map((b) => (JSON.parse(b) as SetPublicationEvent).id), [eventId]);
    });

    it('a target that keeps failing is retried and reported; the set stays published and the other target gets the event', async () => {
      const missingQueue = queues.direct.replace(/direct-/, 'nosuch-');
      const input = setInput(conn, members, {
        logicalTime: '2024-05-04T00:00:00Z',
        notify: { sqs: { queueUrl: missingQueue }, sns: { topicArn } },
        tuning: { ...FAST_TUNING, notifyMaxAttempts: 2 },
      });
      const result = await runSet(input);
      const sqs = result.notifications!.find((n) => n.target === 'sqs')!;
      assert.equal(sqs.delivered, false);
      assert.match(sqs.error ?? '', /^NotYetError: sqs .* does not exist \(QueueDoesNotExist\); create it, or correct notify\.sqs/);
      assert.equal(result.notifications!.find((n) => n.target === 'sns')!.delivered, true);
      const keys = await listKeys(stack, conn.bucket, `${conn.prefix}/${input.setName}/20240504T000000.000Z/`);
      assert.ok(keys.includes(`${conn.prefix}/${input.setName}/20240504T000000.000Z/attempt-001/_SUCCESS`), keys.join(' '));
      const history = await stack.temporal.workflow.getHandle(result.workflowId).fetchHistory();
      const failed = history.events!.filter((e) => /does not exist/.test(e.activityTaskFailedEventAttributes?.failure?.message ?? ''));
      assert.equal(failed.length, 1, 'the failing target failed once, on its last try');
      const started = history.events!.find((e) => e.eventId?.toString() === failed[0].activityTaskFailedEventAttributes!.startedEventId?.toString());
      assert.equal(started?.activityTaskStartedEventAttributes?.attempt, 2);
      assert.deepEqual((await drain(queues.fromSns)).map((b) => (JSON.parse(b) as SetPublicationEvent).type), ['com.materialize.s3export.set.published']);
    });

    it('bad notify input on a set is refused before anything runs', async () => {
      const input = setInput(conn, members, { notify: { sqs: { queueUrl: 'nope' } } });
      await assert.rejects(runSet(input), (e: Error & { cause?: Error }) => /notify\.sqs\.queueUrl/.test(e.cause?.message ?? ''));
      assert.deepEqual(await listKeys(stack, conn.bucket, `${conn.prefix}/${input.setName}/`), []);
    });
  });
});
