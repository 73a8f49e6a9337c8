/**
 * Two `schedules apply` runs at once (two operators, or CI and a person), against the real dev server. Applies of
 * one set take turns under its apply lock, so the set ends as one of the files entry for entry, each schedule
 * carrying the digest of its definition. Plans made before another apply changed things (an older CLI, or
 * `schedules delete` by hand) are applied without crashing: an update whose schedule is gone creates it, a create
 * that meets one compares it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { validateScheduleDocument, type ScheduleFile } from '../../client/schedules/file';
import { digestOf } from '../../client/schedules/digest';
import { diffSchedule } from '../../client/schedules/diff';
import { scheduleIdFor } from '../../client/schedules/model';
import { applyFile, applyPlan, describeOrUndefined, entryDigest, managedScheduleIds, planSchedules, type ApplyResult } from '../../client/schedules/reconcile';
import { sleep } from '../../local/processes';
import { applyLockId, withApplyLock } from '../../client/schedules/apply-lock';
import { ConflictError } from '../../common/failures';
import { sharedStack, type TestStack } from '../helpers/stack';
import { startCli } from '../helpers/cli-process';

const run = `c${Date.now().toString(36)}`;
const TQ = 'mz-s3-export-test';
const OPTS = { defaultTaskQueue: TQ, concurrency: 8 };
const APPLY = { ...OPTS, describeUnlisted: false }; // as `schedules apply` plans
const N = 40;
const name = (set: string, i: number) => `${run}-${set}-${String(i).padStart(2, '0')}`;

/** A file of the set with the entries `indexes`, each edited by `edit` (cron far away: nothing fires). */
function doc(set: string, indexes: number[], edit: (i: number) => Record<string, unknown> = () => ({})) {
  return {
    scheduleSet: `${run}-${set}`,
    defaults: { connectionName: 'it_conn', bucket: 'it-bucket', prefix: 'exports', format: 'csv', cron: '0 4 1 1 *' },
    exports: indexes.map((i) => ({ name: name(set, i), object: `public.t${i}`, ...edit(i) })),
  };
}
const file = (...args: Parameters<typeof doc>): ScheduleFile => validateScheduleDocument(doc(...args));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

/**
 * The set's schedules are exactly the file's (describe is consistent; the list must show no other schedule of the
 * set), each with the file's definition and, once the server has written it (a moment after the definition), the
 * digest of that definition. `candidates` are ids any of the racing files had, described so none is missed.
 */
async function assertSetIs(client: Client, f: ScheduleFile, candidates: string[]): Promise<void> {
  const want = new Map(f.entries.map((e) => [scheduleIdFor(e.name), e]));
  const problems: string[] = [];
  const digestDeadline = Date.now() + 10_000;
  for (const id of new Set([...candidates, ...want.keys()])) {
    const entry = want.get(id);
    let live = await describeOrUndefined(client, id);
    if (!entry) {
      if (live) problems.push(`${id} exists, the file has no such entry`);
      continue;
    }
    if (!live) {
      problems.push(`${id} is missing`);
      continue;
    }
    const changes = diffSchedule(entry, live, TQ).map((c) => c.field);
    if (changes.length) problems.push(`${id} differs from the file in ${changes.join(', ')}`);
    for (; digestOf(live!) !== entryDigest(entry, TQ) && Date.now() < digestDeadline; await sleep(200)) {
      live = await describeOrUndefined(client, id);
    }
    if (digestOf(live!) !== entryDigest(entry, TQ)) problems.push(`${id} carries digest ${digestOf(live!)}, not its definition's`);
  }
  for (const id of await managedScheduleIds(client, f.scheduleSet)) {
    if (!want.has(id) && (await describeOrUndefined(client, id))) problems.push(`${id} is listed in the set, the file has no such entry`);
  }
  assert.deepEqual(problems, [], `the set is not the file of ${f.entries.length} entries`);
}

/** Until the schedule list shows the file's entries (it lags writes; apply itself waits only when it follows one). */
async function untilListed(client: Client, f: ScheduleFile): Promise<void> {
  const want = f.entries.map((e) => scheduleIdFor(e.name)).sort();
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(200)) {
    if ((await managedScheduleIds(client, f.scheduleSet)).join() === want.join()) return;
  }
  throw new Error(`the schedule list did not show the ${want.length} schedules of ${f.scheduleSet} within 10 s`);
}

const ids = (...files: ScheduleFile[]) => [...new Set(files.flatMap((f) => f.entries.map((e) => scheduleIdFor(e.name))))];
const total = (results: ApplyResult[], key: keyof ApplyResult) => results.reduce((n, r) => n + r[key].length, 0);

describe('schedules: concurrent applies (Temporal dev server)', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let client: Client;
  const made = new Set<string>();

  before(async function () {
    this.timeout(180_000);
    stack = await sharedStack();
    client = stack.temporal;
  });

  after(async () => {
    if (!client) return;
    for (const id of made) await client.schedule.getHandle(id).delete().catch(() => undefined);
  });

  it(`two applies of the same ${N}-entry file started together both succeed, leaving one schedule per entry`, async () => {
    const f = file('same', range(0, N));
    ids(f).forEach((id) => made.add(id));
    const waits: string[] = [];
    const results = await Promise.all([1, 2].map(() => applyFile(client, f, OPTS, { onWait: (h) => waits.push(h) })));
    assert.equal(waits.length, 1, 'the second apply waited for the first');
    assert.match(waits[0], /^the apply by .+ since \d{4}-/);
    // The first creates everything; the second, planning after it, finds everything in place.
    assert.deepEqual(
      results.map((r) => [r.result.created.length, r.result.updated.length, r.result.unchanged.length]).sort(),
      [[0, 0, N], [N, 0, 0]],
    );
    await assertSetIs(client, f, ids(f));
  });

  it('two plans made before either applied, applied together (no lock: an older CLI), both succeed with one schedule per entry', async () => {
    const f = file('stale', range(0, N));
    ids(f).forEach((id) => made.add(id));
    const plans = await Promise.all([1, 2].map(() => planSchedules(client, f, APPLY)));
    const results = await Promise.all(plans.map((p) => applyPlan(client, p, OPTS)));
    assert.equal(total(results, 'created'), N, 'each schedule created once; the other create found it and compared');
    await assertSetIs(client, f, ids(f));
  });

  it('two versions of a file applied together: the set ends as one of them, entry for entry, digests matching', async () => {
    const base = file('versions', range(0, N));
    // v1 edits 0-9 one way and 20-24; v2 edits 0-9 another way, removes 30-39 and adds 40-49.
    const v1 = file('versions', range(0, N), (i) => (i < 10 ? { format: 'parquet' } : i >= 20 && i < 25 ? { jitter: '1m' } : {}));
    const v2 = file('versions', [...range(0, 30), ...range(40, 50)], (i) => (i < 10 ? { csvHeader: true, timezone: 'Europe/Berlin' } : {}));
    const all = ids(base, v1, v2);
    all.forEach((id) => made.add(id));
    await applyFile(client, base, OPTS);
    const order: string[] = [];
    await Promise.all(
      [v1, v2].map((f, k) => applyFile(client, f, OPTS, { onPlan: () => order.push(`v${k + 1}`) })),
    );
    assert.equal(order.length, 2);
    await assertSetIs(client, order[1] === 'v1' ? v1 : v2, all); // the one that planned last wins, whole
  });

  it('applies one right after the other (A, B, A again) end as the last file: the next plan never trusts a lagging list', async () => {
    const a = file('turns', range(0, 20));
    const b = file('turns', [...range(0, 10), ...range(20, 30)], (i) => (i < 5 ? { format: 'parquet' } : {}));
    const all = ids(a, b);
    all.forEach((id) => made.add(id));
    await applyFile(client, a, OPTS);
    await applyFile(client, b, OPTS);
    const again = await applyFile(client, a, OPTS);
    assert.deepEqual([again.result.created.length, again.result.updated.length, again.result.deleted.length], [10, 5, 10]);
    await assertSetIs(client, a, all);
  });

  it('an apply that fails halfway leaves the next one a record of what it did: A, B failing after its deletes, A again ends as A', async () => {
    const a = file('halfway', range(0, 20));
    const b = file('halfway', [...range(0, 10), 20]);
    const all = ids(a, b);
    all.forEach((id) => made.add(id));
    await applyFile(client, a, OPTS);
    // Between B's plan and its writes, someone else's schedule takes the id of B's new entry: all of B's writes
    // start at once, its 10 deletes land and that create fails.
    const taken = scheduleIdFor(name('halfway', 20));
    const takeIt = async () => {
      await client.schedule.create({
        scheduleId: taken,
        spec: { cronExpressions: ['0 4 1 1 *'] },
        action: { type: 'startWorkflow', workflowType: 'bulkExport', taskQueue: 'elsewhere', args: [{}] },
      });
    };
    await assert.rejects(applyFile(client, b, { ...OPTS, concurrency: 32 }, { onPlan: takeIt }), /not created by mz-s3-export/);
    await client.schedule.getHandle(taken).delete();
    // At once: the list may still show B's deletes with A's digests; planned from it, they would stay deleted.
    const again = await applyFile(client, a, OPTS);
    assert.deepEqual([again.result.created.length, again.result.deleted.length], [10, 0]);
    await assertSetIs(client, a, all);
  });

  it('an update racing a delete of the same entry ends as one of the two files', async () => {
    const base = file('race', range(0, 10));
    const updating = file('race', range(0, 10), (i) => (i === 4 ? { format: 'parquet', paused: true, note: 'edited' } : {}));
    const deleting = file('race', [...range(0, 4), ...range(5, 10)]);
    const all = ids(base);
    all.forEach((id) => made.add(id));
    await applyFile(client, base, OPTS);
    const order: string[] = [];
    await Promise.all([updating, deleting].map((f, k) => applyFile(client, f, OPTS, { onPlan: () => order.push(k ? 'delete' : 'update') })));
    await assertSetIs(client, order[1] === 'update' ? updating : deleting, all);
  });

  it('a stale update of a schedule another apply deleted creates it again; a stale delete of a deleted one is fine', async () => {
    const base = file('stale-race', range(0, 10));
    const updating = file('stale-race', range(0, 10), (i) => (i === 4 ? { format: 'parquet' } : {}));
    const deleting = file('stale-race', [...range(0, 4), ...range(5, 10)]);
    const all = ids(base);
    all.forEach((id) => made.add(id));
    await applyFile(client, base, OPTS);
    await untilListed(client, base);
    // Both planned against the base, as two operators would; the delete goes through first.
    const [up, del] = await Promise.all([planSchedules(client, updating, APPLY), planSchedules(client, deleting, APPLY)]);
    const id = scheduleIdFor(name('stale-race', 4));
    assert.equal(up.items.find((i) => i.scheduleId === id)?.action, 'update');
    assert.equal(del.items.find((i) => i.scheduleId === id)?.action, 'delete');
    assert.deepEqual((await applyPlan(client, del, OPTS)).deleted, [id]);
    const steps: string[] = [];
    const result = await applyPlan(client, up, OPTS, (line) => steps.push(line));
    assert.deepEqual(result.created, [id], 'the file being applied wants the entry: it is created again');
    assert.ok(steps.includes(`created ${id} (deleted by someone else while applying)`), steps.join('\n'));
    await assertSetIs(client, updating, all);
    // The delete's plan, applied again now that the schedule is back, deletes it; applied once more, finds it gone.
    assert.deepEqual((await applyPlan(client, del, OPTS)).deleted, [id]);
    assert.deepEqual((await applyPlan(client, del, OPTS)).deleted, [id]);
    assert.equal(await describeOrUndefined(client, id), undefined);
  });

  it('the CLI waits while another apply holds the set, then applies; a bounded wait ends in a clear error', async () => {
    const f = file('cli', range(0, 3));
    ids(f).forEach((id) => made.add(id));
    const fileName = path.join(stack.logDir, `${run}-cli.json`);
    fs.writeFileSync(fileName, JSON.stringify(doc('cli', range(0, 3))));
    const cli = await withApplyLock(client, f.scheduleSet, {}, async () => {
      const p = startCli(['schedules', 'apply', '-f', fileName], { ...stack.env, TEMPORAL_TASK_QUEUE: TQ });
      await p.waitFor(/Waiting for the apply by .+ since .+ to finish \(one apply per schedule set at a time\)/, 30_000);
      await assert.rejects(applyFile(client, f, OPTS, { lock: { waitMs: 300 } }), (e: Error) => {
        assert.ok(e instanceof ConflictError);
        assert.match(e.message, new RegExp(`schedule set "${f.scheduleSet}" is being applied by .+; nothing was changed`));
        assert.ok(e.message.includes(`temporal workflow terminate --workflow-id ${applyLockId(f.scheduleSet)}`), e.message);
        return true;
      });
      assert.equal(await describeOrUndefined(client, ids(f)[0]), undefined, 'nothing applied while the set was held');
      return p;
    });
    const done = await cli.exited;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /3 created, 0 updated, 0 deleted, 0 unchanged/);
    await assertSetIs(client, f, ids(f));
  });
});
