/**
 * snapshotSet with stubbed activities: one test per branch of SnapshotSetRun (workflows/snapshot-set-run.ts). The
 * members are real bulkExport child workflows on the same stubbed worker, so a member's COPY, verification and
 * failure go through the code a member really runs. What the activities do against S3 and mz-local (one
 * timestamp over all members, the set manifest, publication claims) is test/integration/snapshot-set*.test.ts.
 */
import { strict as assert } from 'node:assert';
import { Context } from '@temporalio/activity';
import { applicationFailure } from '../../common/failures';
import type { CleanupInput, CommitSetResult, CopyToS3Input, FinishInput, FinishResult, MaterializeFacts, SetPublicationSummary } from '../../common/export/activities';
import type { SnapshotSetInput } from '../../common/export/snapshot-set';
import type { NotificationReport, NotifyInput } from '../../common/events/types';
import { snapshotSet } from '../../workflows/snapshot-set';
import { callsOf, runStubbed, type ActivityStubs, type WorkflowRun } from './harness';

const LOGICAL_TIME = '2026-12-01T00:00:00.000Z';
const INPUT: SnapshotSetInput = {
  setName: 'daily',
  connectionName: 's3_conn',
  bucket: 'exports-bucket',
  prefix: 'exports',
  logicalTime: LOGICAL_TIME,
  members: [
    { name: 'orders', object: 'public.orders', format: 'parquet' },
    { name: 'customers', object: 'public.customers', format: 'parquet' },
    { name: 'totals', query: 'SELECT 1 AS one', format: 'csv' },
  ],
  tuning: { retryBackoffSeconds: 0, settleQuietSeconds: 0 },
};
const SET_KEY = 'exports/daily/20261201T000000.000Z';

/** Materialize's answer to the set's timestamp choice, the n-th time it is asked. */
const facts = (n: number): MaterializeFacts => ({ timestamp: String(1764547200000 + n), version: 'v0.0.0', cluster: 'quickstart' });

/** A member's COPY as Materialize answers it: the rows it wrote AS OF the timestamp the set gave it. */
const copied = (input: CopyToS3Input) => ({
  outcome: 'copied' as const,
  rows: 3,
  startedAt: LOGICAL_TIME,
  finishedAt: LOGICAL_TIME,
  materialize: { ...facts(0), timestamp: input.asOf! },
});

/** A member's attempt verified and its manifest written, published nowhere: what commit 'stage' answers. */
const staged = async (input: FinishInput): Promise<FinishResult> => {
  const manifestKey = `${input.logicalTimeKey}/attempt-${String(input.attempt).padStart(3, '0')}/manifest.json`;
  const digest = { attempt: input.attempt, manifestKey, manifest: `s3://exports-bucket/${manifestKey}`, manifestEtag: 'e', manifestSha256: 's', rows: 3, files: 1, bytes: 100, verifiedAt: LOGICAL_TIME, publishedAt: LOGICAL_TIME };
  return { outcome: 'staged', digest, polls: 1 };
};

const committed = async (): Promise<CommitSetResult> => ({
  outcome: 'published',
  attempt: 1,
  manifest: `s3://exports-bucket/${SET_KEY}/set-attempt-001/set-manifest.json`,
  manifestKey: `${SET_KEY}/set-attempt-001/set-manifest.json`,
  latestUpdated: true,
});

const publishedSet = (conflict?: string): SetPublicationSummary => ({
  attempt: 1,
  manifest: `s3://exports-bucket/${SET_KEY}/set-attempt-001/set-manifest.json`,
  manifestKey: `${SET_KEY}/set-attempt-001/set-manifest.json`,
  materialize: facts(7),
  members: [{ name: 'orders', manifest: 's3://exports-bucket/m', rows: 3, files: 1, bytes: 100 }],
  ...(conflict ? { conflict } : {}),
});

/** A set whose members all export and stage, and whose commit publishes; a test overrides what its branch needs. */
function happyPath(): ActivityStubs {
  let chosen = 0;
  return {
    findSnapshotSetPublication: async () => ({}),
    chooseSnapshotTimestamp: async () => facts(++chosen),
    copyToS3: async (input) => copied(input),
    finishExportAttempt: staged,
    cleanupExportAttempts: cleanup,
    commitSnapshotSet: committed,
  };
}

function setWith(stubs: ActivityStubs, input: SnapshotSetInput = INPUT) {
  return runStubbed(snapshotSet, 'set', { ...happyPath(), ...stubs }, input);
}

/** Which member each COPY was for, and AS OF which timestamp, in call order. */
const copies = (run: WorkflowRun) => callsOf(run, 'copyToS3').map((c) => `${c.target.exportName}@${c.asOf}`);
/** The member folders the set itself removed (a member that failed cleans its own attempt: not counted here). */
const setCleanups = (run: WorkflowRun) => (removedBySet.get(run.id) ?? []).map((key) => key.split('/')[3]);
const removedBySet = new Map<string, string[]>();

/** cleanupExportAttempts, remembering the calls the set's own workflow made (ids: `<test>-set`; members: `<test>-set/<member>/<try>`). */
async function cleanup(input: CleanupInput) {
  const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
  const set = /^(wft-\d+-\d+)-set$/.exec(workflowId)?.[1];
  if (set) removedBySet.set(set, [...(removedBySet.get(set) ?? []), input.logicalTimeKey]);
  return { attempts: [] };
}

describe('snapshotSet (stubbed activities)', function () {
  this.timeout(60_000);

  it('chooses one timestamp for all members, exports each AS OF it as a staged member, and commits them together', async () => {
    const { run, result } = await setWith({});
    const [choice] = callsOf(run, 'chooseSnapshotTimestamp');
    assert.deepEqual(choice.sources.map((s) => s.kind), ['object', 'object', 'query'], 'every member is asked about at once');
    assert.equal(callsOf(run, 'chooseSnapshotTimestamp').length, 1);
    const ts = facts(1).timestamp;
    assert.deepEqual(copies(run).sort(), [`customers@${ts}`, `orders@${ts}`, `totals@${ts}`]);
    // Members stage: verified and their manifest written, nothing published on their own.
    assert.deepEqual(callsOf(run, 'finishExportAttempt').map((f) => f.commit), ['stage', 'stage', 'stage']);
    assert.ok(callsOf(run, 'finishExportAttempt').every((f) => f.logicalTimeKey.startsWith('exports/daily/members/')));
    const [commit] = callsOf(run, 'commitSnapshotSet');
    assert.equal(commit.materialize.timestamp, ts);
    assert.equal(commit.latestKey, 'exports/daily/_latest.json');
    assert.deepEqual(commit.members.map((m) => [m.name, m.manifestEtag]), [['orders', 'e'], ['customers', 'e'], ['totals', 'e']], 'in input order');
    assert.equal(result?.materialize.timestamp, ts);
    assert.equal(result?.setAttempts, 1);
    assert.equal(result?.rows, 9);
    assert.deepEqual(setCleanups(run), []);
  });

  it('publishLatest false: the commit is not asked to move _latest.json', async () => {
    const { run } = await setWith({}, { ...INPUT, publishLatest: false });
    assert.equal(callsOf(run, 'commitSnapshotSet')[0].latestKey, undefined);
  });

  it('a member that fails for good: the members it staged are removed, nothing is committed, the run names the member', async () => {
    const { run, failure } = await setWith(
      {
        copyToS3: async (input) => {
          if (input.target.exportName === 'customers') throw applicationFailure('UserFixableError', "unknown catalog item 'public.customers'. To fix: check that it exists");
          return copied(input);
        },
      },
      { ...INPUT, maxParallel: 1 },
    );
    assert.equal(failure?.type, 'UserFixableError');
    assert.match(failure!.message, /snapshot set daily: member customers failed: .*unknown catalog item 'public\.customers'/);
    assert.deepEqual(callsOf(run, 'commitSnapshotSet'), []);
    assert.deepEqual(setCleanups(run), ['orders'], 'the staged member goes; the failed one cleaned its own attempt');
    // After a failure no further member starts: this set attempt cannot publish anyway.
    assert.ok(!copies(run).some((c) => c.startsWith('totals@')), copies(run).join(', '));
  });

  it('a timestamp that became unreadable: the staged members are removed and the whole set runs again AS OF a fresh one', async () => {
    const first = facts(1).timestamp;
    const { run, result } = await setWith(
      {
        copyToS3: async (input) => {
          if (input.target.exportName === 'customers' && input.asOf === first) throw applicationFailure('TimestampNotReadableError', 'the AS OF timestamp is no longer readable');
          return copied(input);
        },
      },
      { ...INPUT, maxParallel: 1 },
    );
    const second = facts(2).timestamp;
    assert.deepEqual(copies(run), [`orders@${first}`, `customers@${first}`, `orders@${second}`, `customers@${second}`, `totals@${second}`]);
    assert.deepEqual(setCleanups(run), ['orders'], 'the first timestamp\'s staged member is removed before the retry');
    assert.equal(callsOf(run, 'chooseSnapshotTimestamp').length, 2);
    assert.equal(callsOf(run, 'commitSnapshotSet')[0].materialize.timestamp, second);
    assert.equal(result?.setAttempts, 2);
    // Each timestamp's members are their own child runs.
    assert.ok(callsOf(run, 'copyToS3').every((c) => c.owner.workflowId.startsWith(`${run.id}-set/`)));
  });

  it('gives up after maxSetAttempts timestamps as TimestampNotReadableError, publishing nothing', async () => {
    const { run, failure } = await setWith(
      { copyToS3: async () => Promise.reject(applicationFailure('TimestampNotReadableError', 'the AS OF timestamp is no longer readable')) },
      { ...INPUT, maxSetAttempts: 2 },
    );
    assert.equal(failure?.type, 'TimestampNotReadableError');
    assert.match(failure!.message, /gave up after 2 timestamp\(s\)/);
    assert.equal(callsOf(run, 'chooseSnapshotTimestamp').length, 2);
    assert.deepEqual(callsOf(run, 'commitSnapshotSet'), []);
  });

  it('maxParallel bounds how many members export at once', async () => {
    let running = 0;
    let most = 0;
    const members = ['a', 'b', 'c', 'd', 'e'].map((n) => ({ name: n, object: `public.${n}`, format: 'csv' as const }));
    const { run, result } = await setWith(
      {
        copyToS3: async (input) => {
          most = Math.max(most, ++running);
          await new Promise((r) => setTimeout(r, 300));
          running--;
          return copied(input);
        },
      },
      { ...INPUT, members, maxParallel: 2 },
    );
    assert.equal(most, 2, 'two lanes, both used');
    assert.equal(callsOf(run, 'copyToS3').length, 5);
    assert.equal(result?.members.length, 5);
  });

  it('a logical time another run published with the same members is the answer: nothing is exported', async () => {
    const { run, result } = await setWith({ findSnapshotSetPublication: async () => ({ published: publishedSet() }) });
    assert.equal(result?.reusedExisting, true);
    assert.equal(result?.materialize.timestamp, facts(7).timestamp);
    assert.deepEqual(run.calls.map((c) => c.name), ['findSnapshotSetPublication']);
  });

  it('a logical time published with other members (or sources) is a ConflictError saying what to change', async () => {
    const { run, failure } = await setWith({ findSnapshotSetPublication: async () => ({ published: publishedSet('member orders exported another object') }) });
    assert.equal(failure?.type, 'ConflictError');
    assert.match(failure!.message, /already published .* with other members: member orders exported another object\. Use another set name or logical time/);
    assert.deepEqual(run.calls.map((c) => c.name), ['findSnapshotSetPublication']);
  });

  it('losing the commit to a concurrent run: its staged members are removed and the winner is returned', async () => {
    const { run, result } = await setWith({ commitSnapshotSet: async () => ({ outcome: 'lost', winner: publishedSet() }) });
    assert.deepEqual(setCleanups(run).sort(), ['customers', 'orders', 'totals']);
    assert.equal(result?.reusedExisting, true);
    assert.equal(result?.setAttempts, 1);
  });

  it('a commit that fails for good: the staged members are removed and the run fails', async () => {
    const { run, failure } = await setWith({ commitSnapshotSet: async () => Promise.reject(applicationFailure('ExportVerificationError', 'member totals: its manifest changed since it was staged')) });
    assert.equal(failure?.type, 'ExportVerificationError');
    assert.deepEqual(setCleanups(run).sort(), ['customers', 'orders', 'totals']);
  });

  it('bad input fails at once as InvalidInputError, before any activity', async () => {
    const { run, failure } = await setWith({}, { ...INPUT, members: [] });
    assert.equal(failure?.type, 'InvalidInputError');
    assert.deepEqual(run.calls, []);
  });

  describe('in an S3-compatible store (storageProfile) and with notify', () => {
    const sqs = { sqs: { queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/sets' } };
    const delivered = async (input: NotifyInput): Promise<NotificationReport> => ({ target: input.target, destination: 'q', delivered: true });

    it("every S3 activity of the set and of its members names the set's storage profile, the set's cleanup too", async () => {
      const { run, failure } = await setWith(
        {
          copyToS3: async (input) => {
            if (input.target.exportName === 'customers') throw applicationFailure('UserFixableError', 'unknown catalog item');
            return copied(input);
          },
        },
        { ...INPUT, maxParallel: 1, storageProfile: 'r2' },
      );
      assert.equal(failure?.type, 'UserFixableError');
      assert.deepEqual(setCleanups(run), ['orders'], 'the staged member is removed by the set');
      const s3Calls = run.calls.filter((c) => c.name !== 'chooseSnapshotTimestamp' && c.name !== 'copyToS3');
      assert.deepEqual([...new Set(s3Calls.map((c) => c.name))].sort(), ['cleanupExportAttempts', 'findSnapshotSetPublication', 'finishExportAttempt']);
      assert.deepEqual(s3Calls.filter((c) => (c.input as { storageProfile?: string }).storageProfile !== 'r2').map((c) => c.name), []);
      assert.ok(callsOf(run, 'copyToS3').every((c) => c.target.storageProfile === 'r2'), 'each member claims its attempt in the store');
      const published = await setWith({}, { ...INPUT, storageProfile: 'r2' });
      assert.equal(callsOf(published.run, 'commitSnapshotSet')[0].storageProfile, 'r2');
      // Without a profile the inputs carry no storageProfile field at all (as recorded histories have them).
      assert.ok(!('storageProfile' in callsOf((await setWith({})).run, 'commitSnapshotSet')[0]));
    });

    it('announces the published set once, after its commit, with the set event; its members announce nothing', async () => {
      const { run, result } = await setWith({ notifyPublication: delivered }, { ...INPUT, notify: sqs });
      const names = run.calls.map((c) => c.name);
      assert.deepEqual(names.slice(names.indexOf('commitSnapshotSet')), ['commitSnapshotSet', 'notifyPublication']);
      const [{ event }] = callsOf(run, 'notifyPublication');
      assert.equal(event.type, 'com.materialize.s3export.set.published');
      assert.equal(event.id, 'daily/20261201T000000.000Z/attempt-001');
      assert.ok(event.type === 'com.materialize.s3export.set.published');
      assert.equal(event.data.materializeTimestamp, facts(1).timestamp);
      assert.deepEqual(event.data.members.map((m) => [m.name, m.rows]), [['orders', 3], ['customers', 3], ['totals', 3]]);
      assert.equal(event.data.location, `s3://exports-bucket/${SET_KEY}/set-attempt-001/`);
      assert.deepEqual(result?.notifications, [{ target: 'sqs', destination: 'q', delivered: true }]);
    });

    it('a notification that keeps failing is reported; the set stays published (nothing removed)', async () => {
      const { run, result } = await setWith(
        { notifyPublication: async () => Promise.reject(applicationFailure('NotYetError', 'sqs queue does not exist')) },
        { ...INPUT, notify: sqs, tuning: { ...INPUT.tuning, notifyMaxAttempts: 1 } },
      );
      assert.deepEqual(result?.notifications, [{ target: 'sqs', destination: sqs.sqs.queueUrl, delivered: false, error: 'NotYetError: sqs queue does not exist' }]);
      assert.equal(result?.reusedExisting, false);
      assert.deepEqual(setCleanups(run), []);
    });

    it('a re-run of a published logical time announces it again (the same event id)', async () => {
      const { run, result } = await setWith({ findSnapshotSetPublication: async () => ({ published: publishedSet() }), notifyPublication: delivered }, { ...INPUT, notify: sqs });
      assert.equal(result?.reusedExisting, true);
      assert.deepEqual(run.calls.map((c) => c.name), ['findSnapshotSetPublication', 'notifyPublication']);
      assert.equal(callsOf(run, 'notifyPublication')[0].event.id, 'daily/20261201T000000.000Z/attempt-001');
    });
  });
});
