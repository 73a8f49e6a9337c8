/**
 * The `notify` field of bulkExport's input, checked with the rest of the input (every problem listed, each naming
 * its field), and the event a publication announces. Pure: the workflow, the CLI and the schedule file use it.
 */
import type { Problems } from '../failures';
import { renderLogicalTime } from '../export/paths';
import type {
  AnyPublicationEvent,
  NotificationTarget,
  PublicationEvent,
  PublicationEventData,
  PublicationNotifications,
  SetPublicationEvent,
  SetPublicationEventData,
} from './types';

export const NOTIFICATION_TARGETS: readonly NotificationTarget[] = ['sns', 'sqs', 'eventBridge', 'temporal'];
export const DEFAULT_SIGNAL_NAME = 'exportPublished';
export const EVENT_TYPE = 'com.materialize.s3export.published';
export const SET_EVENT_TYPE = 'com.materialize.s3export.set.published';

/** A region as AWS spells it (us-east-1, eu-central-2): an ARN's region field is not free text. */
const REGION = '[a-z]{2}(?:-[a-z]+)+-\\d+';
const SNS_TOPIC_ARN = new RegExp(`^arn:aws[a-z-]*:sns:${REGION}:\\d{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$`);
const SQS_QUEUE_URL = /^https?:\/\/[A-Za-z0-9.:-]+\/\d{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/;
const EVENT_BUS = new RegExp(`^(arn:aws[a-z-]*:events:${REGION}:\\d{12}:event-bus\\/)?[A-Za-z0-9._\\-/]{1,256}$`);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.-]{0,199}$/;
const TEXT = /^[\x21-\x7e]{1,200}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Field names that ask for a credential: there is no such field, and the value must not be echoed. */
const SECRET_FIELD = /secret|password|passwd|token|credential|access.?key|api.?key|session|signature|auth/i;
const NO_CREDENTIALS =
  "credentials never belong in notify: the input is stored in Temporal's history, and the worker publishes with its own AWS identity and Temporal client (docs/events.md#permissions)";

/**
 * A value carrying a credential: URL userinfo (`https://key:secret@...`), a query string (a pre-signed URL's
 * X-Amz-Signature or a token), or an AWS access key id. Said without repeating the value.
 */
function credentialProblem(v: string): string | undefined {
  if (/^[a-z]+:\/\/[^/]*@/i.test(v)) return `must not contain user:password@ (${NO_CREDENTIALS})`;
  if (/[?#]/.test(v) && /^https?:/i.test(v)) return `must not contain a query string or fragment: give the plain queue URL (${NO_CREDENTIALS})`;
  if (/\b(AKIA|ASIA)[A-Z0-9]{16}\b/.test(v)) return `must not contain an AWS access key id (${NO_CREDENTIALS})`;
  return undefined;
}

/** Adds every problem of a `notify` value to problems (fields named `notify.<target>.<field>`). */
export function checkNotifications(raw: unknown, problems: Problems): void {
  if (!isObject(raw)) return problems.add('notify', `must be an object with any of ${NOTIFICATION_TARGETS.join(', ')}`);
  if (!Object.keys(raw).length) problems.add('notify', `name at least one of ${NOTIFICATION_TARGETS.join(', ')}, or leave notify out`);
  const fields: Record<NotificationTarget, Record<string, { required: boolean; test: RegExp; example: string }>> = {
    sns: { topicArn: { required: true, test: SNS_TOPIC_ARN, example: 'arn:aws:sns:us-east-1:123456789012:exports-published' } },
    sqs: { queueUrl: { required: true, test: SQS_QUEUE_URL, example: 'https://sqs.us-east-1.amazonaws.com/123456789012/exports-published' } },
    eventBridge: { eventBusName: { required: true, test: EVENT_BUS, example: 'default, or a bus name or ARN' } },
    temporal: {
      workflowType: { required: true, test: IDENTIFIER, example: 'loadOrders' },
      taskQueue: { required: true, test: TEXT, example: 'warehouse-loads' },
      signalName: { required: false, test: IDENTIFIER, example: DEFAULT_SIGNAL_NAME },
      workflowIdPrefix: { required: false, test: TEXT, example: 'load-' },
    },
  };
  for (const [target, value] of Object.entries(raw)) {
    const spec = fields[target as NotificationTarget];
    if (!spec || !Object.hasOwn(fields, target)) {
      problems.add(`notify.${target}`, `is not a notification target (known: ${NOTIFICATION_TARGETS.join(', ')})`);
      continue;
    }
    if (!isObject(value)) {
      problems.add(`notify.${target}`, `must be an object with ${Object.keys(spec).join(', ')}`);
      continue;
    }
    for (const key of Object.keys(value)) {
      if (Object.hasOwn(spec, key)) continue;
      const hint = SECRET_FIELD.test(key) ? `; ${NO_CREDENTIALS}` : '';
      problems.add(`notify.${target}.${key}`, `is not a field here (known: ${Object.keys(spec).join(', ')})${hint}`);
    }
    for (const [key, f] of Object.entries(spec)) {
      const v = value[key];
      const credential = typeof v === 'string' ? credentialProblem(v) : undefined;
      if (v === undefined) {
        if (f.required) problems.add(`notify.${target}.${key}`, `is required, e.g. ${f.example}`);
      } else if (credential) {
        problems.add(`notify.${target}.${key}`, credential);
      } else if (typeof v !== 'string') {
        // Not echoed: an object or list here may hold anything, a pasted credential too.
        problems.add(`notify.${target}.${key}`, `must be a string (not ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}); give e.g. ${f.example}`);
      } else if (!f.test.test(v)) {
        problems.add(`notify.${target}.${key}`, `${JSON.stringify(v)} is not valid here; give e.g. ${f.example}`);
      }
    }
  }
}

/** The event id: export (or set) name, logical time and attempt, so every notification of one publication has the same. */
export function publicationEventId(exportName: string, logicalTime: string, attempt: number): string {
  return `${exportName}/${renderLogicalTime(logicalTime)}/attempt-${String(attempt).padStart(3, '0')}`;
}

/** The CloudEvents envelope shared by both events: id, source and subject from the name, logical time and attempt. */
function envelope(name: string, prefix: string, data: { bucket: string; logicalTime: string; attempt: number }, time: string) {
  return {
    specversion: '1.0' as const,
    id: publicationEventId(name, data.logicalTime, data.attempt),
    source: `mz-s3-export://${data.bucket}/${prefix}/${name}`,
    subject: renderLogicalTime(data.logicalTime),
    time,
    datacontenttype: 'application/json' as const,
  };
}

/** The CloudEvents event of an export's publication (docs/events.md). */
export function publicationEvent(prefix: string, data: PublicationEventData, time: string): PublicationEvent {
  return { ...envelope(data.exportName, prefix, data, time), type: EVENT_TYPE, data };
}

/** The CloudEvents event of a snapshot set's publication (docs/events.md, "Snapshot sets"). */
export function setPublicationEvent(prefix: string, data: SetPublicationEventData, time: string): SetPublicationEvent {
  return { ...envelope(data.setName, prefix, data, time), type: SET_EVENT_TYPE, data };
}

/** The export's or the set's name: what an event announces. */
export function publishedName(event: AnyPublicationEvent): string {
  return event.type === SET_EVENT_TYPE ? event.data.setName : event.data.exportName;
}

/** Where a target delivers, for reports: the topic, queue, bus or downstream workflow id. */
export function destinationOf(target: NotificationTarget, n: PublicationNotifications, eventId: string): string {
  switch (target) {
    case 'sns':
      return n.sns!.topicArn;
    case 'sqs':
      return n.sqs!.queueUrl;
    case 'eventBridge':
      return n.eventBridge!.eventBusName;
    case 'temporal':
      return downstreamWorkflowId(n.temporal!, eventId);
  }
}

/** `<workflowIdPrefix><event id>`; the prefix defaults to `<workflowType>-`. */
export function downstreamWorkflowId(t: NonNullable<PublicationNotifications['temporal']>, eventId: string): string {
  return `${t.workflowIdPrefix ?? `${t.workflowType}-`}${eventId}`;
}
