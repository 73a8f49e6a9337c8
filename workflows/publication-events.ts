/**
 * Announcing a publication (an export's, or a snapshot set's: one event per set, never per member): one activity
 * per `notify` target, in parallel, each retried on its own with backoff for about ten minutes. A target that
 * still fails is reported (the result's `notifications`, the run's details in the Web UI, a warning in the worker
 * log) and the run still succeeds: the data is published and stays so; re-running for that logical time sends the
 * event again (the same id). Deterministic code only.
 */
import { isCancellation, log, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { Activities } from '../common/activities';
import { destinationOf, NOTIFICATION_TARGETS, publicationEvent, setPublicationEvent } from '../common/events/input';
import type { AnyPublicationEvent, NotificationReport, NotificationTarget, PublicationNotifications } from '../common/events/types';
import type { ResolvedExportInput } from '../common/export/input';
import { s3Uri } from '../common/export/paths';
import type { ResolvedSnapshotSetInput, SnapshotSetResult } from '../common/export/snapshot-set';
import type { BulkExportResult } from '../common/export/types';
import { NON_RETRYABLE_ERROR_TYPES, rootCauseOf } from '../common/failures';

export async function announcePublication(input: ResolvedExportInput, result: BulkExportResult): Promise<NotificationReport[]> {
  if (!input.notify) return [];
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
  return announce(input.notify, input.tuning.notifyMaxAttempts, event, { what: 'export', manifest: result.manifest });
}

/** The published set as one event, after its `_SUCCESS`: the set manifest, every member's totals, the one timestamp. */
export async function announceSetPublication(input: ResolvedSnapshotSetInput, result: SnapshotSetResult): Promise<NotificationReport[]> {
  if (!input.notify) return [];
  const event = setPublicationEvent(
    input.prefix,
    {
      setName: result.setName,
      logicalTime: result.logicalTime,
      attempt: result.attempt,
      manifest: result.manifest,
      bucket: input.bucket,
      manifestKey: result.manifestKey,
      location: `${s3Uri(input.bucket, result.manifestKey.slice(0, result.manifestKey.lastIndexOf('/')))}/`,
      materializeTimestamp: result.materialize.timestamp,
      members: result.members.map(({ name, manifest, rows, files, bytes }) => ({ name, manifest, rows, files, bytes })),
      rows: result.rows,
      files: result.files,
      bytes: result.bytes,
      workflowId: result.workflowId,
      runId: result.runId,
    },
    new Date(Date.now()).toISOString(),
  );
  return announce(input.notify, input.notifyMaxAttempts, event, { what: 'set', manifest: result.manifest });
}

async function announce(
  notifications: PublicationNotifications,
  maxAttempts: number,
  event: AnyPublicationEvent,
  published: { what: 'export' | 'set'; manifest: string },
): Promise<NotificationReport[]> {
  const { notifyPublication } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumInterval: '2 minutes',
      maximumAttempts: maxAttempts,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });
  const targets = NOTIFICATION_TARGETS.filter((t) => notifications[t] !== undefined);
  const reports = await Promise.all(
    targets.map((target: NotificationTarget) =>
      notifyPublication({ target, notifications, event }).catch((err: unknown): NotificationReport => {
        if (isCancellation(err)) throw err;
        const root = rootCauseOf(err);
        const destination = destinationOf(target, notifications, event.id);
        log.warn(`publication event not delivered; the ${published.what} stays published`, { target, destination, eventId: event.id, error: root.message });
        return { target, destination, delivered: false, error: `${root.type}: ${root.message}` };
      }),
    ),
  );
  const failed = reports.filter((r) => !r.delivered);
  if (failed.length) {
    setCurrentDetails(
      `**Published** ${published.manifest}, but ${failed.length} notification(s) failed after retries:\n\n` +
        failed.map((r) => `- ${r.target} ${r.destination}: ${r.error}`).join('\n') +
        `\n\nRe-run the ${published.what} for logical time ${event.data.logicalTime} to send event ${event.id} again.`,
    );
  }
  return reports;
}
