/**
 * Publication events: where bulkExport announces a publication (SNS, SQS, EventBridge, a downstream Temporal
 * workflow), the event's schema (a CloudEvents 1.0 envelope; docs/events.md) and the activity contract. Types
 * only, free of Node (workflows import them).
 */

/** Where to announce each publication; any combination, each delivered and retried on its own. */
export interface PublicationNotifications {
  /** Publish to this SNS topic (sns:Publish). A FIFO topic (`.fifo`) gets the event id as deduplication id. */
  sns?: { topicArn: string };
  /** Send to this SQS queue (sqs:SendMessage). A FIFO queue (`.fifo`) gets the event id as deduplication id. */
  sqs?: { queueUrl: string };
  /** Put on this EventBridge bus (events:PutEvents): source `mz-s3-export`, detail-type `Export Published`, the event as detail. */
  eventBridge?: { eventBusName: string };
  /**
   * Signal-with-start a downstream workflow: started (with the event as its one argument) unless it runs, then
   * signalled with the event. Its id is `<workflowIdPrefix><event id>`, so a repeated notification finds the same
   * run (a closed one is not started again).
   */
  temporal?: { workflowType: string; taskQueue: string; signalName?: string; workflowIdPrefix?: string };
}

export type NotificationTarget = keyof PublicationNotifications;

/** What every publication event's `data` says of what was published (an export's attempt, or a set's). */
interface PublishedData {
  /** ISO 8601 instant the export or set stands for. */
  logicalTime: string;
  /** The attempt folder holding the manifest and `_SUCCESS`. */
  attempt: number;
  /** s3:// URI of the manifest: manifest.json lists every file, set-manifest.json every member's manifest (read only those). */
  manifest: string;
  bucket: string;
  manifestKey: string;
  /** s3:// URI of the attempt folder. */
  location: string;
  rows: number;
  files: number;
  bytes: number;
  workflowId: string;
  runId: string;
}

/** The `data` of a publication event: what a downstream job needs to load the export. */
export interface PublicationEventData extends PublishedData {
  exportName: string;
  format: string;
  /** The Materialize timestamp the data reflects (decimal), when recorded. */
  materializeTimestamp?: string;
}

/** A CloudEvents 1.0 event in structured JSON form (https://github.com/cloudevents/spec, JSON format). */
interface CloudEvent<Type extends string, Data> {
  specversion: '1.0';
  /** `<export or set name>/<logical time folder>/attempt-NNN`: the same for every notification of one publication. */
  id: string;
  /** `mz-s3-export://<bucket>/<prefix>/<export or set name>` (a URI-reference naming what was published). */
  source: string;
  type: Type;
  /** The logical time folder, e.g. 20240501T000000.000Z. */
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: Data;
}

/** The event of a published export. */
export type PublicationEvent = CloudEvent<'com.materialize.s3export.published', PublicationEventData>;

/** The `data` of a snapshot set's publication event: one event per published set, never one per member. */
export interface SetPublicationEventData extends PublishedData {
  setName: string;
  /** The one Materialize timestamp (decimal) every member was read AS OF. */
  materializeTimestamp: string;
  /** In the set's order: each member's manifest and totals. */
  members: { name: string; manifest: string; rows: number; files: number; bytes: number }[];
}

/** The event of a published snapshot set: the export event's envelope with its own type and data. */
export type SetPublicationEvent = CloudEvent<'com.materialize.s3export.set.published', SetPublicationEventData>;

/** Either event: what a notification target delivers. */
export type AnyPublicationEvent = PublicationEvent | SetPublicationEvent;

export interface NotifyInput {
  target: NotificationTarget;
  notifications: PublicationNotifications;
  event: AnyPublicationEvent;
}

export interface NotificationReport {
  target: NotificationTarget;
  /** Where: the topic ARN, queue URL, bus name or workflow id. */
  destination: string;
  delivered: boolean;
  /** The message id SNS/SQS/EventBridge gave, or the downstream run id; with `alreadyClosed` none. */
  messageId?: string;
  /** temporal: the downstream run of this event had already closed, so it was neither started nor signalled again. */
  alreadyClosed?: boolean;
  /** When not delivered after every retry: why. The export (or set) stays published. */
  error?: string;
}

export interface EventActivities {
  notifyPublication(input: NotifyInput): Promise<NotificationReport>;
}
