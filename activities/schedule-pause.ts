/**
 * Pausing a schedule after one of its runs failed, when the schedule asks for it (pauseOnFailure).
 *
 * Temporal's own pause-on-failure only sees runs the schedule tracks, and it does not track runs started with
 * the overlap policy AllowAll (service/worker/scheduler/workflow.go, recordAction: "Don't put possibly-overlapping
 * runs in RunningWorkflows"): triggered and backfilled runs use AllowAll by default, as do schedules that allow
 * overlap, so their failures never paused anything. And a tracked run's failure is noticed only when the schedule
 * next wakes (its next fire). So bulkExport calls this as it fails; the schedule's own policy decides.
 *
 * Raw DescribeSchedule/PatchSchedule calls: nothing here reads payloads, which may be encrypted.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { PauseAfterFailureInput, ScheduleActivities } from '../common/activities';

export function createSchedulePauseActivities(): ScheduleActivities {
  return {
    async pauseScheduleAfterFailure(input: PauseAfterFailureInput) {
      const { client } = Context.current();
      const namespace = client.options.namespace;
      let described;
      try {
        described = await client.workflowService.describeSchedule({ namespace, scheduleId: input.scheduleId });
      } catch (e) {
        if ((e as { code?: number }).code === 5) return { paused: false, reason: 'the schedule no longer exists' }; // gRPC NOT_FOUND
        throw e;
      }
      if (!described.schedule?.policies?.pauseOnFailure) return { paused: false, reason: 'its pauseOnFailure is off' };
      if (described.schedule.state?.paused) return { paused: false, reason: 'it is already paused' };
      // The note names the run, not its failure message: notes are stored unencrypted, failure messages may not be.
      const note = `paused due to workflow failure: ${input.workflowId} (pauseOnFailure); 'mz-s3-export status ${input.workflowId}' shows why`;
      await client.workflowService.patchSchedule({
        namespace,
        scheduleId: input.scheduleId,
        patch: { pause: note },
        identity: `bulkExport ${input.workflowId}`,
        requestId: randomUUID(),
      });
      return { paused: true, reason: note };
    },
  };
}
