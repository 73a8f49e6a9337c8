/**
 * Schedules as code against the real Temporal dev server: plan, apply, re-apply (a no-op), edit, delete, and
 * that apply never touches schedules it does not manage. The schedules' action is bulkExport; nothing fires
 * here (cron far in the future, or paused), so no worker is involved.
 */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { ConflictError } from '../../common/failures';
import { parseScheduleFile } from '../../client/schedules/file';
import { applyPlan, planSchedules, type Plan } from '../../client/schedules/reconcile';
import { listManagedSchedules, pauseSchedule, unpauseSchedule, deleteSchedule } from '../../client/schedules/operations';
import { PROJECT_ROOT } from '../../local/stack';
import { sharedStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/export-run';

const run = `t${Date.now().toString(36)}`;
const SET = `it-${run}`;
const OPTS = { defaultTaskQueue: 'mz-s3-export-test' };

/** A schedule file whose exports never fire during the test (1 January, 04:00). */
function fileText(entries: string, set = SET): string {
  return `version: 1
scheduleSet: ${set}
defaults:
  connectionName: it_conn
  bucket: it-bucket
  prefix: exports
  cron: "0 4 1 1 *"
exports:
${entries}`;
}

const ENTRY_A = `  - name: ${run}-a
    object: public.orders
    format: parquet
`;
const ENTRY_B = `  - name: ${run}-b
    query: SELECT 1 AS one
    format: csv
    csvHeader: true
    timezone: Europe/Berlin
    jitter: 30s
`;
const ENTRY_C = `  - name: ${run}-c
    object: public.customers
    format: csv
    interval: {every: 1h, offset: 7m}
    paused: true
    note: created paused by the test
    overlap: bufferOne
`;

const counts = (p: Plan) =>
  Object.fromEntries(['create', 'update', 'delete', 'unchanged', 'conflict'].map((a) => [a, p.items.filter((i) => i.action === a).length]));

describe('schedules as code (Temporal dev server)', function () {
  let stack: TestStack;
  let client: Client;
  const plan = (text: string) => planSchedules(client, parseScheduleFile(text), OPTS);

  before(async function () {
    this.timeout(180_000);
    stack = await sharedStack();
    client = stack.temporal;
  });

  after(async () => {
    if (!client) return;
    for (const id of [`a`, `b`, `c`, `foreign`, `other-set`].map((s) => `mz-s3-export:${run}-${s}`)) {
      await client.schedule.getHandle(id).delete().catch(() => undefined);
    }
    await client.schedule.getHandle(`someone-else-${run}`).delete().catch(() => undefined);
  });

  it('plan shows what apply would create and changes nothing', async () => {
    const p = await plan(fileText(ENTRY_A + ENTRY_B + ENTRY_C));
    assert.deepEqual(counts(p), { create: 3, update: 0, delete: 0, unchanged: 0, conflict: 0 });
    await assert.rejects(client.schedule.getHandle(`mz-s3-export:${run}-a`).describe(), ScheduleNotFoundError);
  });

  it('apply creates schedules that start bulkExport with the file\'s input, timing and pause state', async () => {
    const text = fileText(ENTRY_A + ENTRY_B + ENTRY_C);
    const result = await applyPlan(client, await plan(text), OPTS);
    assert.equal(result.created.length, 3);

    const b = await client.schedule.getHandle(`mz-s3-export:${run}-b`).describe();
    assert.equal(b.action.workflowType, 'bulkExport');
    assert.equal(b.action.workflowId, `mz-s3-export:${run}-b`);
    assert.equal(b.action.taskQueue, 'mz-s3-export-test');
    assert.deepEqual(b.action.args, [
      { exportName: `${run}-b`, connectionName: 'it_conn', query: 'SELECT 1 AS one', bucket: 'it-bucket', prefix: 'exports', format: 'csv', csvHeader: true },
    ]);
    assert.equal(b.spec.timezone, 'Europe/Berlin');
    assert.equal(b.spec.jitter, 30_000);
    assert.equal(b.spec.calendars?.length, 1);
    assert.equal(b.policies.overlap, 'SKIP', 'skip is the default overlap policy');
    assert.equal(b.policies.catchupWindow, 86_400_000);
    assert.deepEqual(b.memo, { managedBy: 'mz-s3-export', scheduleSet: SET });
    assert.equal(b.state.paused, false);
    assert.ok(b.info.nextActionTimes.length > 0);

    const c = await client.schedule.getHandle(`mz-s3-export:${run}-c`).describe();
    assert.deepEqual(c.spec.intervals, [{ every: 3_600_000, offset: 420_000 }]);
    assert.equal(c.policies.overlap, 'BUFFER_ONE');
    assert.deepEqual([c.state.paused, c.state.note], [true, 'created paused by the test']);
  });

  it('re-applying the same file is a no-op', async () => {
    const text = fileText(ENTRY_A + ENTRY_B + ENTRY_C);
    const before = await client.schedule.getHandle(`mz-s3-export:${run}-b`).describe();
    const p = await plan(text);
    assert.deepEqual(counts(p), { create: 0, update: 0, delete: 0, unchanged: 3, conflict: 0 });
    const result = await applyPlan(client, p, OPTS);
    assert.deepEqual([result.created, result.updated, result.deleted], [[], [], []]);
    const after = await client.schedule.getHandle(`mz-s3-export:${run}-b`).describe();
    assert.equal(after.info.lastUpdatedAt?.getTime(), before.info.lastUpdatedAt?.getTime(), 'the schedule was not written');
  });

  it('an edited entry is planned field by field and applied as an update', async () => {
    const editedB = ENTRY_B.replace('format: csv\n    csvHeader: true', 'format: parquet').replace('jitter: 30s', 'jitter: 1m\n    cron: "15 2 * * *"\n    paused: true\n    note: on hold');
    const editedC = ENTRY_C.replace('    paused: true\n    note: created paused by the test\n', '');
    const text = fileText(ENTRY_A + editedB + editedC);
    const p = await plan(text);
    assert.deepEqual(counts(p), { create: 0, update: 2, delete: 0, unchanged: 1, conflict: 0 });
    const upB = p.items.find((i) => i.scheduleId.endsWith('-b'));
    assert.ok(upB?.action === 'update');
    assert.deepEqual(
      upB.changes.map((c) => c.field),
      ['csvHeader', 'format', 'cron', 'jitter', 'paused', 'note'],
    );
    await applyPlan(client, p, OPTS);

    const b = await client.schedule.getHandle(`mz-s3-export:${run}-b`).describe();
    assert.equal((b.action.args?.[0] as { format: string }).format, 'parquet');
    assert.equal((b.action.args?.[0] as { csvHeader?: boolean }).csvHeader, undefined);
    assert.equal(b.spec.jitter, 60_000);
    assert.equal(b.spec.calendars?.[0].hour[0].start, 2);
    assert.deepEqual([b.state.paused, b.state.note], [true, 'on hold']);
    const c = await client.schedule.getHandle(`mz-s3-export:${run}-c`).describe();
    assert.equal(c.state.paused, false, 'removing paused from the file unpauses');
    assert.deepEqual(counts(await plan(text)), { create: 0, update: 0, delete: 0, unchanged: 3, conflict: 0 });
  });

  it('an entry removed from the file is deleted; other sets and foreign schedules are left alone', async () => {
    // A schedule of another set (another file) and one not made by mz-s3-export at all.
    await applyPlan(client, await plan(fileText(`  - name: ${run}-other-set\n    object: t\n    format: csv\n`, `${SET}-other`)), OPTS);
    await client.schedule.create({
      scheduleId: `someone-else-${run}`,
      spec: { cronExpressions: ['0 4 1 1 *'] },
      action: { type: 'startWorkflow', workflowType: 'bulkExport', taskQueue: 'elsewhere', args: [{}] },
    });
    const text = fileText(ENTRY_A);
    const p = await plan(text);
    assert.deepEqual(counts(p), { create: 0, update: 0, delete: 2, unchanged: 1, conflict: 0 });
    await applyPlan(client, p, OPTS);
    await assert.rejects(client.schedule.getHandle(`mz-s3-export:${run}-b`).describe(), ScheduleNotFoundError);
    await assert.rejects(client.schedule.getHandle(`mz-s3-export:${run}-c`).describe(), ScheduleNotFoundError);
    await client.schedule.getHandle(`mz-s3-export:${run}-other-set`).describe();
    await client.schedule.getHandle(`someone-else-${run}`).describe();
    assert.deepEqual(counts(await plan(text)), { create: 0, update: 0, delete: 0, unchanged: 1, conflict: 0 });
  });

  it('refuses, changing nothing, when an id is taken by a schedule it does not manage', async () => {
    await client.schedule.create({
      scheduleId: `mz-s3-export:${run}-foreign`,
      spec: { cronExpressions: ['0 4 1 1 *'] },
      action: { type: 'startWorkflow', workflowType: 'somethingElse', taskQueue: 'elsewhere', args: [{}] },
    });
    const foreign = `  - name: ${run}-foreign\n    object: t\n    format: csv\n`;
    const otherSet = `  - name: ${run}-other-set\n    object: t\n    format: csv\n`;
    const p = await plan(fileText(ENTRY_A + ENTRY_B + foreign + otherSet));
    assert.deepEqual(counts(p), { create: 1, update: 0, delete: 0, unchanged: 1, conflict: 2 });
    await assert.rejects(applyPlan(client, p, OPTS), (e: Error) => {
      assert.ok(e instanceof ConflictError);
      assert.match(e.message, /nothing was changed/);
      assert.match(e.message, /not created by mz-s3-export/);
      assert.match(e.message, new RegExp(`belongs to schedule set "${SET}-other"`));
      return true;
    });
    await assert.rejects(client.schedule.getHandle(`mz-s3-export:${run}-b`).describe(), ScheduleNotFoundError);
    await assert.rejects(deleteSchedule(client, `${run}-foreign`), /not created by mz-s3-export/);
    await assert.rejects(pauseSchedule(client, `someone-else-${run}`, 'x'), /there is no schedule mz-s3-export:someone-else/);
  });

  it('pause and unpause with a note; list shows the managed schedules only', async () => {
    await pauseSchedule(client, `${run}-a`, 'warehouse migration until Monday');
    let rows = await listManagedSchedules(client);
    const a = rows.find((r) => r.exportName === `${run}-a`);
    assert.ok(a);
    assert.equal(a.paused, true);
    assert.equal(a.note, 'warehouse migration until Monday');
    assert.equal(a.scheduleSet, SET);
    assert.match(a.when, /^cron "0 4 1 1 \*" UTC$/);
    assert.ok(!rows.some((r) => r.scheduleId.includes('someone-else') || r.scheduleId.endsWith('-foreign')));
    // The file says active: plan shows the drift, apply restores it. Plan reads the schedule list, which shows a
    // pause made outside the file a moment later (docs/schedules.md), so the drift appears within seconds.
    const drift = async () => (await plan(fileText(ENTRY_A))).items.map((i) => (i.action === 'update' ? i.changes.map((c) => c.field) : i.action));
    await eventually('the plan to show the pause as drift', async () => JSON.stringify(await drift()) === JSON.stringify([['paused']]));
    assert.deepEqual(await drift(), [['paused']]);
    await unpauseSchedule(client, `mz-s3-export:${run}-a`, 'migration done');
    rows = await listManagedSchedules(client);
    assert.equal(rows.find((r) => r.exportName === `${run}-a`)?.paused, false);
  });

  it('the CLI plans and applies a file', async function () {
    this.timeout(60_000);
    const file = path.join(stack.logDir, `${run}-schedules.yaml`);
    fs.writeFileSync(file, fileText(ENTRY_A + ENTRY_B));
    const cli = (...args: string[]) =>
      promisify(execFile)(path.join(PROJECT_ROOT, 'bin', 'mz-s3-export'), args, {
        env: { ...process.env, ...stack.env, TEMPORAL_TASK_QUEUE: 'mz-s3-export-test' },
      });
    const planOut = await cli('schedules', 'plan', '-f', file);
    assert.match(planOut.stdout, new RegExp(`\\+ create +mz-s3-export:${run}-b`));
    assert.match(planOut.stdout, new RegExp(`= unchanged +mz-s3-export:${run}-a`));
    assert.match(planOut.stdout, /Plan: 1 to create, 0 to update, 0 to delete, 1 unchanged\./);
    const applyOut = await cli('schedules', 'apply', '-f', file);
    assert.match(applyOut.stdout, /1 created, 0 updated, 0 deleted, 1 unchanged/);
    const again = await cli('schedules', 'plan', '-f', file, '--json');
    assert.deepEqual(
      (JSON.parse(again.stdout) as Plan).items.map((i) => i.action),
      ['unchanged', 'unchanged'],
    );
    await assert.rejects(cli('schedules', 'plan', '-f', path.join(stack.logDir, 'missing.yaml')), /cannot read/);
  });
});
