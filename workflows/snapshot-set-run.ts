/**
 * One snapshotSet run as a small state object: the resolved input, what the progress query shows, and the steps.
 *
 *   execute(): a published set of this logical time answers at once; otherwise, per timestamp (set attempt):
 *     chooseSnapshotTimestamp -> members as staged bulkExport children AS OF it (maxParallel at a time)
 *     -> commitSnapshotSet; a member whose timestamp became unreadable sends the whole set to a fresh timestamp.
 *
 * Members reuse bulkExport whole (claims, attempts, verification, their own cleanup). What the set adds: one
 * timestamp, and removing its staged members when the set does not publish (they are never referenced by a
 * set `_SUCCESS`, so no loader reads them meanwhile). Deterministic code only.
 */
import {
  CancellationScope,
  executeChild,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../common/activities';
import type { SetMemberSpec, SetPublicationSummary } from '../common/export/activities';
import { ACTIVITY_RETRY, applicationFailure, readFailure, rootCauseOf, runFailure } from '../common/failures';
import { logicalTimeKey } from '../common/export/paths';
import {
  setLatestKey,
  setLogicalTimeKey,
  type ResolvedSnapshotSetInput,
  type SnapshotSetPhase,
  type SnapshotSetProgress,
  type SnapshotSetResult,
} from '../common/export/snapshot-set';
import type { BulkExportResult } from '../common/export/types';
import { storageTargetOf, type StorageTarget } from '../common/storage-profile';
import { bulkExport } from './export';
import { endRunWith } from './run-context';

const retry = ACTIVITY_RETRY;
const acts = proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '15 seconds', retry });

interface MemberFailure {
  name: string;
  type: string;
  message: string;
}

export class SnapshotSetRun {
  private readonly info = workflowInfo();
  private readonly startedAtMs = Date.now();
  private readonly progress: Omit<SnapshotSetProgress, 'elapsedSeconds'>;
  private readonly specs: SetMemberSpec[];
  /** Where the set's own files and its members' are: the bucket, in the storage profile's store when one is named. */
  private readonly store: StorageTarget;

  constructor(
    private readonly input: ResolvedSnapshotSetInput,
    readonly logicalTime: string,
  ) {
    this.specs = input.members.map((m) => ({ name: m.exportName, source: m.source, format: m.format }));
    // Without a profile the activity inputs stay as they were (replayed histories carry no storageProfile field).
    this.store = storageTargetOf(input);
    this.progress = {
      setName: input.setName,
      phase: 'starting',
      message: 'starting',
      logicalTime,
      setAttempt: 0,
      members: input.members.map((m) => ({ name: m.exportName, state: 'waiting' })),
      startedAt: new Date(this.startedAtMs).toISOString(),
    };
  }

  snapshot(): SnapshotSetProgress {
    return { ...this.progress, members: this.progress.members.map((m) => ({ ...m })), elapsedSeconds: Math.round((Date.now() - this.startedAtMs) / 1000) };
  }

  private enter(phase: SnapshotSetPhase, message: string): void {
    this.progress.phase = phase;
    this.progress.message = message;
    const p = this.progress;
    const lines = [`**Snapshot set ${p.setName}** for logical time ${p.logicalTime}`, `Phase: **${p.phase}** — ${p.message}`];
    if (p.timestamp) lines.push(`AS OF ${p.timestamp} (timestamp ${p.setAttempt} of ${this.input.maxSetAttempts})`);
    for (const m of p.members) lines.push(`- ${m.name}: ${m.state}${m.rows !== undefined ? `, ${m.rows} rows` : ''}${m.error ? ` (${m.error})` : ''}`);
    setCurrentDetails(lines.join('\n\n'));
  }

  async execute(): Promise<SnapshotSetResult> {
    const { input } = this;
    const ltKey = setLogicalTimeKey(input, this.logicalTime);
    try {
      const { published } = await acts.findSnapshotSetPublication({ ...this.store, logicalTimeKey: ltKey, members: this.specs });
      if (published) return this.reuse(published, 0);
      for (let setTry = 1; ; setTry++) {
        this.progress.setAttempt = setTry;
        this.enter('choosing-timestamp', `choosing one Materialize timestamp for all ${input.members.length} members`);
        const facts = await acts.chooseSnapshotTimestamp({
          materializeProfile: input.materializeProfile,
          ...(input.cluster !== undefined ? { cluster: input.cluster } : {}),
          sources: input.members.map((m) => m.source),
        });
        this.progress.timestamp = facts.timestamp;
        const staged: BulkExportResult[] = [];
        let failures: MemberFailure[];
        try {
          failures = await this.exportMembers(setTry, facts.timestamp, staged);
        } catch (err) {
          if (isCancellation(err)) await CancellationScope.nonCancellable(() => this.removeStaged(staged));
          throw err;
        }
        if (!failures.length) {
          this.enter('publishing', `all ${staged.length} members verified AS OF ${facts.timestamp}; writing the set manifest and _SUCCESS`);
          const committed = await acts.commitSnapshotSet({
            ...this.store,
            logicalTimeKey: ltKey,
            ...(input.publishLatest ? { latestKey: setLatestKey(input) } : {}),
            setName: input.setName,
            logicalTime: this.logicalTime,
            setTry,
            materialize: facts,
            members: this.specs.map((spec, i) => ({ ...spec, ...digestOf(staged.find((r) => r.exportName === spec.name)!, i) })),
            workflow: { namespace: this.info.namespace, workflowId: this.info.workflowId, runId: this.info.runId, taskQueue: this.info.taskQueue },
          }).catch(async (err: unknown) => {
            await this.removeStaged(staged);
            throw err;
          });
          if (committed.outcome === 'lost') {
            await this.removeStaged(staged);
            return this.reuse(committed.winner, setTry);
          }
          this.enter('succeeded', `published ${input.members.length} members AS OF ${facts.timestamp}: ${committed.manifest}`);
          return {
            setName: input.setName,
            logicalTime: this.logicalTime,
            attempt: committed.attempt,
            manifest: committed.manifest,
            manifestKey: committed.manifestKey,
            materialize: facts,
            members: this.specs.map(({ name }) => staged.find((r) => r.exportName === name)!).map((r) => ({ name: r.exportName, manifest: r.manifest, rows: r.rows, files: r.files, bytes: r.bytes })),
            ...totals(staged),
            reusedExisting: false,
            latestUpdated: committed.latestUpdated,
            setAttempts: setTry,
            workflowId: this.info.workflowId,
            runId: this.info.runId,
          };
        }
        await this.removeStaged(staged);
        const fatal = failures.find((f) => f.type !== 'TimestampNotReadableError');
        const summary = failures.map((f) => `${f.name}: ${f.message}`).join('; ');
        if (fatal) throw runFailure(fatal.type, `snapshot set ${input.setName}: member ${fatal.name} failed: ${fatal.message}`);
        if (setTry >= input.maxSetAttempts) {
          throw runFailure(
            'TimestampNotReadableError',
            `snapshot set ${input.setName} at ${this.logicalTime} gave up after ${setTry} timestamp(s): inputs kept changing past the chosen timestamp before every member read it (${summary})`,
          );
        }
        this.enter('waiting-to-retry', `timestamp ${facts.timestamp} became unreadable (${summary}); choosing a fresh one`);
        const backoff = Math.min(30, input.members[0].tuning.retryBackoffSeconds * (setTry - 1));
        if (backoff > 0) await sleep(backoff * 1000);
      }
    } catch (err) {
      endRunWith(err, (phase, message) => this.enter(phase, message));
    }
  }

  /**
   * Every member as a staged bulkExport child AS OF `timestamp`, at most maxParallel at once. After a failure no
   * further member starts (the set attempt is lost anyway); the running ones finish. Returns the failures;
   * `staged` collects the members that verified.
   */
  private async exportMembers(setTry: number, timestamp: string, staged: BulkExportResult[]): Promise<MemberFailure[]> {
    const failures: MemberFailure[] = [];
    for (const m of this.progress.members) Object.assign(m, { state: 'waiting', rows: undefined, files: undefined, error: undefined, workflowId: undefined });
    this.enter('exporting', `exporting ${this.input.members.length} members AS OF ${timestamp}`);
    let next = 0;
    const lane = async () => {
      while (next < this.input.members.length && !failures.length) {
        const i = next++;
        const member = this.progress.members[i];
        const workflowId = `${this.info.workflowId}/${member.name}/${setTry}`;
        Object.assign(member, { state: 'running', workflowId });
        this.enter('exporting', `exporting ${this.input.members.length} members AS OF ${timestamp}`);
        try {
          const result = await executeChild(bulkExport, {
            workflowId,
            args: [{ ...this.input.memberInputs[i], logicalTime: this.logicalTime, asOf: timestamp }],
          });
          staged.push(result);
          Object.assign(member, { state: 'staged', rows: result.rows, files: result.files });
        } catch (err) {
          if (isCancellation(err)) throw err;
          const { type } = readFailure(err);
          const { message } = rootCauseOf(err);
          failures.push({ name: member.name, type, message });
          Object.assign(member, { state: 'failed', error: message });
        }
        this.enter('exporting', `exporting ${this.input.members.length} members AS OF ${timestamp}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.input.maxParallel, this.input.members.length) }, lane));
    return failures;
  }

  /** Staged members of a set attempt that will not be published: removed (their claims name the member runs). */
  private async removeStaged(staged: BulkExportResult[]): Promise<void> {
    if (!staged.length) return;
    this.enter('cleaning-up', `removing ${staged.length} staged member(s) the set will not publish`);
    const { tuning } = this.input.members[0];
    await Promise.all(
      staged.map(async (r) => {
        const member = this.input.members.find((m) => m.exportName === r.exportName)!;
        await acts.cleanupExportAttempts({
          ...this.store,
          logicalTimeKey: logicalTimeKey(member, this.logicalTime),
          runId: r.runId,
          attempts: [{ attempt: r.attempt, copyEnded: true }],
          quietSeconds: tuning.settleQuietSeconds,
          pollInitialMs: tuning.pollInitialMs,
          pollMaxMs: tuning.pollMaxMs,
        });
        const progress = this.progress.members.find((m) => m.name === r.exportName);
        if (progress) progress.state = 'removed';
      }),
    );
    staged.length = 0;
  }

  /** This logical time was published by another run (earlier, or concurrently): its set manifest is the answer. */
  private reuse(published: SetPublicationSummary, setAttempts: number): SnapshotSetResult {
    if (published.conflict) {
      throw applicationFailure(
        'ConflictError',
        `snapshot set ${this.input.setName} at ${this.logicalTime} is already published (${published.manifest}) with other members: ${published.conflict}. ` +
          'Use another set name or logical time, or delete that logical time folder to replace it',
      );
    }
    this.progress.timestamp = published.materialize.timestamp;
    this.enter('reused-existing', `already published by another run: ${published.manifest}`);
    return {
      setName: this.input.setName,
      logicalTime: this.logicalTime,
      attempt: published.attempt,
      manifest: published.manifest,
      manifestKey: published.manifestKey,
      materialize: published.materialize,
      members: published.members,
      ...totals(published.members),
      reusedExisting: true,
      latestUpdated: false,
      setAttempts,
      workflowId: this.info.workflowId,
      runId: this.info.runId,
    };
  }
}

function digestOf(r: BulkExportResult, i: number) {
  if (!r.staged) throw applicationFailure('ExportVerificationError', `member ${i + 1} (${r.exportName}) returned no staged manifest`);
  return { manifestKey: r.manifestKey, ...r.staged, rows: r.rows, files: r.files, bytes: r.bytes };
}

function totals(members: { rows: number; files: number; bytes: number }[]): { rows: number; files: number; bytes: number } {
  return members.reduce((t, m) => ({ rows: t.rows + m.rows, files: t.files + m.files, bytes: t.bytes + m.bytes }), { rows: 0, files: 0, bytes: 0 });
}

