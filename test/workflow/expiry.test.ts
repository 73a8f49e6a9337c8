/**
 * expireExports with stubbed activities: one test per branch of workflows/expiry.ts. Which folders a rule keeps
 * (keepLast, keepWithin, _latest.json, set references, recent writes) is the pure plan, test/unit/retention-plan.test.ts;
 * what listing and deleting does on S3 is test/integration/retention.test.ts. Here: what the workflow does with a
 * plan: return it, delete exactly its `delete` list (never a protected folder), in chunks, only the confirmed
 * folders, plan again while a plan deferred some, and report folders the activity left because they changed.
 */
import { strict as assert } from 'node:assert';
import type { DeleteFoldersInput, ExpireInput, FolderDecision, PlanExpiryInput, PlanExpiryResult, TargetPlan } from '../../common/retention/types';
import { expireExports } from '../../workflows/expiry';
import { callsOf, runStubbed, type ActivityStubs, type WorkflowRun } from './harness';

const TARGET = { bucket: 'exports-bucket', prefix: 'exports', name: 'orders', keepLast: 2 };

/** Folder n of an export: logical time 2026-01-<n>. */
function folder(n: number, name = 'orders', action: FolderDecision['action'] = 'delete', kept: FolderDecision['kept'] = []): FolderDecision {
  const day = String(n).padStart(2, '0');
  return {
    logicalTime: `2026-01-${day}T00:00:00.000Z`,
    key: `exports/${name}/202601${day}T000000.000Z`,
    objects: 3,
    bytes: 300,
    published: true,
    lastWrittenAt: `2026-01-${day}T00:05:00.000Z`,
    action,
    kept,
    why: action === 'delete' ? 'older than the newest 2' : `kept: ${kept.join(', ')}`,
  };
}

function planOf(name: string, del: FolderDecision[], extra: Partial<TargetPlan> = {}): TargetPlan {
  return { bucket: 'exports-bucket', prefix: 'exports', name, rule: { keepLast: 2 }, folders: del.length + 2, delete: del, deferred: 0, protected: [], kept: 2, bytesToDelete: del.length * 300, ...extra };
}

const planned = (...plans: TargetPlan[]): PlanExpiryResult => ({ plannedAt: '2026-02-01T00:00:00.000Z', objectsListed: 30, setManifestsRead: 0, plans });
const deletedAll = async (input: DeleteFoldersInput) => ({ folders: input.folders.map((f) => ({ key: f.key, deleted: 3 })) });

function expireWith(stubs: ActivityStubs, input: ExpireInput) {
  return runStubbed(expireExports, 'expire', stubs, input);
}

const deletedKeys = (run: WorkflowRun) => callsOf(run, 'deleteExpiredFolders').flatMap((c) => c.folders.map((f) => f.key));

describe('expireExports (stubbed activities)', function () {
  this.timeout(60_000);

  // Protected folders of the plan: _latest.json names one, a set manifest references another.
  const latest = folder(5, 'orders', 'keep', ['latest']);
  const referenced = folder(4, 'orders', 'keep', ['set-reference']);
  const plan = planOf('orders', [folder(1), folder(2)], { protected: [latest, referenced] });

  it('without apply: returns the plan and deletes nothing', async () => {
    const { run, result } = await expireWith({ planExpiry: async () => planned(plan) }, { targets: [TARGET] });
    assert.deepEqual(run.calls.map((c) => c.name), ['planExpiry']);
    assert.equal(result?.mode, 'plan');
    assert.deepEqual(result?.plans[0].delete.map((f) => f.key), [folder(1).key, folder(2).key]);
    assert.equal(result?.foldersDeleted, 0);
    // The plan is computed against the run's clock, with the default recent-write guard.
    const [asked] = callsOf(run, 'planExpiry');
    assert.equal(asked.recentWriteSeconds, 3600);
    assert.ok(Math.abs(asked.nowMs - Date.now()) < 60_000);
  });

  it("with apply: deletes exactly the plan's folders, never one _latest.json names or a set manifest references", async () => {
    const { run, result } = await expireWith({ planExpiry: async () => planned(plan), deleteExpiredFolders: deletedAll }, { targets: [TARGET], apply: true, recentWriteSeconds: 0 });
    assert.deepEqual(deletedKeys(run), [folder(1).key, folder(2).key]);
    assert.ok(!deletedKeys(run).includes(latest.key) && !deletedKeys(run).includes(referenced.key));
    // The activity reads _latest.json again before each folder: it is told where.
    assert.equal(callsOf(run, 'deleteExpiredFolders')[0].latestKey, 'exports/orders/_latest.json');
    assert.equal(result?.mode, 'apply');
    assert.equal(result?.foldersDeleted, 2);
    assert.equal(result?.objectsDeleted, 6);
    assert.equal(callsOf(run, 'planExpiry')[0].recentWriteSeconds, 0);
  });

  it('a snapshot set folder goes with its member folders', async () => {
    const setFolder = { ...folder(1, 'daily'), memberFolders: ['exports/daily/members/orders/20260101T000000.000Z'] };
    const { run } = await expireWith(
      { planExpiry: async () => planned(planOf('daily', [setFolder])), deleteExpiredFolders: deletedAll },
      { targets: [{ ...TARGET, name: 'daily' }], apply: true },
    );
    assert.deepEqual(callsOf(run, 'deleteExpiredFolders')[0].folders[0].memberFolders, setFolder.memberFolders);
  });

  it('with confirmed: deletes only the folders the user was shown, even when the fresh plan has more', async () => {
    const { run, result } = await expireWith(
      { planExpiry: async () => planned(plan), deleteExpiredFolders: deletedAll },
      { targets: [TARGET], apply: true, confirmed: [`s3://exports-bucket/${folder(2).key}/`] },
    );
    assert.deepEqual(deletedKeys(run), [folder(2).key]);
    assert.equal(result?.foldersDeleted, 1);
  });

  it('a folder that changed since the plan, or that _latest.json names by now, is reported as left, not deleted', async () => {
    const { result } = await expireWith(
      {
        planExpiry: async () => planned(plan),
        deleteExpiredFolders: async (input) => ({
          folders: input.folders.map((f, i) => (i === 0 ? { key: f.key, deleted: 0, skipped: '_latest.json names it now' } : { key: f.key, deleted: 3 })),
        }),
      },
      { targets: [TARGET], apply: true },
    );
    assert.equal(result?.skipped, 1);
    assert.equal(result?.foldersDeleted, 1);
    assert.equal(result?.deleted.find((d) => d.skipped)?.key, folder(1).key);
  });

  it('deletes a long plan a few folders per activity', async () => {
    const many = Array.from({ length: 45 }, (_, i) => folder(i + 1));
    const { run, result } = await expireWith({ planExpiry: async () => planned(planOf('orders', many)), deleteExpiredFolders: deletedAll }, { targets: [TARGET], apply: true });
    assert.deepEqual(callsOf(run, 'deleteExpiredFolders').map((c) => c.folders.length), [20, 20, 5]);
    assert.equal(result?.foldersDeleted, 45);
  });

  it('a plan that deferred folders is planned again until nothing is deferred', async () => {
    let round = 0;
    const { run, result } = await expireWith(
      {
        planExpiry: async () => (++round === 1 ? planned(planOf('orders', [folder(1)], { deferred: 1 })) : planned(planOf('orders', [folder(2)]))),
        deleteExpiredFolders: deletedAll,
      },
      { targets: [TARGET], apply: true },
    );
    assert.equal(callsOf(run, 'planExpiry').length, 2);
    assert.deepEqual(deletedKeys(run), [folder(1).key, folder(2).key]);
    assert.equal(result?.foldersDeleted, 2);
    assert.equal(result?.plans.length, 1, 'the result shows the first plan');
  });

  it('stops planning again when a round could delete nothing (all unconfirmed or left)', async () => {
    const { run } = await expireWith(
      { planExpiry: async () => planned(planOf('orders', [folder(1)], { deferred: 5 })), deleteExpiredFolders: deletedAll },
      { targets: [TARGET], apply: true, confirmed: ['s3://exports-bucket/exports/orders/20250101T000000.000Z/'] },
    );
    assert.equal(callsOf(run, 'planExpiry').length, 1);
    assert.deepEqual(callsOf(run, 'deleteExpiredFolders'), []);
  });

  it('one plan per bucket and prefix: targets under the same prefix share one listing', async () => {
    const { run, result } = await expireWith(
      { planExpiry: async (input: PlanExpiryInput) => planned(...input.targets.map((t) => planOf(t.name, []))) },
      { targets: [TARGET, { ...TARGET, name: 'customers' }, { ...TARGET, prefix: 'other', name: 'orders' }] },
    );
    assert.deepEqual(
      callsOf(run, 'planExpiry').map((c) => [c.prefix, c.targets.map((t) => t.name)]),
      [['exports', ['orders', 'customers']], ['other', ['orders']]],
    );
    assert.equal(result?.plans.length, 3);
  });

  it('a storage profile is a store of its own: planned apart from AWS S3 under the same names, and every activity is told it', async () => {
    const { run } = await expireWith(
      { planExpiry: async (input: PlanExpiryInput) => planned(...input.targets.map((t) => planOf(t.name, [folder(1, t.name)]))), deleteExpiredFolders: deletedAll },
      { targets: [TARGET, { ...TARGET, storageProfile: 'emu' }], apply: true },
    );
    assert.deepEqual(callsOf(run, 'planExpiry').map((c) => c.storageProfile ?? 'aws'), ['aws', 'emu']);
    assert.deepEqual(callsOf(run, 'deleteExpiredFolders').map((c) => c.storageProfile ?? 'aws'), ['aws', 'emu']);
    // AWS S3's inputs carry no storageProfile field at all (as histories recorded before profiles existed).
    assert.ok(!('storageProfile' in callsOf(run, 'planExpiry')[0]));
  });

  it('bad input fails at once as InvalidInputError, before any activity', async () => {
    const { run, failure } = await expireWith({}, { targets: [{ ...TARGET, keepLast: 0 }] });
    assert.equal(failure?.type, 'InvalidInputError');
    assert.match(failure!.message, /keepLast/);
    assert.deepEqual(run.calls, []);
  });
});
