/**
 * Where a run's time goes, from its event history (the server's clock): workflow-task turns (from the start or an
 * activity's completion to the next command), each activity's wait for a worker (scheduled -> started) and its run
 * (started -> completed), and the last turn to the close. Milliseconds, in history order.
 */
import { tsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface TimelineStep {
  step: string;
  ms: number;
}

export function runTimeline(events: HistoryEvent[]): TimelineStep[] {
  const steps: TimelineStep[] = [];
  const at = (e: HistoryEvent) => tsToMs(e.eventTime);
  const scheduled = new Map<string, { name: string; at: number }>();
  let lastAt = events.length ? at(events[0]) : 0;
  let lastWhat = 'start';
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      const name = s.activityType?.name ?? 'activity';
      steps.push({ step: `${lastWhat} -> ${name} scheduled (workflow task)`, ms: at(e) - lastAt });
      scheduled.set(String(e.eventId), { name, at: at(e) });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const sch = scheduled.get(String(started.scheduledEventId));
      if (sch) steps.push({ step: `${sch.name}: waiting for a worker`, ms: at(e) - sch.at });
      if (sch) sch.at = at(e);
    }
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
    if (done) {
      const sch = scheduled.get(String(done.scheduledEventId));
      if (sch) {
        steps.push({ step: `${sch.name}: running`, ms: at(e) - sch.at });
        lastAt = at(e);
        lastWhat = sch.name;
      }
    }
    if (e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes) {
      steps.push({ step: `${lastWhat} -> closed (workflow task)`, ms: at(e) - lastAt });
    }
  }
  return steps;
}
