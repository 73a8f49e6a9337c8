import { bulkExport } from '../../workflows/export';
import * as assert from 'node:assert/strict';
import { parseScheduleFile, type ScheduleEntry } from '../../client/schedules/file';
import { diffSchedule, sameValue, type LiveSchedule } from '../../client/schedules/diff';
import { setDigest } from '../../client/schedules/digest';
import { formatPlan } from '../../client/schedules/format';
import { formatRuns, formatStatus, runsQuery } from '../../client/schedules/runs';
import {
  desiredSchedule,
  desiredUpdate,
  exportNameOf,
  markerOf,
  scheduleIdFor,
  TIMING_MEMO_KEY,
  timingOf,
  toScheduleId,
} from '../../client/schedules/model';

const entryOf = (yaml: string): ScheduleEntry =>
  parseScheduleFile(
    `defaults: {connectionName: demo_s3, bucket: acme-exports, prefix: exports}\nexports:\n  - ${yaml.trim().replace(/\n/g, '\n    ')}`,
  ).entries[0];

/** What describe() returns for a schedule created from the entry, as the server normalizes it. */
function liveOf(entry: ScheduleEntry, taskQueue = 'q'): LiveSchedule {
  const o = desiredSchedule(entry, 'set', taskQueue);
  return {
    spec: {
      calendars: (entry.cron ?? []).map(() => ({}) as never),
      intervals: entry.interval ? [{ every: entry.interval.everyMs, offset: entry.interval.offsetMs }] : [],
      timezone: entry.timezone === 'UTC' ? '' : entry.timezone,
      jitter: entry.jitterMs,
    },
    action: {
      type: 'startWorkflow',
      workflowType: 'bulkExport',
      workflowId: o.action.workflowId!,
      taskQueue,
      args: JSON.parse(JSON.stringify(o.action.args)),
      memo: JSON.parse(JSON.stringify(o.action.memo)),
    },
    policies: { overlap: o.policies!.overlap!, catchupWindow: entry.catchupWindowMs, pauseOnFailure: entry.pauseOnFailure },
    state: { paused: entry.paused, note: entry.note ?? '' },
    memo: o.memo,
  };
}

describe('schedule model', () => {
  const daily = entryOf(`
name: orders-daily
object: public.orders
format: parquet
cron: "0 3 * * *"
timezone: Europe/Berlin
jitter: 5m
`);

  it('names schedules and recognises the ones it manages', () => {
    assert.equal(scheduleIdFor('orders-daily'), 'mz-s3-export:orders-daily');
    assert.equal(toScheduleId('orders-daily'), 'mz-s3-export:orders-daily');
    assert.equal(toScheduleId('mz-s3-export:orders-daily'), 'mz-s3-export:orders-daily');
    assert.equal(exportNameOf('mz-s3-export:orders-daily'), 'orders-daily');
    assert.deepEqual(markerOf({ managedBy: 'mz-s3-export', scheduleSet: 'a' }), { managedBy: 'mz-s3-export', scheduleSet: 'a' });
    assert.equal(markerOf({ managedBy: 'someone-else', scheduleSet: 'a' }), undefined);
    assert.equal(markerOf(undefined), undefined);
  });

  it('maps an entry to a schedule that starts bulkExport with the input and no logical time', () => {
    const o = desiredSchedule(daily, 'analytics', 'mz-s3-export');
    assert.equal(o.scheduleId, 'mz-s3-export:orders-daily');
    assert.deepEqual(o.memo, { managedBy: 'mz-s3-export', scheduleSet: 'analytics' });
    assert.deepEqual(o.spec, { cronExpressions: ['0 3 * * *'], timezone: 'Europe/Berlin', jitter: 300_000 });
    assert.equal(o.action.workflowType, bulkExport, 'started by function reference, so its input is type-checked');
    assert.equal(o.action.workflowId, 'mz-s3-export:orders-daily', 'each fire runs as <schedule id>-<time>');
    assert.equal(o.action.taskQueue, 'mz-s3-export');
    assert.deepEqual(o.action.args, [daily.input]);
    assert.equal((o.action.args![0] as Record<string, unknown>).logicalTime, undefined);
    assert.deepEqual(o.action.memo, { [TIMING_MEMO_KEY]: timingOf(daily) });
    assert.deepEqual(o.policies, { overlap: 'SKIP', catchupWindow: 86_400_000, pauseOnFailure: false });
    assert.deepEqual(o.state, { paused: false });
    const sa = (o.typedSearchAttributes as { key: { name: string }; value: unknown }[]).map((p) => [p.key.name, p.value]);
    assert.deepEqual(sa, [['MzExportName', 'orders-daily'], ['MzConnection', 'demo_s3']]);
  });

  it('maps intervals, overlap and a per-entry task queue', () => {
    const e = entryOf(`
name: x
object: t
format: csv
interval: {every: 1h, offset: 5m}
overlap: bufferAll
taskQueue: eu
paused: true
note: later
`);
    const u = desiredUpdate(e, 'default-queue', 'old note');
    assert.deepEqual(u.spec.intervals, [{ every: 3_600_000, offset: 300_000 }]);
    assert.equal(u.spec.cronExpressions, undefined);
    assert.equal(u.policies!.overlap, 'BUFFER_ALL');
    assert.equal(u.action.taskQueue, 'eu');
    assert.deepEqual(u.state, { paused: true, note: 'later' }, "the file's note wins");
    const noNote = entryOf('name: x\nobject: t\nformat: csv\ninterval: 1h');
    assert.deepEqual(desiredUpdate(noNote, 'q', 'operator note').state, { paused: false, note: 'operator note' }, 'without a note in the file, the live one stays');
  });
});

describe('schedule diff', () => {
  const base = `
name: orders
object: public.orders
format: csv
cron: "0 3 * * *"
`;
  const e = entryOf(base);

  it('finds nothing when the live schedule is what the file says', () => {
    assert.deepEqual(diffSchedule(e, liveOf(e), 'q'), []);
    const i = entryOf('name: i\nquery: SELECT 1\nformat: csv\ninterval: {every: 15m, offset: 1m}\njitter: 30s\npaused: true\nnote: n');
    assert.deepEqual(diffSchedule(i, liveOf(i), 'q'), []);
  });

  it('reports each changed field in the file\'s terms', () => {
    const changed = entryOf(base.replace('format: csv', 'format: parquet').replace('"0 3 * * *"', '"0 4 * * *"') + 'timezone: Asia/Tokyo\ncatchupWindow: 2h\noverlap: allowAll\npaused: true\nnote: hold\nmaxAttempts: 5\n');
    const changes = diffSchedule(changed, liveOf(e), 'q');
    assert.deepEqual(
      changes.map((c) => [c.field, c.from, c.to]),
      [
        ['format', 'csv', 'parquet'],
        ['maxAttempts', undefined, 5],
        ['cron', ['0 3 * * *'], ['0 4 * * *']],
        ['timezone', 'UTC', 'Asia/Tokyo'],
        ['catchupWindow', '1d', '2h'],
        ['overlap', 'skip', 'allowAll'],
        ['paused', false, true],
        ['note', undefined, 'hold'],
      ],
    );
  });

  it('sees edits made outside the file', () => {
    const live = liveOf(e);
    live.policies.overlap = 'ALLOW_ALL';
    live.action.taskQueue = 'elsewhere';
    live.spec.calendars = [{} as never, {} as never];
    live.state = { paused: true, note: 'paused from the Web UI' };
    assert.deepEqual(
      diffSchedule(e, live, 'q').map((c) => c.field),
      ['cron', 'overlap', 'taskQueue', 'paused'],
      'an operator note stays when the file gives none',
    );
  });

  it('switching cron to interval shows both', () => {
    const i = entryOf(base.replace('cron: "0 3 * * *"', 'interval: 1h'));
    assert.deepEqual(
      diffSchedule(i, liveOf(e), 'q').map((c) => [c.field, c.from, c.to]),
      [
        ['cron', ['0 3 * * *'], undefined],
        ['interval', undefined, 'every 1h'],
      ],
    );
  });

  it('compares JSON values regardless of key order and absent keys', () => {
    assert.ok(sameValue({ a: 1, b: undefined, c: [1, { x: 1, y: 2 }] }, { c: [1, { y: 2, x: 1 }], a: 1 }));
    assert.ok(!sameValue([1, 2], [2, 1]));
    assert.ok(sameValue(undefined, undefined));
    assert.ok(!sameValue(undefined, null));
  });

  it('prints a plan a person can read', () => {
    const text = formatPlan({
      scheduleSet: 's',
      namespace: 'default',
      items: [
        { action: 'create', scheduleId: 'mz-s3-export:orders', entry: e },
        { action: 'update', scheduleId: 'mz-s3-export:b', entry: e, changes: [{ field: 'format', from: 'csv', to: 'parquet' }] },
        { action: 'delete', scheduleId: 'mz-s3-export:c', exportName: 'c' },
        { action: 'conflict', scheduleId: 'mz-s3-export:d', reason: 'not ours' },
      ],
    });
    assert.match(text, /\+ create +mz-s3-export:orders  cron "0 3 \* \* \*" UTC, csv of public\.orders → s3:\/\/acme-exports\/exports\/orders\//);
    assert.match(text, /~ update +mz-s3-export:b\n +format: "csv" → "parquet"/);
    assert.match(text, /- delete +mz-s3-export:c/);
    assert.match(text, /Plan: 1 to create, 1 to update, 1 to delete, 0 unchanged, 1 in conflict \(apply will refuse\)\./);
  });
});

describe('schedule ids from the command line', () => {
  it('refuse anything that could not be one of ours', () => {
    assert.throws(() => toScheduleId("x' OR 1=1"), /give an export name or a schedule id/);
    assert.throws(() => toScheduleId('mz-s3-export:'), /exportName|export/);
  });
});

describe('runs and status output', () => {
  it('builds the visibility query from a validated export name only', () => {
    assert.equal(runsQuery(), "WorkflowType IN ('bulkExport', 'snapshotSet')");
    assert.equal(runsQuery('orders-daily'), "WorkflowType IN ('bulkExport', 'snapshotSet') AND MzExportName = 'orders-daily'");
    assert.throws(() => runsQuery("x' OR WorkflowType != '"), /--export/);
  });

  it('prints runs as a table and one run as lines', () => {
    const done = {
      workflowId: 'mz-s3-export:orders-2024-03-01T01:00:00Z',
      runId: 'r1',
      state: 'COMPLETED',
      exportName: 'orders',
      logicalTime: '2024-03-01T01:00:00.000Z',
      scheduleId: 'mz-s3-export:orders',
      startTime: '2024-03-01T01:00:01.000Z',
      rows: 1200,
      files: 2,
      bytes: 5000,
      manifest: 's3://b/exports/orders/20240301T010000.000Z/attempt-001/manifest.json',
    };
    const failed = { workflowId: 'w2', runId: 'r2', state: 'FAILED', startTime: '2024-03-01T02:00:00.000Z', error: 'UserFixableError: no such object\nmore' };
    const table = formatRuns([done, failed]).split('\n');
    assert.match(table[0], /^WORKFLOW ID +STATE +LOGICAL TIME +ROWS +FILES +MANIFEST \/ ERROR$/);
    assert.match(table[1], /COMPLETED +2024-03-01T01:00:00.000Z +1200 +2 +s3:\/\/b\/exports\/orders\/20240301T010000.000Z\/attempt-001\/manifest.json$/);
    assert.match(table[2], /^w2 +FAILED .*UserFixableError: no such object$/);
    const text = formatStatus(done);
    assert.match(text, /started by +schedule mz-s3-export:orders/);
    assert.match(text, /files +2 \(5000 bytes\)/);
    assert.match(formatStatus(failed), /started by +hand/);
    assert.equal(formatRuns([]), 'No export runs found.');
  });
});

describe('set digest (what an apply leaves, for the next one to find in the list)', () => {
  it('ignores order and changes with any id or definition digest', () => {
    const base = setDigest([['a', 'v1:x'], ['b', 'v1:y']]);
    assert.equal(setDigest([['b', 'v1:y'], ['a', 'v1:x']]), base);
    assert.notEqual(setDigest([['a', 'v1:x'], ['b', 'v1:z']]), base);
    assert.notEqual(setDigest([['a', 'v1:x']]), base);
    assert.notEqual(setDigest([['a', 'v1:x'], ['c', 'v1:y']]), base);
    assert.notEqual(setDigest([['a', 'v1:x'], ['b', undefined]]), base);
  });
});
