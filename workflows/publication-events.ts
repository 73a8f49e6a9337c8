/**
 * Announcing a publication: one activity per `notify` target, in parallel, each retried on its own with backoff
 * for about ten minutes. A target that still fails is reported (the result's `notifications`, the run's details
 * in the Web UI, a warning in the worker log) and the run still succeeds: the data is published and stays so;
 * re-running the export for that logical time sends the event again (the same id). Deterministic code only.
 */
import { isCancellation, log, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { Activities } from '../common/activities';
import { destinationOf, NOTIFICATION_TARGETS, publicationEvent } from '../common/events/input';
import type { NotificationReport, NotificationTarget, PublicationNotifications } from '../common/events/types';
import type { ResolvedExportInput } from '../common/export/input';
import type { BulkExportResult } from '../common/export/types';
import { NON_RETRYABLE_ERROR_TYPES, rootCauseOf } from '../common/failures';

export async function announcePublication(input: ResolvedExportInput, result: BulkExportResult): Promise<NotificationReport[]> {
  const notifications: PublicationNotifications | undefined = input.notify;
  if (!notifications) return [];
  const { notifyPublication } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumInterval: '2 minutes',
      maximumAttempts: input.tuning.notifyMaxAttempts,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });
  const event = publicationEvent(
    input.prefix,
    {
      exportName: result.exportName,
      logicalTime: result.logicalTime,
      attempt: result.attempt,
      manifest: result.manifest,
      bucket: input.bucket,
      manifestKey: result.manifestKey,
      location: result.outputPath,
      format: result.format,
      rows: result.rows,
      files: result.files,
      bytes: result.bytes,
      ...(result.materialize?.timestamp ? { materializeTimestamp: result.materialize.timestamp } : {}),
      workflowId: result.workflowId,
      runId: result.runId,
    },
    new Date(Date.now()).toISOString(),
  );
  const targets = NOTIFICATION_TARGETS.filter((t) => notifications[t] !== undefined);
  const reports = await Promise.all(
    targets.map((target: NotificationTarget) =>
      notifyPublication({ target, notifications, event }).catch((err: unknown): NotificationReport => {
        if (isCancellation(err)) throw err;
        const root = rootCauseOf(err);
        const destination = destinationOf(target, notifications, event.id);
        log.warn('publication event not delivered; the export stays published', { target, destination, eventId: event.id, error: root.message });
        return { target, destination, delivered: false, error: `${root.type}: ${root.message}` };
      }),
    ),
  );
  const failed = reports.filter((r) => !r.delivered);
  if (failed.length) {
    setCurrentDetails(
      `**Published** ${result.manifest}, but ${failed.length} notification(s) failed after retries:\n\n` +
        failed.map((r) => `- ${r.target} ${r.destination}: ${r.error}`).join('\n') +
        `\n\nRe-run the export for logical time ${result.logicalTime} to send event ${event.id} again.`,
    );
  }
  return reports;
}
