/**
 * What one run costs Temporal, read from its event history: events, payload bytes (the largest event's too), and
 * billable actions as Temporal Cloud counts them (docs.temporal.io/cloud/actions): workflow started, activity
 * started or retried, timer started, search-attribute upsert, signal, child workflow, marker (local activity,
 * side effect), update. Activity heartbeats are actions too but leave no event: the activities send none before
 * their first interval (a third of the heartbeat timeout, at most 5 s), so exports shorter than that record none.
 */
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface HistoryCosts {
  events: number;
  billableActions: number;
  payloadBytes: number;
  largestEventBytes: number;
  actionsByKind: Record<string, number>;
}

const BILLABLE: Record<string, string> = {
  workflowExecutionStartedEventAttributes: 'workflow started',
  activityTaskScheduledEventAttributes: 'activity started',
  timerStartedEventAttributes: 'timer started',
  upsertWorkflowSearchAttributesEventAttributes: 'search attributes upserted',
  workflowExecutionSignaledEventAttributes: 'signal received',
  signalExternalWorkflowExecutionInitiatedEventAttributes: 'signal sent',
  startChildWorkflowExecutionInitiatedEventAttributes: 'child workflow started',
  markerRecordedEventAttributes: 'marker recorded',
  workflowExecutionUpdateAcceptedEventAttributes: 'update accepted',
};

export function historyCosts(events: HistoryEvent[]): HistoryCosts {
  const actionsByKind: Record<string, number> = {};
  const add = (kind: string, n = 1) => (actionsByKind[kind] = (actionsByKind[kind] ?? 0) + n);
  let payloadBytes = 0;
  let largestEventBytes = 0;
  for (const e of events) {
    for (const [field, kind] of Object.entries(BILLABLE)) if ((e as Record<string, unknown>)[field]) add(kind);
    // A retried activity is one action per attempt; its started event records the last attempt's number.
    const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
    if (attempt > 1) add('activity retried', attempt - 1);
    const bytes = bytesIn(e);
    payloadBytes += bytes;
    largestEventBytes = Math.max(largestEventBytes, bytes);
  }
  return {
    events: events.length,
    billableActions: Object.values(actionsByKind).reduce((a, b) => a + b, 0),
    payloadBytes,
    largestEventBytes,
    actionsByKind,
  };
}

function bytesIn(v: unknown): number {
  if (!v || typeof v !== 'object') return 0;
  if (v instanceof Uint8Array) return v.length;
  let n = 0;
  for (const x of Object.values(v)) n += bytesIn(x);
  return n;
}

/** "7 billable actions: workflow started 1, activity started 2, ...; 3.3 KiB of payloads". */
export function historyCostNote(c: HistoryCosts): string {
  const kinds = Object.entries(c.actionsByKind).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${c.billableActions} billable actions (${kinds}); payloads ${c.payloadBytes} B, largest event ${c.largestEventBytes} B`;
}
