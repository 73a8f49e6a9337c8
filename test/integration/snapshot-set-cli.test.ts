/**
 * Snapshot sets everywhere the product is used, on the local stack: the CLI starts one and follows it with a
 * line per member; `status` and `runs` show sets, their AS OF timestamp and how fresh each one's data is; a
 * schedule file entry with members is a snapshot set schedule (plan, apply, list, backfill, trigger).
 */
import { strict as assert } from 'node:assert';
import { parseScheduleFile } from '../../client/schedules/file';
import { backfillSchedule } from '../../client/schedules/operations';
import { applyPlan, planSchedules } from '../../client/schedules/reconcile';
import type { RunSummary } from '../../client/schedules/runs';
import type { SnapshotSetResult } from '../../common/export/snapshot-set';
import { sleep } from '../../local/processes';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { runCli } from '../helpers/cli-process';
import { readSetManifest } from '../helpers/snapshot-set-run';
import type { TestStack } from '../helpers/stack';

describe('snapshot sets in the CLI, status, runs and schedules', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));
  const tag = Date.now().toString(36);
  const cli = async (args: string[], stdin?: string) => {
    const r = await runCli(args, { ...stack.env, NODE_NO_WARNINGS: '1' }, { stdin });
    assert.equal(r.code, 0, `mz-s3-export ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r;
  };

  it('`set` starts a set and prints a line per member as it changes; status and runs show it, its AS OF and its freshness', async () => {
    const name = `cli-set-${tag}`;
    const to = `s3://${conn.bucket}/${conn.prefix}`;
    const started = await cli(['set', '--name', name, '--connection', conn.connectionName, '--to', to, '--members', 'orders=public.orders,totals=public.order_totals', '--format', 'csv', '--logical-time', '2024-07-01T00:00:00Z']);
    const out = started.stdout;
    const workflowId = `set-${name}-20240701T000000.000Z`;
    assert.match(out, new RegExp(`^started ${workflowId}$`, 'm'));
    // A line per member as it changes (what a poll saw), then the result names each member's manifest.
    assert.match(out, /^ {2}orders: (waiting|running|staged)/m);
    assert.match(out, /^ {2}totals: (waiting|running|staged)/m);
    assert.match(out, /^ {2}orders +1000 rows, \d+ files {2}s3:\/\/\S+\/members\/orders\/20240701T000000.000Z\/attempt-001\/manifest.json$/m);
    assert.match(out, /^published \(attempt 1, 1 timestamp\(s\) tried\)$/m);
    const manifestUri = /^ {2}set manifest (\S+)$/m.exec(out)?.[1];
    assert.equal(manifestUri, `${to}/${name}/20240701T000000.000Z/attempt-001/set-manifest.json`);
    const set = await readSetManifest(stack, manifestUri);

    // The same input as the Web UI takes, with a query member, from stdin.
    const json = JSON.stringify({
      setName: `${name}-q`,
      connectionName: conn.connectionName,
      bucket: conn.bucket,
      prefix: conn.prefix,
      members: [{ name: 'big', query: 'SELECT order_id, amount FROM public.orders WHERE amount > 900', format: 'parquet' }],
    });
    const viaInput = JSON.parse((await cli(['set', '--input', '-', '--json'], json)).stdout) as SnapshotSetResult;
    assert.equal(viaInput.setName, `${name}-q`);
    assert.equal(viaInput.members[0].name, 'big');

    const status = (await cli(['status', workflowId])).stdout;
    assert.match(status, new RegExp(`^snapshot set +${name} via connection ${conn.connectionName}$`, 'm'));
    assert.match(status, new RegExp(`^AS OF +${set.materialize.timestamp} \\(\\d{4}-`, 'm'));
    assert.match(status, /^ {2}member orders: 1000 rows, \d+ files {2}s3:\/\//m);
    assert.match(status, new RegExp(`^freshness +${name}: newest publication 2024-07-01T00:00:00.000Z, AS OF ${set.materialize.timestamp}`, 'm'));
    const statusJson = JSON.parse((await cli(['status', workflowId, '--json'])).stdout) as RunSummary & { freshness: { newest: { materializeTimestamp: string } } };
    assert.equal(statusJson.kind, 'set');
    assert.equal(statusJson.freshness.newest.materializeTimestamp, set.materialize.timestamp);

    const runs = (await cli(['runs', '--export', name])).stdout;
    assert.match(runs, new RegExp(`^${workflowId} +COMPLETED +2024-07-01T00:00:00.000Z +\\d+ +\\d+ +${manifestUri}$`, 'm'));
    assert.match(runs, new RegExp(`^freshness +${name}: newest publication 2024-07-01T00:00:00.000Z`, 'm'));
  });

  it('a schedule entry with members is a snapshot set schedule: apply, list, backfill and trigger run sets', async () => {
    const name = `sched-set-${tag}`;
    const file = parseScheduleFile(`scheduleSet: set-${tag}
defaults: {connectionName: ${conn.connectionName}, bucket: ${conn.bucket}, prefix: ${conn.prefix}, tuning: {pollInitialMs: 100, pollMaxMs: 400, settleQuietSeconds: 1}}
exports:
  - name: ${name}
    members:
      - {name: orders, object: public.orders, format: parquet}
      - {name: totals, object: public.order_totals, format: csv}
    cron: "0 * * * *"
    paused: true
    note: backfill and trigger only
`);
    const opts = { defaultTaskQueue: stack.taskQueue };
    const applied = await applyPlan(stack.temporal, await planSchedules(stack.temporal, file, opts), opts);
    const scheduleId = `mz-s3-export:${name}`;
    assert.deepEqual(applied.created, [scheduleId]);
    try {
      // Applying the same file again changes nothing: the live set schedule reads back as the file says.
      const again = await planSchedules(stack.temporal, file, opts);
      assert.deepEqual(again.items.map((i) => i.action), ['unchanged']);
      assert.match((await cli(['schedules', 'list'])).stdout, new RegExp(`${scheduleId}`));

      await backfillSchedule(stack.temporal, name, { from: new Date('2024-03-01T00:30:00Z'), to: new Date('2024-03-01T01:30:00Z') });
      const fired = `${scheduleId}-2024-03-01T01:00:00Z`;
      let result: SnapshotSetResult | undefined;
      for (let i = 0; i < 300 && !result; i++) {
        result = (await stack.temporal.workflow.getHandle(fired).result().catch(() => undefined)) as SnapshotSetResult | undefined;
        if (!result) await sleep(200);
      }
      assert.ok(result, 'the backfilled fire ran');
      assert.equal(result.logicalTime, '2024-03-01T01:00:00.000Z');
      assert.deepEqual(result.members.map((m) => m.name), ['orders', 'totals']);
      assert.equal(result.manifest, `s3://${conn.bucket}/${conn.prefix}/${name}/20240301T010000.000Z/attempt-001/set-manifest.json`);

      const triggered = JSON.parse((await cli(['schedules', 'trigger', name, '--wait', '--json'])).stdout) as RunSummary[];
      assert.equal(triggered.length, 1);
      assert.equal(triggered[0].state, 'COMPLETED');
      assert.equal(triggered[0].kind, 'set');
      assert.match(triggered[0].manifest!, /\/set-manifest\.json$/);
      assert.equal(triggered[0].members?.length, 2);

      // Triggered now: the newest publication is the trigger's, and it is caught up with its schedule's last fire.
      const runs = (await cli(['runs', '--export', name])).stdout;
      assert.match(runs, new RegExp(`^freshness +${name}: newest publication ${triggered[0].logicalTime}, AS OF \\d+ .*caught up with its schedule$`, 'm'));
    } finally {
      await stack.temporal.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    }
  });
});
