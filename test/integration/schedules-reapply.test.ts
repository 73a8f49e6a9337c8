/**
 * What a plan costs Temporal: a re-apply of an unchanged file reads the schedule list (one ListSchedules page per
 * 1,000 schedules) and describes nothing; a changed entry, a pause made outside the file, a schedule from an older
 * apply without a digest, and a schedule created after the list was read are each found and handled. Calls are
 * counted by a client that wraps every WorkflowService call, against the real dev server.
 */
import * as assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { countedTemporalClient, type CountedClient } from '../../bench/temporal-calls';
import { validateScheduleDocument, type ScheduleFile } from '../../client/schedules/file';
import { digestOf } from '../../client/schedules/digest';
import { desiredSchedule } from '../../client/schedules/model';
import { applyPlan, DIGEST_FIELD, entryDigest, planSchedules, type Plan } from '../../client/schedules/reconcile';
import { pauseSchedule } from '../../client/schedules/operations';
import { sleep } from '../../local/processes';
import { sharedStack } from '../helpers/stack';

const run = `r${Date.now().toString(36)}`;
const SET = `reapply-${run}`;
const OPTS = { defaultTaskQueue: 'mz-s3-export-test', concurrency: 8 };
const N = 40;

function file(edit: (i: number) => Record<string, unknown> = () => ({})): ScheduleFile {
  return validateScheduleDocument({
    scheduleSet: SET,
    defaults: { connectionName: 'it_conn', bucket: 'it-bucket', prefix: 'exports', format: 'csv', cron: '0 4 1 1 *' },
    exports: Array.from({ length: N }, (_, i) => ({ name: `${run}-${String(i).padStart(2, '0')}`, object: `public.t${i}`, ...edit(i) })),
  });
}

const counts = (p: Plan) => Object.fromEntries(['create', 'update', 'delete', 'unchanged', 'conflict'].map((a) => [a, p.items.filter((i) => i.action === a).length]));
const idOf = (i: number) => `mz-s3-export:${run}-${String(i).padStart(2, '0')}`;

/** The list lags writes by a moment: wait until it shows every schedule of the set with the digest it should carry. */
async function waitUntilListed(client: Client, f: ScheduleFile): Promise<void> {
  const want = new Map(f.entries.map((e) => [desiredSchedule(e, SET, OPTS.defaultTaskQueue).scheduleId, entryDigest(e, OPTS.defaultTaskQueue)]));
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(250)) {
    let ok = 0;
    for await (const s of client.schedule.list()) if (want.get(s.scheduleId) === digestOf(s)) ok++;
    if (ok === want.size) return;
  }
  throw new Error('the schedule list did not catch up within 60 s');
}

/** The server writes a schedule's search attributes a moment after its definition: wait for the digest to show. */
async function eventuallyDigest(client: Client, scheduleId: string, want: string | undefined): Promise<void> {
  let seen: string | undefined;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(200)) {
    seen = digestOf(await client.schedule.getHandle(scheduleId).describe());
    if (seen === want) return;
  }
  assert.equal(seen, want, `${scheduleId}'s digest`);
}

/** The file as the tests left it (entry 3 in Parquet) plus one more entry. */
function withExtra(suffix: string): ScheduleFile {
  const f = file((i) => (i === 3 ? { format: 'parquet' } : {}));
  const extra = validateScheduleDocument({
    scheduleSet: SET,
    defaults: { connectionName: 'it_conn', bucket: 'it-bucket', prefix: 'exports', format: 'csv', cron: '0 4 1 1 *' },
    exports: [{ name: `${run}-${suffix}`, object: `public.${suffix}` }],
  });
  return { ...f, entries: [...f.entries, ...extra.entries] };
}

describe('schedules: re-apply cost and change detection (Temporal dev server)', function () {
  let counted: CountedClient;
  let client: Client;

  before(async function () {
    this.timeout(180_000);
    const stack = await sharedStack();
    counted = await countedTemporalClient(stack.info.temporalAddress);
    client = counted.client;
  });

  after(async () => {
    if (!client) return;
    for (let i = 0; i < N; i++) await client.schedule.getHandle(idOf(i)).delete().catch(() => undefined);
    await counted.connection.close();
  });

  it(`applies ${N} new schedules, each with the digest of its definition, with creates and no describes`, async () => {
    counted.reset();
    const apply = { ...OPTS, describeUnlisted: false }; // as `schedules apply` plans
    const result = await applyPlan(client, await planSchedules(client, file(), apply), apply);
    assert.equal(result.created.length, N);
    assert.deepEqual(counted.calls, { ListSchedules: 1, CreateSchedule: N }, `calls made: ${JSON.stringify(counted.calls)}`);
    const d = await client.schedule.getHandle(idOf(7)).describe();
    assert.equal(digestOf(d), entryDigest(file().entries[7], OPTS.defaultTaskQueue));
  });

  it('a re-apply with nothing changed lists the schedules once and describes none', async () => {
    await waitUntilListed(client, file());
    counted.reset();
    const p = await planSchedules(client, file(), OPTS);
    const result = await applyPlan(client, p, OPTS);
    assert.deepEqual(counts(p), { create: 0, update: 0, delete: 0, unchanged: N, conflict: 0 });
    assert.equal(result.unchanged.length, N);
    assert.deepEqual(counted.calls, { ListSchedules: 1 }, `calls made: ${JSON.stringify(counted.calls)}`);
  });

  it('an edited entry changes its digest: only that schedule is described and updated', async () => {
    const edited = file((i) => (i === 3 ? { format: 'parquet' } : {}));
    counted.reset();
    const p = await planSchedules(client, edited, OPTS);
    assert.deepEqual(counts(p), { create: 0, update: 1, delete: 0, unchanged: N - 1, conflict: 0 });
    const item = p.items.find((i) => i.action === 'update');
    assert.ok(item?.action === 'update' && item.scheduleId === idOf(3));
    assert.deepEqual(item.changes.map((c) => c.field), ['format']);
    assert.equal(counted.calls.DescribeSchedule, 1);
    await applyPlan(client, p, OPTS);
    await eventuallyDigest(client, idOf(3), entryDigest(edited.entries[3], OPTS.defaultTaskQueue));
    await waitUntilListed(client, edited);
    assert.deepEqual(counts(await planSchedules(client, edited, OPTS)), { create: 0, update: 0, delete: 0, unchanged: N, conflict: 0 });
  });

  it('a pause made outside the file shows in the list and is planned as an update', async () => {
    const f = file((i) => (i === 3 ? { format: 'parquet' } : {}));
    await pauseSchedule(client, idOf(5), 'paused by hand');
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(250)) {
      const p = await planSchedules(client, f, OPTS);
      const item = p.items.find((i) => i.scheduleId === idOf(5));
      if (item?.action !== 'update') continue;
      assert.deepEqual(item.changes.map((c) => c.field), ['paused']);
      await applyPlan(client, p, OPTS);
      assert.equal((await client.schedule.getHandle(idOf(5)).describe()).state.paused, false);
      return;
    }
    assert.fail('the pause made outside the file was never planned');
  });

  it('a schedule without a digest (an older apply) gets one recorded, changing nothing else', async () => {
    const f = withExtra('old');
    const old = f.entries.at(-1)!;
    await client.schedule.create(desiredSchedule(old, SET, OPTS.defaultTaskQueue)); // as applies before digests did
    const p = await planSchedules(client, f, OPTS);
    const item = p.items.find((i) => i.scheduleId === `mz-s3-export:${run}-old`);
    assert.ok(item?.action === 'update', `planned ${item?.action}`);
    assert.deepEqual(item.changes.map((c) => c.field), [DIGEST_FIELD]);
    await applyPlan(client, p, OPTS);
    await eventuallyDigest(client, `mz-s3-export:${run}-old`, entryDigest(old, OPTS.defaultTaskQueue));
    await client.schedule.getHandle(`mz-s3-export:${run}-old`).delete();
  });

  it('a plan made before the schedule existed applies as a comparison, not a failure', async () => {
    const extra = withExtra('late');
    const stale = await planSchedules(client, extra, OPTS);
    assert.equal(counts(stale).create, 1);
    await applyPlan(client, await planSchedules(client, extra, OPTS), OPTS); // someone applies first
    const result = await applyPlan(client, stale, OPTS);
    assert.deepEqual(result.created, []);
    assert.ok(result.unchanged.includes(`mz-s3-export:${run}-late`));
    await client.schedule.getHandle(`mz-s3-export:${run}-late`).delete();
  });
});
