/**
 * One bulkExport run as a small state object: the resolved input, what the progress query shows, and the steps.
 *
 *   runAttempt(n): COPY into attempt-NNN (its claim first) -> wait, verify, publish -> a typed AttemptOutcome
 *   execute():     attempts until one is published, another run's publication is found, or a fatal failure
 *
 * Publication is decided in S3 by conditional writes (activities/export/claims.ts), never here: two runs of one
 * export and logical time (any workflow ids) end with one published attempt, the loser returning the winner's
 * manifest. Deterministic code only: activities do every side effect.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../common/activities';
import type { InspectResult, ManifestDigest, MaterializeFacts, PublishedSummary } from '../common/export/activities';
import { ACTIVITY_RETRY, applicationFailure, FAILURE_CATALOG, isFailureType, readFailure, runFailure } from '../common/failures';
import type { ResolvedExportInput } from '../common/export/input';
import { attemptKey, latestKey, logicalTimeKey, MAX_ATTEMPT_NUMBER, s3Uri, type ExportLocation } from '../common/export/paths';
import type { BulkExportResult, ExportAttemptReport, ExportPhase, ExportProgress } from '../common/export/types';
import { endRunWith } from './run-context';

/** What one attempt came to. */
export type AttemptOutcome =
  /** Published, or with commit 'stage' verified and its manifest written (`staged`). */
  | { kind: 'published'; digest: ManifestDigest; latestUpdated: boolean; materialize: MaterializeFacts; staged: boolean }
  /** Another run published this logical time first; this attempt was removed. */
  | { kind: 'lost-race'; winner: PublishedSummary }
  /** Another run holds this attempt folder (or it holds objects that are not ours): look again, take the next. */
  | { kind: 'taken' }
  /** Failed or lost, and cleaned up: another attempt may succeed. */
  | { kind: 'retry'; message: string }
  /** Retrying cannot help. */
  | { kind: 'fatal'; type: string; message: string };

type ExportActivities = ReturnType<typeof proxies>;

function proxies(tuning: ResolvedExportInput['tuning']) {
  const retry = ACTIVITY_RETRY;
  // S3 activities heartbeat while they wait (activities/heartbeat.ts): a lost worker is noticed after the heartbeat
  // timeout; the start-to-close timeouts bound a live but stuck one.
  const heartbeatTimeout = '15 seconds';
  const shortS3Calls = proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout, retry });
  const finish = proxyActivities<Activities>({
    // Completion, then verification (footer reads: seconds per thousand files), then publication.
    startToCloseTimeout: `${tuning.completionTimeoutSeconds + 1800} seconds`,
    heartbeatTimeout,
    retry,
  });
  const cleanup = proxyActivities<Activities>({
    startToCloseTimeout: `${Math.max(60, tuning.settleQuietSeconds * 4) + 600} seconds`,
    heartbeatTimeout,
    retry,
  });
  const copy = proxyActivities<Activities>({
    startToCloseTimeout: `${tuning.copyTimeoutSeconds} seconds`,
    heartbeatTimeout: `${tuning.copyHeartbeatTimeoutSeconds} seconds`,
    // A COPY is never retried into the same folder (Materialize refuses a non-empty path): the run starts the
    // next attempt in the next folder.
    retry: { maximumAttempts: 1 },
    // Cleanup after a cancellation must not start before the COPY has really stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  return {
    inspectExportAttempts: shortS3Calls.inspectExportAttempts,
    updateLatestPointer: shortS3Calls.updateLatestPointer,
    finishExportAttempt: finish.finishExportAttempt,
    cleanupExportAttempts: cleanup.cleanupExportAttempts,
    copyToS3: copy.copyToS3,
  };
}

export class ExportRun {
  private readonly acts: ExportActivities;
  private readonly info = workflowInfo();
  private readonly loc: ExportLocation;
  private readonly ltKey: string;
  private readonly startedAtMs = Date.now();
  readonly progress: Omit<ExportProgress, 'elapsedSeconds'>;
  /** Other runs' attempts seen by inspection: removed once this logical time is published. */
  private foreign: InspectResult['attempts'] = [];

  constructor(
    private readonly input: ResolvedExportInput,
    readonly logicalTime: string,
  ) {
    this.acts = proxies(input.tuning);
    this.loc = { bucket: input.bucket, prefix: input.prefix, exportName: input.exportName };
    this.ltKey = logicalTimeKey(this.loc, logicalTime);
    this.progress = {
      exportName: input.exportName,
      phase: 'starting',
      message: 'starting',
      logicalTime,
      startedAt: new Date(this.startedAtMs).toISOString(),
      attempts: [],
    };
  }

  snapshot(): ExportProgress {
    return { ...this.progress, elapsedSeconds: Math.round((Date.now() - this.startedAtMs) / 1000) };
  }

  private enter(phase: ExportPhase, message: string): void {
    this.progress.phase = phase;
    this.progress.message = message;
    setCurrentDetails(detailsMarkdown(this.input, this.snapshot()));
  }

  async execute(): Promise<BulkExportResult> {
    try {
      let next = 1;
      for (let tries = 0; ; ) {
        if (next > MAX_ATTEMPT_NUMBER) {
          throw applicationFailure(
            'UserFixableError',
            `${this.ltKey} has used all ${MAX_ATTEMPT_NUMBER} attempt folders; delete old attempt folders or export another logical time`,
          );
        }
        const attempt = next++;
        const outcome = await this.runAttempt(attempt, tries + 1);
        switch (outcome.kind) {
          case 'published': {
            // A staged attempt publishes nothing, so other runs' staged attempts may still be published by their set.
            if (!outcome.staged) await this.removeForeignLeftovers();
            const { digest } = outcome;
            this.enter('succeeded', `${outcome.staged ? 'staged' : 'published'} ${digest.rows} rows in ${digest.files} file(s): ${digest.manifest}`);
            return {
              ...this.result(digest, false, outcome.latestUpdated, outcome.materialize),
              ...(outcome.staged ? { staged: { manifestEtag: digest.manifestEtag, manifestSha256: digest.manifestSha256 } } : {}),
            };
          }
          case 'lost-race':
            return this.reuse(outcome.winner, false);
          case 'taken': {
            this.enter('checking-previous-runs', `attempt ${attempt} is another run's; looking at ${this.ltKey}/`);
            const seen = await this.acts.inspectExportAttempts({
              bucket: this.input.bucket,
              storageProfile: this.input.storageProfile,
              logicalTimeKey: this.ltKey,
              source: this.input.source,
              format: this.input.format,
              ...(this.input.asOf !== undefined ? { asOf: this.input.asOf } : {}),
            });
            if (seen.problem) throw applicationFailure('ConflictError', `export ${this.input.exportName} at ${this.logicalTime}: ${seen.problem}`);
            this.foreign = seen.attempts.filter((a) => !this.progress.attempts.some((r) => r.attempt === a.attempt));
            if (seen.published) return this.reuse(seen.published, true);
            next = Math.max(next, seen.nextAttempt);
            continue;
          }
          case 'fatal':
            throw runFailure(outcome.type, `export ${this.input.exportName} failed: ${outcome.message}`);
          case 'retry': {
            tries++;
            if (tries >= this.input.maxAttempts) {
              throw applicationFailure(
                'CopyFailedError',
                `export ${this.input.exportName} at ${this.logicalTime} gave up after ${tries} attempt(s); the last: ${outcome.message}`,
              );
            }
            const backoff = Math.min(600, this.input.tuning.retryBackoffSeconds * 2 ** (tries - 1));
            this.enter('waiting-to-retry', `attempt ${attempt} failed; next attempt in ${backoff} s (${outcome.message})`);
            if (backoff > 0) await sleep(backoff * 1000);
          }
        }
      }
    } catch (err) {
      endRunWith(err, (phase, message) => this.enter(phase, message));
    }
  }

  /** COPY into attempt-NNN, then wait, verify and publish; every outcome but `taken` leaves no unpublished files. */
  async runAttempt(attempt: number, tryNumber: number): Promise<AttemptOutcome> {
    const { input, info } = this;
    const key = attemptKey(this.loc, this.logicalTime, attempt);
    const targetUri = s3Uri(input.bucket, key);
    const report: ExportAttemptReport = { attempt, path: `${targetUri}/`, outcome: 'running' };
    Object.assign(this.progress, { attempt, attemptPath: report.path, rows: undefined, files: undefined, bytes: undefined });
    this.enter('copying', `COPY ${sourceName(input)} to ${targetUri}/ (attempt ${tryNumber} of ${input.maxAttempts})`);

    try {
      const copied = await this.acts.copyToS3.executeWithOptions({ summary: `COPY attempt ${attempt} to ${targetUri}/` }, [
        {
          materializeProfile: input.materializeProfile,
          statement: {
            ...(input.source.kind === 'object' ? { object: input.source.object } : { query: input.source.query }),
            connectionName: input.connectionName,
            format: input.format,
            maxFileSize: input.maxFileSize,
            csvHeader: input.csvHeader,
          },
          target: { ...this.loc, storageProfile: this.input.storageProfile, logicalTime: this.logicalTime, attempt },
          owner: { workflowId: info.workflowId, runId: info.runId },
          ...(input.cluster !== undefined ? { cluster: input.cluster } : {}),
          ...(input.asOf !== undefined ? { asOf: input.asOf } : {}),
          unavailableWaitSeconds: input.tuning.materializeUnavailableWaitSeconds,
          context: { source: input.source.kind === 'object' ? input.source.object : 'the query', connectionName: input.connectionName },
        },
      ]).catch((err: unknown) => {
        if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
        return { outcome: 'failed' as const, failure: classifyCopyFailure(err, input.asOf) };
      });
      if (copied.outcome === 'attempt-taken') return { kind: 'taken' };
      this.progress.attempts.push(report);
      if (copied.outcome === 'failed') return await this.discard(attempt, report, copied.failure);

      this.progress.rows = copied.rows;
      this.enter('verifying', `COPY returned ${copied.rows} rows; waiting for Materialize to finish the files, verifying and publishing`);
      const finished = await this.acts.finishExportAttempt({
        bucket: input.bucket,
        storageProfile: input.storageProfile,
        logicalTimeKey: this.ltKey,
        attempt,
        copyRows: copied.rows,
        commit: input.commit,
        ...(input.asOf !== undefined ? { asOf: input.asOf } : {}),
        ...(input.publishLatest && input.commit === 'publish' ? { latestKey: latestKey(this.loc) } : {}),
        completion: { pollInitialMs: input.tuning.pollInitialMs, pollMaxMs: input.tuning.pollMaxMs, timeoutSeconds: input.tuning.completionTimeoutSeconds },
        manifest: {
          exportName: input.exportName,
          logicalTime: this.logicalTime,
          format: input.format,
          source: input.source,
          connection: input.connectionName,
          materializeProfile: input.materializeProfile,
          csvHeader: input.csvHeader,
          materialize: copied.materialize,
          workflow: { namespace: info.namespace, workflowId: info.workflowId, runId: info.runId, taskQueue: info.taskQueue },
          timings: { workflowStartedAt: info.startTime.toISOString(), copyStartedAt: copied.startedAt, copyFinishedAt: copied.finishedAt },
        },
      });
      switch (finished.outcome) {
        case 'published':
        case 'staged':
          report.outcome = 'succeeded';
          Object.assign(this.progress, { rows: finished.digest.rows, files: finished.digest.files, bytes: finished.digest.bytes });
          return {
            kind: 'published',
            digest: finished.digest,
            latestUpdated: finished.outcome === 'published' && finished.latestUpdated,
            materialize: copied.materialize,
            staged: finished.outcome === 'staged',
          };
        case 'lost': {
          await this.discard(attempt, report, { kind: 'failed', message: `another run published ${finished.winner.manifest} first`, copyEnded: true });
          report.outcome = 'superseded';
          return { kind: 'lost-race', winner: finished.winner };
        }
        case 'rejected':
          return await this.discard(attempt, report, { kind: 'fatal', type: 'ExportVerificationError', message: `failed verification and was not published: ${finished.problems.join('; ')}` });
        case 'incomplete':
          return await this.discard(attempt, report, {
            kind: 'failed',
            copyEnded: true,
            message:
              finished.state === 'timed-out'
                ? `the COPY returned but its sentinel was still there after ${input.tuning.completionTimeoutSeconds} s`
                : `the COPY returned but the attempt folder is ${finished.state}`,
          });
        default:
          throw new Error(`unexpected outcome ${(finished as { outcome: string }).outcome}`);
      }
    } catch (err) {
      if (isCancellation(err)) {
        report.outcome = 'cancelled';
        if (!this.progress.attempts.includes(report)) this.progress.attempts.push(report);
        // The COPY activity waits for its statement to stop before it reports the cancellation, so what the
        // folder holds now is all there will be: remove it when the attempt's claim says it is this run's.
        await CancellationScope.nonCancellable(async () => {
          this.enter('cleaning-up', `cancelled: removing what attempt ${attempt} wrote`);
          report.cleanedFiles = await this.clean([{ attempt, copyEnded: true }]);
        });
      }
      throw err;
    }
  }

  /** A failed attempt of ours: removed (the claim proves it ours) unless its folder held someone else's objects. */
  private async discard(attempt: number, report: ExportAttemptReport, failure: CopyFailure): Promise<AttemptOutcome> {
    report.outcome = failure.kind === 'fatal' ? 'failed' : failure.kind;
    report.error = failure.message;
    if (failure.kind === 'path-not-empty') return { kind: 'taken' };
    this.enter('cleaning-up', `attempt ${attempt} ${report.outcome}: ${failure.message}`);
    report.cleanedFiles = await this.clean([{ attempt, copyEnded: failure.kind === 'fatal' || failure.copyEnded }]);
    return failure.kind === 'fatal' ? { kind: 'fatal', type: failure.type, message: failure.message } : { kind: 'retry', message: failure.message };
  }

  private async clean(attempts: { attempt: number; copyEnded: boolean }[]): Promise<number> {
    const { tuning } = this.input;
    const res = await this.acts.cleanupExportAttempts({
      bucket: this.input.bucket,
      storageProfile: this.input.storageProfile,
      logicalTimeKey: this.ltKey,
      runId: this.info.runId,
      attempts,
      quietSeconds: tuning.settleQuietSeconds,
      pollInitialMs: tuning.pollInitialMs,
      pollMaxMs: tuning.pollMaxMs,
    });
    return res.attempts.reduce((s, a) => s + a.deleted, 0);
  }

  /** Other runs' attempts that hold files: once this logical time is published they can never be, so they go. */
  private async removeForeignLeftovers(): Promise<void> {
    const leftovers = this.foreign.filter((a) => a.objects > 0 && a.state !== 'published');
    if (!leftovers.length) return;
    this.enter('cleaning-up', `removing ${leftovers.length} attempt(s) earlier runs left unpublished`);
    await this.clean(leftovers.map((a) => ({ attempt: a.attempt, copyEnded: false })));
  }

  /** This logical time was published by another run (earlier, or concurrently): its manifest is the answer. */
  private async reuse(published: PublishedSummary, pointLatest: boolean): Promise<BulkExportResult> {
    if (published.conflict) {
      throw applicationFailure(
        'ConflictError',
        `export ${this.input.exportName} at ${this.logicalTime} is already published (${published.manifest}) from another source: ${published.conflict}. ` +
          'Export it under another name or logical time, or delete that logical time folder to replace it',
      );
    }
    Object.assign(this.progress, { attempt: published.attempt, rows: published.rows, files: published.files, bytes: published.bytes });
    let latestUpdated = false;
    if (pointLatest && this.input.publishLatest) {
      ({ updated: latestUpdated } = await this.acts.updateLatestPointer({
        bucket: this.input.bucket,
        storageProfile: this.input.storageProfile,
        latestKey: latestKey(this.loc),
        pointer: {
          exportName: this.input.exportName,
          logicalTime: this.logicalTime,
          attempt: published.attempt,
          manifest: published.manifest,
          manifestKey: published.manifestKey,
          rows: published.rows,
          files: published.files,
          bytes: published.bytes,
          publishedAt: new Date(Date.now()).toISOString(),
          workflowId: this.info.workflowId,
          runId: this.info.runId,
          ...(published.materialize ? { materializeTimestamp: published.materialize.timestamp } : {}),
        },
      }));
    }
    await this.removeForeignLeftovers();
    this.enter('reused-existing', `already published by another run: ${published.manifest}`);
    return this.result(published, true, latestUpdated, published.materialize);
  }

  private result(
    published: { attempt: number; manifest: string; manifestKey: string; rows: number; files: number; bytes: number },
    reusedExisting: boolean,
    latestUpdated: boolean,
    materialize: MaterializeFacts | undefined,
  ): BulkExportResult {
    return {
      exportName: this.input.exportName,
      logicalTime: this.logicalTime,
      attempt: published.attempt,
      format: this.input.format,
      outputPath: `${s3Uri(this.input.bucket, attemptKey(this.loc, this.logicalTime, published.attempt))}/`,
      manifest: published.manifest,
      manifestKey: published.manifestKey,
      rows: published.rows,
      files: published.files,
      bytes: published.bytes,
      reusedExisting,
      latestUpdated,
      ...(materialize ? { materialize } : {}),
      attempts: this.progress.attempts,
      workflowId: this.info.workflowId,
      runId: this.info.runId,
    };
  }
}

type CopyFailure =
  | { kind: 'fatal'; type: string; message: string }
  | { kind: 'path-not-empty' | 'failed' | 'lost'; message: string; copyEnded: boolean };

/**
 * What a failed copyToS3 means for this attempt, read through the failure catalog. `asOf`: the timestamp the
 * input asked for; without one the export picked its own, and a fresh one will do.
 */
function classifyCopyFailure(err: unknown, asOf: string | undefined): CopyFailure {
  const f = readFailure(err);
  if (f.timeoutType) return { kind: 'lost', message: `the COPY stopped reporting (${f.timeoutType}); its worker is gone`, copyEnded: false };
  // Asked for: fatal here (a snapshot set retries the whole set with a fresh timestamp). Picked by this export:
  // a write landed between the pick and the COPY; the next attempt picks anew.
  if (f.type === 'TimestampNotReadableError' && asOf !== undefined)
    return { kind: 'fatal', type: f.type, message: `${f.message}. To fix: give a newer asOf (SELECT mz_now()) or leave asOf out` };
  // Cancelled without the workflow being cancelled (e.g. a worker shutting down sent the pg cancel).
  if (!f.application) return { kind: 'lost', message: f.message, copyEnded: false };
  if (isFailureType(f.type) && FAILURE_CATALOG[f.type].retry === 'no') return { kind: 'fatal', type: f.type, message: f.message };
  switch (f.type) {
    case 'CopyPathNotEmptyError':
      return { kind: 'path-not-empty', message: f.message, copyEnded: true };
    case 'CopyTransientError':
      // started: false means the statement never reached the server, so nothing can still be running.
      return { kind: 'lost', message: f.message, copyEnded: (f.details?.[0] as { started?: boolean } | undefined)?.started === false };
    default:
      return { kind: 'failed', message: f.message, copyEnded: true };
  }
}

function sourceName(input: ResolvedExportInput): string {
  return input.source.kind === 'object' ? input.source.object : 'query';
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
