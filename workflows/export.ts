/**
 * bulkExport: one verified, published export of a Materialize object or query to S3 for one logical time.
 *
 *   check earlier runs of this logical time (published -> return that manifest; failed attempts -> clean)
 *   -> COPY into <prefix>/<exportName>/<logical time>/attempt-NNN (a fresh folder per attempt)
 *   -> wait until Materialize's sentinel is gone -> verify -> manifest.json -> _SUCCESS -> _latest.json
 *
 * A failed, lost or cancelled attempt is never published; the keys its sentinel proves are its own are deleted
 * and the next attempt gets the next folder. Deterministic code only: activities do every side effect.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Activities } from '../activities';
import type { AwaitCompleteResult } from '../activities/s3-export';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors';
import { failureNamingRootCause } from '../lib/failure-root';
import { COPY_FAILURE, EXPORT_FATAL_TYPES } from '../lib/export-errors';
import { resolveExportInput, type ResolvedExportInput } from '../lib/export-input';
import { attemptKey, latestKey, logicalTimeKey, MAX_ATTEMPT_NUMBER, s3Uri } from '../lib/export-paths';
import { buildCopySql } from '../lib/export-sql';
import type {
  BulkExportInput,
  BulkExportResult,
  ExportAttemptReport,
  ExportPhase,
  ExportProgress,
} from '../lib/export-types';
import { progressQuery } from './export-messages';

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
const MZ_EXPORT_NAME = defineSearchAttributeKey('MzExportName', SearchAttributeType.KEYWORD);
const MZ_LOGICAL_TIME = defineSearchAttributeKey('MzLogicalTime', SearchAttributeType.DATETIME);
const MZ_CONNECTION = defineSearchAttributeKey('MzConnection', SearchAttributeType.KEYWORD);
const SCHEDULED_BY_ID = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

type CopyOutcome =
  | { kind: 'fatal'; type: string; message: string }
  | { kind: 'path-not-empty' | 'failed' | 'lost'; message: string; copyEnded: boolean };

export async function bulkExport(rawInput: BulkExportInput): Promise<BulkExportResult> {
  let input: ResolvedExportInput;
  try {
    input = resolveExportInput(rawInput);
  } catch (e) {
    throw ApplicationFailure.nonRetryable((e as Error).message, 'InvalidInputError');
  }
  const info = workflowInfo();
  const logicalTime = resolveLogicalTime(input.logicalTime, info);
  const loc = { bucket: input.bucket, prefix: input.prefix, exportName: input.exportName };
  const startedAtMs = Date.now();
  const source = input.source.kind === 'object' ? input.source.object : 'query';
  const tuning = input.tuning;

  const state: Omit<ExportProgress, 'elapsedSeconds'> = {
    exportName: input.exportName,
    phase: 'starting',
    message: 'starting',
    logicalTime,
    startedAt: new Date(startedAtMs).toISOString(),
    attempts: [],
  };
  const progress = (): ExportProgress => ({ ...state, elapsedSeconds: Math.round((Date.now() - startedAtMs) / 1000) });
  setHandler(progressQuery, progress);
  const enter = (phase: ExportPhase, message: string) => {
    state.phase = phase;
    state.message = message;
    setCurrentDetails(detailsMarkdown(input, progress()));
  };

  upsertSearchAttributes([
    { key: MZ_EXPORT_NAME, value: input.exportName },
    { key: MZ_LOGICAL_TIME, value: new Date(logicalTime) },
    { key: MZ_CONNECTION, value: input.connectionName },
  ]);

  const nonRetryableErrorTypes = [...NON_RETRYABLE_ERROR_TYPES, ...EXPORT_FATAL_TYPES];
  // The S3 activities heartbeat on an interval while they wait (activities/heartbeat.ts): a worker lost mid-phase is
  // noticed after the heartbeat timeout, and the start-to-close timeouts stay the bound for a live but stuck one.
  const heartbeatTimeout = '15 seconds';
  const s3 = proxyActivities<Activities>({
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout,
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 8, nonRetryableErrorTypes },
  });
  const waits = proxyActivities<Activities>({
    startToCloseTimeout: `${tuning.completionTimeoutSeconds + tuning.settleQuietSeconds * 4 + 120} seconds`,
    heartbeatTimeout,
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 8, nonRetryableErrorTypes },
  });
  const { copyToS3 } = proxyActivities<Activities>({
    startToCloseTimeout: `${tuning.copyTimeoutSeconds} seconds`,
    heartbeatTimeout: `${tuning.copyHeartbeatTimeoutSeconds} seconds`,
    // A COPY is never retried into the same folder (Materialize refuses a non-empty path): the loop below
    // starts the next attempt in the next folder.
    retry: { maximumAttempts: 1 },
    // Cleanup after a cancellation must not start before the COPY has really stopped (explicit: leaving it
    // unset means TRY_CANCEL, which reports the cancellation at once).
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });

  const settleAndClean = async (key: string, copy: 'ended' | 'lost'): Promise<{ settled: AwaitCompleteResult; cleaned: number }> => {
    const settled = await waits.awaitExportComplete({
      bucket: input.bucket,
      attemptKey: key,
      copy,
      pollInitialMs: tuning.pollInitialMs,
      pollMaxMs: tuning.pollMaxMs,
      timeoutSeconds: tuning.completionTimeoutSeconds,
      quietSeconds: tuning.settleQuietSeconds,
    });
    // Only a failed attempt's sentinel proves which keys are its own; anything else stays.
    if (settled.state !== 'failed') return { settled, cleaned: 0 };
    const cleaned = await s3.cleanupExportAttempt({ bucket: input.bucket, attemptKey: key });
    return { settled, cleaned: cleaned.deleted };
  };

  const result = (
    attempt: number,
    published: { manifest: string; manifestKey: string; rows: number; files: number; bytes: number },
    reusedExisting: boolean,
    latestUpdated: boolean,
  ): BulkExportResult => ({
    exportName: input.exportName,
    logicalTime,
    attempt,
    format: input.format,
    outputPath: `${s3Uri(input.bucket, attemptKey(loc, logicalTime, attempt))}/`,
    manifest: published.manifest,
    manifestKey: published.manifestKey,
    rows: published.rows,
    files: published.files,
    bytes: published.bytes,
    reusedExisting,
    latestUpdated,
    attempts: state.attempts,
    workflowId: info.workflowId,
    runId: info.runId,
  });

  const pointTo = async (attempt: number, published: { manifest: string; manifestKey: string; rows: number; files: number; bytes: number }) => {
    if (!input.publishLatest) return false;
    const { updated } = await s3.updateLatestPointer({
      bucket: input.bucket,
      latestKey: latestKey(loc),
      pointer: {
        exportName: input.exportName,
        logicalTime,
        attempt,
        manifest: published.manifest,
        manifestKey: published.manifestKey,
        rows: published.rows,
        files: published.files,
        bytes: published.bytes,
        publishedAt: new Date(Date.now()).toISOString(),
        workflowId: info.workflowId,
        runId: info.runId,
      },
    });
    return updated;
  };

  try {
    enter('checking-previous-runs', `looking for earlier runs of ${logicalTime}`);
    const earlier = await s3.inspectExportAttempts({ bucket: input.bucket, logicalTimeKey: logicalTimeKey(loc, logicalTime) });
    if (earlier.published) {
      const p = earlier.published;
      Object.assign(state, { attempt: p.attempt, rows: p.rows, files: p.files, bytes: p.bytes });
      const latestUpdated = await pointTo(p.attempt, p);
      enter('reused-existing', `already published by an earlier run: ${p.manifest}`);
      return result(p.attempt, p, true, latestUpdated);
    }
    // Failed attempts of earlier runs: clean them once they are provably stopped.
    await Promise.all(
      earlier.attempts
        .filter((a) => a.state === 'incomplete')
        .map((a) => settleAndClean(attemptKey(loc, logicalTime, a.attempt), 'lost')),
    );

    let next = earlier.nextAttempt;
    for (let tries = 1; ; tries++) {
      if (next > MAX_ATTEMPT_NUMBER) {
        throw ApplicationFailure.nonRetryable(
          `${logicalTimeKey(loc, logicalTime)} has used all ${MAX_ATTEMPT_NUMBER} attempt folders; delete old attempt folders or export another logical time`,
          'UserFixableError',
        );
      }
      const attempt = next++;
      const key = attemptKey(loc, logicalTime, attempt);
      const targetUri = s3Uri(input.bucket, key);
      const report: ExportAttemptReport = { attempt, path: `${targetUri}/`, outcome: 'running' };
      state.attempts.push(report);
      Object.assign(state, { attempt, attemptPath: report.path, rows: undefined, files: undefined, bytes: undefined });
      enter('copying', `COPY ${source} to ${targetUri}/ (attempt ${tries} of ${input.maxAttempts})`);

      const sql = buildCopySql({
        ...(input.source.kind === 'object' ? { object: input.source.object } : { query: input.source.query }),
        targetUri,
        connectionName: input.connectionName,
        format: input.format,
        maxFileSize: input.maxFileSize,
        csvHeader: input.csvHeader,
      });
      let copied: { rows: number; startedAt: string; finishedAt: string } | undefined;
      let outcome: CopyOutcome | undefined;
      try {
        copied = await copyToS3.executeWithOptions({ summary: `COPY attempt ${attempt} to ${targetUri}/` }, [
          {
            materializeProfile: input.materializeProfile,
            sql,
            context: { source: input.source.kind === 'object' ? input.source.object : 'the query', connectionName: input.connectionName, targetUri, format: input.format },
          },
        ]);
      } catch (err) {
        if (isCancellation(err) && CancellationScope.current().consideredCancelled) {
          report.outcome = 'cancelled';
          await CancellationScope.nonCancellable(async () => {
            enter('cleaning-up', `cancelled: removing what attempt ${attempt} wrote`);
            report.cleanedFiles = (await settleAndClean(key, 'ended')).cleaned;
          });
          throw err;
        }
        outcome = classifyCopyFailure(err);
      }

      if (copied) {
        state.rows = copied.rows;
        enter('awaiting-completion', `COPY returned ${copied.rows} rows; waiting for Materialize to finish the files`);
        const done = await waits.awaitExportComplete({
          bucket: input.bucket,
          attemptKey: key,
          copy: 'succeeded',
          pollInitialMs: tuning.pollInitialMs,
          pollMaxMs: tuning.pollMaxMs,
          timeoutSeconds: tuning.completionTimeoutSeconds,
          quietSeconds: tuning.settleQuietSeconds,
        });
        if (done.state === 'complete') {
          Object.assign(state, { files: done.files, bytes: done.bytes });
          enter('verifying', `checking ${done.files} file(s) against the COPY's ${copied.rows} rows`);
          const verified = await s3.verifyExport({ bucket: input.bucket, attemptKey: key, format: input.format, copyRows: copied.rows });
          if (verified.problems.length) {
            report.outcome = 'failed';
            report.error = verified.problems.join('; ');
            throw ApplicationFailure.nonRetryable(
              `export ${input.exportName} at ${logicalTime} failed verification and was not published: ${report.error}`,
              COPY_FAILURE.verification,
            );
          }
          const verifiedAt = new Date(Date.now()).toISOString();
          enter('publishing', `writing manifest.json and _SUCCESS to ${targetUri}/`);
          // What verification read (files, sizes, ETags, footer rows, schema) goes to publication, which checks the
          // folder still holds exactly those files instead of reading the footers again.
          const published = await s3.publishExport({
            verified: verified.verified,
            facts: {
              exportName: input.exportName,
              logicalTime,
              attempt,
              format: input.format,
              bucket: input.bucket,
              attemptKey: key,
              source: input.source,
              connection: input.connectionName,
              materializeProfile: input.materializeProfile,
              csvHeader: input.csvHeader,
              copyRows: copied.rows,
              workflow: { namespace: info.namespace, workflowId: info.workflowId, runId: info.runId, taskQueue: info.taskQueue },
              timings: {
                workflowStartedAt: info.startTime.toISOString(),
                copyStartedAt: copied.startedAt,
                copyFinishedAt: copied.finishedAt,
                verifiedAt,
                publishedAt: new Date(Date.now()).toISOString(),
              },
            },
          });
          report.outcome = 'succeeded';
          Object.assign(state, { rows: published.rows, files: published.files, bytes: published.bytes });
          const latestUpdated = await pointTo(attempt, published);
          enter('succeeded', `published ${published.rows} rows in ${published.files} file(s): ${published.manifest}`);
          return result(attempt, published, false, latestUpdated);
        }
        outcome = {
          kind: 'failed',
          copyEnded: true,
          message:
            done.state === 'timed-out'
              ? `the COPY returned but its sentinel was still there after ${tuning.completionTimeoutSeconds} s`
              : `the COPY returned but the attempt folder is ${done.state}`,
        };
      }

      // The attempt failed: it is never published. Fatal errors end the export, others get a fresh attempt.
      const failure = outcome!;
      report.outcome = failure.kind === 'fatal' ? 'failed' : failure.kind;
      report.error = failure.message;
      // A folder that was not empty holds someone else's objects: leave them alone.
      if (failure.kind !== 'path-not-empty') {
        enter('cleaning-up', `attempt ${attempt} ${report.outcome}: ${failure.message}`);
        const { cleaned } = await settleAndClean(key, failure.kind === 'fatal' || failure.copyEnded ? 'ended' : 'lost');
        report.cleanedFiles = cleaned;
      }
      if (failure.kind === 'fatal') {
        throw ApplicationFailure.nonRetryable(`export ${input.exportName} failed: ${failure.message}`, failure.type);
      }
      if (tries >= input.maxAttempts) {
        throw ApplicationFailure.nonRetryable(
          `export ${input.exportName} at ${logicalTime} gave up after ${tries} attempt(s); the last: ${failure.message}`,
          COPY_FAILURE.failed,
        );
      }
      if (failure.kind !== 'path-not-empty') {
        const backoff = Math.min(600, tuning.retryBackoffSeconds * 2 ** (tries - 1));
        enter('waiting-to-retry', `attempt ${attempt} ${report.outcome}; next attempt in ${backoff} s (${failure.message})`);
        if (backoff > 0) await sleep(backoff * 1000);
      }
    }
  } catch (err) {
    if (isCancellation(err)) {
      enter('cancelled', 'cancelled; nothing was published');
      throw err;
    }
    // The run's own failure names the root cause, so the Web UI and every list show it, not "Activity task failed".
    const failure = failureNamingRootCause(err);
    enter('failed', (failure as Error).message);
    await pauseOwnScheduleAfterFailure(info);
    throw failure;
  }
}

/**
 * A scheduled run that fails pauses its schedule when the schedule has pauseOnFailure: Temporal does not for
 * runs started with AllowAll (triggers, backfills; see activities/schedule-pause.ts). Best effort: the run's
 * own failure is what must be reported, so a failure to pause is only logged.
 */
async function pauseOwnScheduleAfterFailure(info: ReturnType<typeof workflowInfo>): Promise<void> {
  const scheduleId = info.typedSearchAttributes.get(SCHEDULED_BY_ID);
  if (!scheduleId || !patched('pause-schedule-after-failure')) return;
  const { pauseScheduleAfterFailure } = proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: { maximumAttempts: 3 },
  });
  try {
    await CancellationScope.nonCancellable(() => pauseScheduleAfterFailure({ scheduleId, workflowId: info.workflowId }));
  } catch (e) {
    log.warn('could not pause the schedule after a failed run', { scheduleId, error: (e as Error).message });
  }
}

/** The request's logical time, else the schedule's fire time, else the workflow's start time (ISO, ms). */
function resolveLogicalTime(requested: string | undefined, info: ReturnType<typeof workflowInfo>): string {
  if (requested) return new Date(requested).toISOString();
  const typed = info.typedSearchAttributes.get(SCHEDULED_START);
  if (typed) return new Date(typed).toISOString();
  const legacy = info.searchAttributes?.TemporalScheduledStartTime?.[0]; // older servers
  if (legacy && !Number.isNaN(new Date(legacy as string).getTime())) return new Date(legacy as string).toISOString();
  return info.startTime.toISOString();
}

function classifyCopyFailure(err: unknown): CopyOutcome {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const started = (cause.details?.[0] as { started?: boolean } | undefined)?.started !== false;
    switch (cause.type) {
      case COPY_FAILURE.userFixable:
      case 'InvalidInputError':
        return { kind: 'fatal', type: cause.type, message: cause.message };
      case COPY_FAILURE.pathNotEmpty:
        return { kind: 'path-not-empty', message: cause.message, copyEnded: true };
      case COPY_FAILURE.transient:
        return { kind: 'lost', message: cause.message, copyEnded: !started };
      default:
        return { kind: 'failed', message: cause.message, copyEnded: true };
    }
  }
  if (cause instanceof TimeoutFailure) {
    return { kind: 'lost', message: `the COPY stopped reporting (${cause.timeoutType ?? 'timeout'}); its worker is gone`, copyEnded: false };
  }
  // Cancelled without the workflow being cancelled (e.g. a worker shutting down sent the pg cancel).
  return { kind: 'lost', message: (cause as Error)?.message ?? String(cause), copyEnded: false };
}

/** What the Web UI shows under "Current details": the phase, the target and the numbers so far. */
function detailsMarkdown(input: ResolvedExportInput, p: ExportProgress): string {
  const what = input.source.kind === 'object' ? `\`${input.source.object}\`` : 'a query';
  const lines = [
    `**Export ${input.exportName}** — ${what} as ${input.format} for logical time ${p.logicalTime}`,
    `Phase: **${p.phase}** — ${p.message}`,
  ];
  if (p.attemptPath) lines.push(`Attempt ${p.attempt}: ${p.attemptPath}`);
  const numbers = [
    p.rows !== undefined ? `${p.rows} rows` : undefined,
    p.files !== undefined ? `${p.files} files` : undefined,
    p.bytes !== undefined ? `${p.bytes} bytes` : undefined,
  ].filter(Boolean);
  if (numbers.length) lines.push(numbers.join(' · '));
  const failed = p.attempts.filter((a) => a.outcome !== 'running' && a.outcome !== 'succeeded');
  for (const a of failed) lines.push(`- attempt ${a.attempt} ${a.outcome}${a.error ? `: ${a.error}` : ''}`);
  return lines.join('\n\n');
}
