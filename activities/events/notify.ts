/**
 * Delivers one publication event to one target. At least once: the workflow retries this activity until it
 * succeeds or its retries run out, and a re-run of the export (which finds the publication) sends it again; the
 * event id (export or set name, logical time, attempt) is the same every time, so consumers deduplicate by it. FIFO
 * topics and queues deduplicate by it themselves (their 5-minute window).
 */
import { createHash } from 'node:crypto';
import { PublishCommand } from '@aws-sdk/client-sns';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { DEFAULT_SIGNAL_NAME, destinationOf, downstreamWorkflowId, publishedName, SET_EVENT_TYPE } from '../../common/events/input';
import type { AnyPublicationEvent, EventActivities, NotificationReport, NotifyInput } from '../../common/events/types';
import type { ActivityDeps } from '../deps';
import { awsErrorName, httpStatus, isAccessDenied } from '../aws-errors';
import { NotYetError, UserFixableError } from '../../common/failures';
import { publicationEventStatements } from '../../common/export/worker-iam-policy';

/** EventBridge's source and detail-types for a publication (rules match on them). */
export const EVENTBRIDGE_SOURCE = 'mz-s3-export';
export const EVENTBRIDGE_DETAIL_TYPE = 'Export Published';
export const EVENTBRIDGE_SET_DETAIL_TYPE = 'Snapshot Set Published';

/** FIFO deduplication ids are at most 128 characters: the event id's SHA-256. */
function dedupId(event: AnyPublicationEvent): string {
  return createHash('sha256').update(event.id).digest('hex');
}

export function createEventActivities({ aws }: ActivityDeps): EventActivities {
  return {
    async notifyPublication(input: NotifyInput): Promise<NotificationReport> {
      try {
        return await deliver(input);
      } catch (e) {
        // Retried like any failure (a queue is usable about a second after it was created), saying what to change.
        if (MISSING.includes(awsErrorName(e))) {
          throw new NotYetError(`${input.target} ${destinationOf(input.target, input.notifications, input.event.id)} does not exist (${awsErrorName(e)}); create it, or correct notify.${input.target}`);
        }
        // Waiting does not grant a permission: say which statement is missing, as `iam-policy worker` prints it.
        if (input.target !== 'temporal' && isAccessDenied(e)) {
          const grant = await missingGrant(input);
          throw new UserFixableError(
            `the worker's AWS identity may not ${grant} (${denial(e)}); add a statement allowing ${grant} to its policy ` +
              `(mz-s3-export iam-policy worker --role export --notify '<the notify JSON>' prints it; docs/events.md#permissions)`,
          );
        }
        throw e;
      }
    },
  };

  /** `sns:Publish on arn:aws:sns:...`: the one statement this target needs, from the policy generator. */
  async function missingGrant({ target, notifications }: NotifyInput): Promise<string> {
    const notify = { [target]: notifications[target] };
    const region = await aws.sqs.config.region().catch(() => undefined);
    let [statement] = publicationEventStatements({ notify, ...(region ? { region } : {}) });
    // A bus given by name: its ARN names the worker's own account (GetCallerIdentity needs no permission).
    if (String(statement.Resource).includes('<ACCOUNT_ID>')) {
      const accountId = (await aws.sts.send(new GetCallerIdentityCommand({})).catch(() => undefined))?.Account;
      if (accountId) [statement] = publicationEventStatements({ notify, accountId, ...(region ? { region } : {}) });
    }
    return `${[statement.Action].flat().join(', ')} on ${String(statement.Resource)}`;
  }

  async function deliver({ target, notifications: n, event }: NotifyInput): Promise<NotificationReport> {
    const destination = destinationOf(target, n, event.id);
    const body = JSON.stringify(event);
    const isSet = event.type === SET_EVENT_TYPE;
    const fifo = (name: string) => (name.endsWith('.fifo') ? { MessageDeduplicationId: dedupId(event), MessageGroupId: publishedName(event) } : {});
    switch (target) {
      case 'sns': {
        const res = await aws.sns.send(
          new PublishCommand({
            TopicArn: n.sns!.topicArn,
            Message: body,
            // Subscribers can filter on these without parsing the body.
            MessageAttributes: {
              eventType: { DataType: 'String', StringValue: event.type },
              [isSet ? 'setName' : 'exportName']: { DataType: 'String', StringValue: publishedName(event) },
            },
            ...fifo(n.sns!.topicArn),
          }),
        );
        return { target, destination, delivered: true, ...(res.MessageId ? { messageId: res.MessageId } : {}) };
      }
      case 'sqs': {
        const res = await aws.sqs.send(new SendMessageCommand({ QueueUrl: n.sqs!.queueUrl, MessageBody: body, ...fifo(n.sqs!.queueUrl) }));
        return { target, destination, delivered: true, ...(res.MessageId ? { messageId: res.MessageId } : {}) };
      }
      case 'eventBridge': {
        const res = await aws.eventBridge.send(
          new PutEventsCommand({
            Entries: [{ EventBusName: n.eventBridge!.eventBusName, Source: EVENTBRIDGE_SOURCE, DetailType: isSet ? EVENTBRIDGE_SET_DETAIL_TYPE : EVENTBRIDGE_DETAIL_TYPE, Detail: body, Time: new Date(event.time) }],
          }),
        );
        // PutEvents answers 200 even when an entry failed: the entry says so, and it is retried.
        const entry = res.Entries?.[0];
        if (res.FailedEntryCount || !entry?.EventId) throw new Error(`EventBridge refused the event: ${entry?.ErrorCode ?? 'no event id'} ${entry?.ErrorMessage ?? ''}`.trim());
        return { target, destination, delivered: true, messageId: entry.EventId };
      }
      case 'temporal': {
        const t = n.temporal!;
        const { client } = Context.current();
        try {
          const handle = await client.workflow.signalWithStart(t.workflowType, {
            workflowId: downstreamWorkflowId(t, event.id),
            taskQueue: t.taskQueue,
            args: [event],
            signal: t.signalName ?? DEFAULT_SIGNAL_NAME,
            signalArgs: [event],
            // Its id is this event's: a closed run means it was delivered before, so it is not started again.
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          });
          return { target, destination, delivered: true, messageId: handle.signaledRunId };
        } catch (e) {
          if (e instanceof WorkflowExecutionAlreadyStartedError) return { target, destination, delivered: true, alreadyClosed: true };
          throw e;
        }
      }
    }
  }
}

/**
 * `<code>: <message>` of a denial, one line. A 403 whose body the SDK could not parse (moto answers SQS's and
 * EventBridge's JSON protocol with an XML error) is said as what it is, not as the parser's SyntaxError.
 */
function denial(e: unknown): string {
  const name = awsErrorName(e);
  if (name === 'SyntaxError') return `AccessDenied: HTTP ${httpStatus(e) ?? 403}, with an error body the AWS SDK could not read`;
  return `${name || 'AccessDenied'}: ${String((e as Error)?.message ?? e)}`.split('\n')[0].slice(0, 300);
}

/** AWS error names for a topic, queue or event bus that does not exist. */
const MISSING = ['NotFoundException', 'NotFound', 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'ResourceNotFoundException'];
