/**
 * Schedules that fire, against the real local stack (Temporal dev server, moto, mz-local) and the shared worker:
 * a short interval fires and publishes an export under the fire's scheduled time; a backfill over three past
 * fires publishes three logical-time folders; with overlap skip, fires while a run is still going are skipped.
 */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Client, ScheduleHandle } from '@temporalio/client';
import { TemporalScheduledStartTime as ScheduledStartTime } from '../../common/search-attributes';
import { parseScheduleFile } from '../../client/schedules/file';
import { renderLogicalTime } from '../../common/export/paths';
import type { BulkExportResult } from '../../common/export/types';
import { applyPlan, planSchedules } from '../../client/schedules/reconcile';
import { backfillSchedule } from '../../client/schedules/operations';
import { sleep } from '../../local/processes';
import { PROJECT_ROOT } from '../../local/stack';
import type { RunSummary } from '../../client/schedules/runs';
import { sharedStack, type TestStack } from '../helpers/stack';
import { onboardAwsConnection } from '../../workflows';

const run = `f${Date.now().toString(36)}`;
const BUCKET = `sched-${run}`;
const CONNECTION = `sched_${run}`;
const SOURCE = 'public.orders';
/** Short polls so each export takes as little wall time as it can. */
const TUNING = '{pollInitialMs: 100, pollMaxMs: 500, retryBackoffSeconds: 1, settleQuietSeconds: 1}';

describe('schedules that fire (local stack)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let client: Client;

  before(async function () {
    this.timeout(240_000);
    stack = await sharedStack();
    client = stack.temporal;
    await client.workflow.execute(onboardAwsConnection, {
      taskQueue: stack.taskQueue,
      workflowId: `onboard-${CONNECTION}`,
      args: [
        {
          bucket: BUCKET,
          prefix: 'exports',
          roleName: `sched-${run}`,
          policyName: `sched-${run}`,
          connectionName: CONNECTION,
          retry: { initialIntervalSeconds: 1, maximumIntervalSeconds: 2, backoffCoefficient: 1.5 },
        },
      ],
      workflowExecutionTimeout: '3 minutes',
    });
  });

  const scheduleIds: string[] = [];
  after(async () => {
    for (const id of scheduleIds) await client?.schedule.getHandle(id).delete().catch(() => undefined);
  });

  async function apply(entry: string): Promise<ScheduleHandle> {
    const file = parseScheduleFile(`scheduleSet: ${run}
defaults: {connectionName: ${CONNECTION}, bucket: ${BUCKET}, prefix: exports, object: ${SOURCE}, format: csv, tuning: ${TUNING}}
exports:
${entry}`);
    const opts = { defaultTaskQueue: stack.taskQueue };
    const result = await applyPlan(client, await planSchedules(client, file, opts), opts);
    scheduleIds.push(...result.created);
    return client.schedule.getHandle(result.created[0]);
  }

  /** Workflow ids of runs the schedule started, from visibility. */
  async function runsOf(scheduleId: string): Promise<{ workflowId: string; status: string; scheduledAt?: Date }[]> {
    const out = [];
    for await (const w of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) {
      out.push({ workflowId: w.workflowId, status: w.status.name, scheduledAt: w.typedSearchAttributes.get(ScheduledStartTime) });
    }
    return out;
  }

  const cli = (...args: string[]) =>
    promisify(execFile)(path.join(PROJECT_ROOT, 'bin', 'mz-s3-export'), args, {
      env: { ...process.env, ...stack.env, NODE_NO_WARNINGS: '1' },
    }).catch((e: Error & { stdout?: string }) => {
      // Show what the command printed on stdout too, so a failure says why.
      e.message += `\nstdout:\n${e.stdout ?? ''}`;
      throw e;
    });

  async function keysUnder(prefix: string): Promise<string[]> {
    const res = await stack.aws.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (res.Contents ?? []).map((o) => o.Key!).sort();
  }

  it('a schedule with a short interval fires and publishes an export under the fire\'s scheduled time', async () => {
    const name = `${run}-interval`;
    const handle = await apply(`  - {name: ${name}, interval: 3s}\n`);
    let first: string | undefined;
    for (let i = 0; i < 100 && !first; i++) {
      first = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
      if (!first) await sleep(200);
    }
    assert.ok(first, 'the schedule fired within 20 s');
    // Only the first fire matters here: stop further fires, then wait for this one.
    await handle.pause('test: first fire seen');
    const result = (await client.workflow.getHandle(first).result()) as BulkExportResult;

    const scheduledAt = first.slice(`mz-s3-export:${name}-`.length);
    assert.match(scheduledAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, 'the fire runs as <schedule id>-<scheduled time>');
    assert.equal(new Date(result.logicalTime).getTime(), new Date(scheduledAt).getTime(), 'logical time = scheduled time');
    assert.equal(new Date(scheduledAt).getTime() % 3000, 0, 'an interval fires on multiples of its period');
    const folder = `exports/${name}/${renderLogicalTime(scheduledAt)}/`;
    const keys = await keysUnder(folder);
    assert.ok(keys.includes(`${folder}attempt-001/_SUCCESS`), `published: ${keys.join(', ')}`);
    assert.equal(result.manifestKey, `${folder}attempt-001/manifest.json`);
    assert.ok(result.rows > 0);
    const manifest = JSON.parse(
      await (await stack.aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: result.manifestKey }))).Body!.transformToString(),
    );
    assert.equal(new Date(manifest.logicalTime).getTime(), new Date(scheduledAt).getTime());

    // Trigger-now from the CLI on the (paused) schedule: one more run, its logical time the trigger time.
    const triggered = JSON.parse((await cli('schedules', 'trigger', name, '--wait', '--json')).stdout) as RunSummary[];
    assert.equal(triggered.length, 1);
    assert.equal(triggered[0].state, 'COMPLETED');
    assert.equal(new Date(triggered[0].logicalTime!).getTime(), new Date(triggered[0].workflowId.slice(`mz-s3-export:${name}-`.length)).getTime());
    assert.match(triggered[0].manifest!, new RegExp(`^s3://${BUCKET}/exports/${name}/\\d{8}T\\d{6}\\.000Z/attempt-001/manifest\\.json$`));
  });

  it('a backfill over three past fire times publishes three distinct logical-time folders', async () => {
    const name = `${run}-backfill`;
    // Hourly, paused: only the backfill starts runs.
    await apply(`  - {name: ${name}, cron: "0 * * * *", paused: true, note: backfill only}\n`);
    const fires = await backfillSchedule(client, name, {
      from: new Date('2024-03-01T00:30:00Z'),
      to: new Date('2024-03-01T03:30:00Z'),
    });
    assert.deepEqual(fires.map((f) => f.toISOString()), ['2024-03-01T01:00:00.000Z', '2024-03-01T02:00:00.000Z', '2024-03-01T03:00:00.000Z']);
    const ids = ['01', '02', '03'].map((h) => `mz-s3-export:${name}-2024-03-01T${h}:00:00Z`);
    const results = [] as BulkExportResult[];
    for (const id of ids) {
      // Backfilled fires run one after another (overlap bufferAll): wait for each to exist, then to finish.
      for (let i = 0; i < 200; i++) {
        if ((await runsOf(`mz-s3-export:${name}`)).some((r) => r.workflowId === id)) break;
        await sleep(200);
      }
      results.push((await client.workflow.getHandle(id).result()) as BulkExportResult);
    }
    assert.deepEqual(
      results.map((r) => new Date(r.logicalTime).toISOString()),
      ['2024-03-01T01:00:00.000Z', '2024-03-01T02:00:00.000Z', '2024-03-01T03:00:00.000Z'],
    );
    const keys = await keysUnder(`exports/${name}/`);
    const folders = [...new Set(keys.map((k) => k.split('/')[2]).filter((f) => /^\d{8}T/.test(f)))];
    assert.deepEqual(folders, ['20240301T010000.000Z', '20240301T020000.000Z', '20240301T030000.000Z']);
    for (const f of folders) assert.ok(keys.includes(`exports/${name}/${f}/attempt-001/_SUCCESS`), `${f} is published`);
    assert.equal((await runsOf(`mz-s3-export:${name}`)).length, 3, 'one run per missed fire, no more');

    // The CLI lists them by export name through the search attributes.
    const listed = JSON.parse((await cli('runs', '--export', name, '--json')).stdout) as RunSummary[];
    assert.deepEqual(listed.map((r) => [r.state, r.logicalTime, r.scheduleId]).sort(), [
      ['COMPLETED', '2024-03-01T01:00:00.000Z', `mz-s3-export:${name}`],
      ['COMPLETED', '2024-03-01T02:00:00.000Z', `mz-s3-export:${name}`],
      ['COMPLETED', '2024-03-01T03:00:00.000Z', `mz-s3-export:${name}`],
    ]);
    assert.ok(listed.every((r) => r.rows === results[0].rows && r.manifest?.endsWith('/attempt-001/manifest.json')));
  });

  it('with overlap skip, fires while a run is still going are skipped', async () => {
    const name = `${run}-overlap`;
    const mz = await stack.mz();
    try {
      // Each COPY batch now takes 4 s: a run lasts well past several 1 s fires.
      await mz.query('ALTER SYSTEM SET mz_local_batch_delay_ms = 4000');
      const handle = await apply(`  - {name: ${name}, interval: 1s}\n`);
      let d = await handle.describe();
      for (let i = 0; i < 100 && !(d.info.numActionsTaken >= 1 && d.info.numActionsSkippedOverlap >= 2); i++) {
        await sleep(200);
        d = await handle.describe();
      }
      await handle.pause('test: overlap seen');
      assert.equal(d.info.numActionsTaken, 1, 'one run started');
      assert.ok(d.info.numActionsSkippedOverlap >= 2, `later fires were skipped (${d.info.numActionsSkippedOverlap})`);
      assert.equal(d.info.runningActions.length, 1, 'the run was still going');
      const only = d.info.runningActions[0].workflow.workflowId;
      await mz.query('ALTER SYSTEM RESET mz_local_batch_delay_ms');
      const result = (await client.workflow.getHandle(only).result()) as BulkExportResult;
      const runs = await runsOf(`mz-s3-export:${name}`);
      assert.deepEqual(runs.map((r) => r.workflowId), [only], 'no second run was started');
      const keys = await keysUnder(`exports/${name}/`);
      const folders = [...new Set(keys.map((k) => k.split('/')[2]).filter((f) => /^\d{8}T/.test(f)))];
      assert.deepEqual(folders, [renderLogicalTime(result.logicalTime)], 'one logical-time folder');
    } finally {
      await mz.query('ALTER SYSTEM RESET mz_local_batch_delay_ms').catch(() => undefined);
      await mz.end();
    }
  });
});
