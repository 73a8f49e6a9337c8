/**
 * Retention end to end on the local stack: real exports of several logical times, a failed attempt left by hand,
 * a hand-written snapshot set manifest (docs/manifest.md's layout) referencing one export folder; expireExports
 * plans without deleting, deletes only confirmed folders, keeps what _latest.json names, what a set references
 * and what was written recently; the CLI shows the plan and deletes only with --apply (and a confirmation).
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createRetentionActivities } from '../../activities/retention/expiry';
import { renderLogicalTime } from '../../common/export/paths';
import type { ExpireInput, ExpireResult } from '../../common/retention/types';
import type { MaterializeConnector } from '../../platform/materialize';
import { expireExports } from '../../workflows';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { runCli } from '../helpers/cli-process';
import { listKeys } from '../helpers/export-readback';
import { exportInput, runExport } from '../helpers/export-run';
import type { TestStack } from '../helpers/stack';
import { failureOf } from '../helpers/workflow-outcomes';

const DAYS = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05'].map((d) => `${d}T00:00:00.000Z`);
const FAILED = '2023-12-31T00:00:00.000Z';

describe('retention: expireExports on the local stack', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));
  const name = `ret-${randomUUID().slice(0, 8)}`;
  const folderKey = (lt: string) => `${conn.prefix}/${name}/${renderLogicalTime(lt)}`;
  const folderUri = (lt: string) => `s3://${conn.bucket}/${folderKey(lt)}/`;
  const foldersLeft = async () =>
    [...new Set((await listKeys(stack, conn.bucket, `${conn.prefix}/${name}/`)).map((k) => k.split('/')[2]))].sort();
  const expire = async (input: Omit<ExpireInput, 'targets'>, rule: { keepLast?: number; keepWithin?: string } = { keepLast: 1 }) =>
    (await stack.temporal.workflow.execute(expireExports, {
      taskQueue: stack.taskQueue,
      workflowId: `expire-test-${randomUUID()}`,
      args: [{ targets: [{ bucket: conn.bucket, prefix: conn.prefix, name, ...rule }], ...input }],
      workflowExecutionTimeout: '2 minutes',
    })) as ExpireResult;

  before(async () => {
    // Five published logical times; the newest without moving _latest.json, which so names the 4th.
    for (const lt of DAYS) {
      await runExport(stack, exportInput(conn, { exportName: name, object: 'public.orders', logicalTime: lt, publishLatest: lt !== DAYS[4] }));
    }
    // An attempt that failed and was never published (its claim and a data file).
    const put = (key: string, body: string) => stack.aws.s3.send(new PutObjectCommand({ Bucket: conn.bucket, Key: key, Body: body }));
    await put(`${folderKey(FAILED)}/_claims/attempt-001.json`, '{"claim":"attempt"}');
    await put(`${folderKey(FAILED)}/attempt-001/mz-9-batch-0000-0000.csv`, '1,2\n');
    // A snapshot set whose manifest references the oldest export folder.
    await put(
      `${conn.prefix}/nightly-set/20240101T000000.000Z/attempt-001/set-manifest.json`,
      JSON.stringify({
        setName: 'nightly-set',
        timestamp: '1704067200000',
        members: [{ name, manifestKey: `${folderKey(DAYS[0])}/attempt-001/manifest.json`, rows: 1 }],
      }),
    );
  });

  it('plans without deleting: keepLast 1 keeps the newest, _latest.json and the set keep theirs, recent writes stay by default', async () => {
    const before = await listKeys(stack, conn.bucket, `${conn.prefix}/`);
    const guarded = await expire({});
    assert.equal(guarded.mode, 'plan');
    // Everything was written moments ago: the recent-write guard keeps every folder.
    assert.deepEqual(guarded.plans[0].delete, []);
    assert.ok(guarded.plans[0].protected.some((p) => p.kept.includes('recent-write')));

    const plan = await expire({ recentWriteSeconds: 0 });
    const p = plan.plans[0];
    assert.deepEqual(p.delete.map((d) => d.logicalTime), [FAILED, DAYS[1], DAYS[2]]);
    assert.deepEqual(p.delete.map((d) => d.published), [false, true, true]);
    assert.deepEqual(p.protected.map((d) => [d.logicalTime, d.kept]), [
      [DAYS[3], ['latest']],
      [DAYS[0], ['set-reference']],
    ]);
    assert.match(p.protected[1].why, /set manifest s3:\/\/.*nightly-set\/20240101T000000\.000Z\/attempt-001\/set-manifest\.json references it/);
    assert.equal(p.folders, 6);
    assert.equal(p.kept, 3);
    assert.deepEqual(plan.deleted, []);
    assert.deepEqual(await listKeys(stack, conn.bucket, `${conn.prefix}/`), before);
  });

  it('apply with confirmed deletes only the confirmed folders, everything in them, claims included', async () => {
    const res = await expire({ recentWriteSeconds: 0, apply: true, confirmed: [folderUri(FAILED)] });
    assert.equal(res.mode, 'apply');
    assert.equal(res.foldersDeleted, 1);
    assert.equal(res.objectsDeleted, 2);
    assert.deepEqual(await foldersLeft(), [..._folders(DAYS), '_latest.json'].sort());
  });

  it('the CLI shows the plan and changes nothing; --apply needs a confirmation; --apply --yes deletes what it showed', async () => {
    const base = ['expire', '--to', `s3://${conn.bucket}/${conn.prefix}`, '--name', name, '--keep-last', '1', '--recent-write-seconds', '0'];
    const shown = await runCli(base, stack.env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`- delete ${escape(folderUri(DAYS[1]))}`));
    assert.match(shown.stdout, new RegExp(`- delete ${escape(folderUri(DAYS[2]))}`));
    assert.match(shown.stdout, new RegExp(`= keep   ${escape(folderUri(DAYS[3]))}  kept: _latest.json names it`));
    assert.match(shown.stdout, /Nothing was deleted; --apply deletes the folders listed/);
    assert.equal((await foldersLeft()).length, 6);

    const refused = await runCli([...base, '--apply'], stack.env);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /refusing to delete the 2 folder\(s\) listed above without confirmation/);
    assert.equal((await foldersLeft()).length, 6);

    const applied = await runCli([...base, '--apply', '--yes', '--json'], stack.env);
    assert.equal(applied.code, 0, applied.stderr);
    const result = JSON.parse(applied.stdout) as ExpireResult;
    assert.equal(result.foldersDeleted, 2);
    assert.deepEqual(await foldersLeft(), [..._folders([DAYS[0], DAYS[3], DAYS[4]]), '_latest.json'].sort());
    // What stays is whole: each kept logical time still has its published attempt.
    const keys = await listKeys(stack, conn.bucket, `${conn.prefix}/${name}/`);
    for (const lt of [DAYS[0], DAYS[3], DAYS[4]]) {
      assert.ok(keys.includes(`${folderKey(lt)}/attempt-001/_SUCCESS`), lt);
      assert.ok(keys.includes(`${folderKey(lt)}/_claims/publication.json`), lt);
    }
  });

  it('running it again deletes nothing; once the set is gone its export folder expires too', async () => {
    const again = await expire({ recentWriteSeconds: 0, apply: true });
    assert.equal(again.foldersDeleted, 0);
    await stack.aws.s3.send(new PutObjectCommand({ Bucket: conn.bucket, Key: `${conn.prefix}/nightly-set/20240101T000000.000Z/attempt-001/set-manifest.json`, Body: '{"members": []}' }));
    const after = await expire({ recentWriteSeconds: 0, apply: true });
    assert.deepEqual(after.deleted.map((d) => d.key), [folderKey(DAYS[0])]);
    assert.deepEqual(await foldersLeft(), [..._folders([DAYS[3], DAYS[4]]), '_latest.json'].sort());
  });

  it('a folder written to after the plan, or that _latest.json names by then, is left as it is', async () => {
    const acts = createRetentionActivities({ aws: stack.aws, materialize: {} as MaterializeConnector });
    const stale = new Date(Date.parse(DAYS[4]) - 1000).toISOString();
    const res = await acts.deleteExpiredFolders({
      bucket: conn.bucket,
      latestKey: `${conn.prefix}/${name}/_latest.json`,
      folders: [
        { key: folderKey(DAYS[4]), logicalTime: DAYS[4], lastWrittenAt: stale },
        { key: folderKey(DAYS[3]), logicalTime: DAYS[3], lastWrittenAt: new Date().toISOString() },
      ],
    });
    assert.match(res.folders[0].skipped ?? '', /after the plan; left for the next run/);
    assert.equal(res.folders[1].skipped, '_latest.json now names it');
    assert.deepEqual(await foldersLeft(), [..._folders([DAYS[3], DAYS[4]]), '_latest.json'].sort());
  });

  it("a snapshot set's expired logical time goes with its members' folders; its _latest.json and other sets' folders stay", async () => {
    const set = `${conn.prefix}/nightly-set`;
    const put = (key: string) => stack.aws.s3.send(new PutObjectCommand({ Bucket: conn.bucket, Key: key, Body: '{}' }));
    await put(`${set}/members/orders/20240101T000000.000Z/attempt-001/manifest.json`);
    await put(`${set}/members/orders/20240101T000000.000Z/_claims/attempt-001.json`);
    await put(`${set}/members/orders/20240102T000000.000Z/attempt-001/manifest.json`);
    await put(`${set}/20240102T000000.000Z/attempt-001/set-manifest.json`);
    await put(`${set}/20240102T000000.000Z/_claims/publication.json`);
    await stack.aws.s3.send(
      new PutObjectCommand({ Bucket: conn.bucket, Key: `${set}/_latest.json`, Body: JSON.stringify({ logicalTime: '2024-01-02T00:00:00.000Z' }) }),
    );
    const res = (await stack.temporal.workflow.execute(expireExports, {
      taskQueue: stack.taskQueue,
      workflowId: `expire-test-${randomUUID()}`,
      args: [{ targets: [{ bucket: conn.bucket, prefix: conn.prefix, name: 'nightly-set', keepWithin: '1d' }], apply: true, recentWriteSeconds: 0 }],
    })) as ExpireResult;
    assert.deepEqual(res.plans[0].protected.map((p) => [p.logicalTime, p.kept]), [['2024-01-02T00:00:00.000Z', ['latest']]]);
    assert.deepEqual(res.deleted, [{ key: `${set}/20240101T000000.000Z`, deleted: 3 }]);
    assert.deepEqual(await listKeys(stack, conn.bucket, `${set}/`), [
      `${set}/20240102T000000.000Z/_claims/publication.json`,
      `${set}/20240102T000000.000Z/attempt-001/set-manifest.json`,
      `${set}/_latest.json`,
      `${set}/members/orders/20240102T000000.000Z/attempt-001/manifest.json`,
    ]);
  });

  it('from a schedule file: apply creates mz-s3-export:expire:<set>, a trigger runs it and deletes what the rules let go', async () => {
    // An old published logical time, made by hand, for the scheduled expiry to delete.
    const old = '2023-06-01T00:00:00.000Z';
    for (const key of [`${folderKey(old)}/attempt-001/_SUCCESS`, `${folderKey(old)}/_claims/publication.json`])
      await stack.aws.s3.send(new PutObjectCommand({ Bucket: conn.bucket, Key: key, Body: '{}' }));
    const scheduleSet = `ret-${randomUUID().slice(0, 8)}`;
    const file = path.join(os.tmpdir(), `${scheduleSet}.yaml`);
    fs.writeFileSync(
      file,
      [
        `scheduleSet: ${scheduleSet}`,
        'exports:',
        `  - name: ${name}`,
        `    connectionName: ${conn.connectionName}`,
        `    bucket: ${conn.bucket}`,
        `    prefix: ${conn.prefix}`,
        '    object: public.orders',
        '    format: csv',
        "    cron: '0 0 1 1 *'",
        '    paused: true',
        '    note: only its retention rule is under test',
        '    retention: { keepLast: 1 }',
        'expiry:',
        "  cron: '0 0 1 1 *'",
        '  recentWriteSeconds: 0',
        '',
      ].join('\n'),
    );
    const expiryId = `mz-s3-export:expire:${scheduleSet}`;
    try {
      const planned = await runCli(['schedules', 'plan', '-f', file], stack.env);
      assert.equal(planned.code, 0, planned.stderr);
      assert.match(planned.stdout, new RegExp(`\\+ create +${expiryId} .*expire old logical times of ${name} \\(keep the last 1 published`));
      const preview = await runCli(['expire', '--schedules-file', file], stack.env);
      assert.equal(preview.code, 0, preview.stderr);
      assert.match(preview.stdout, new RegExp(`- delete ${escape(folderUri(old))}`));

      const applied = await runCli(['schedules', 'apply', '-f', file], stack.env);
      assert.equal(applied.code, 0, applied.stderr);
      assert.match(applied.stdout, /2 created/);
      const triggered = await runCli(['schedules', 'trigger', `expire:${scheduleSet}`], stack.env);
      assert.equal(triggered.code, 0, triggered.stderr);
      const workflowId = /Started (\S+)/.exec(triggered.stdout)?.[1];
      assert.ok(workflowId?.startsWith(expiryId), triggered.stdout);
      const result = (await stack.temporal.workflow.getHandle(workflowId!).result()) as ExpireResult;
      assert.deepEqual(result.deleted, [{ key: folderKey(old), deleted: 2 }]);
      assert.deepEqual(await foldersLeft(), [..._folders([DAYS[3], DAYS[4]]), '_latest.json'].sort());
      const again = await runCli(['schedules', 'apply', '-f', file], stack.env);
      assert.match(again.stdout, /0 created, 0 updated, 0 deleted, 2 unchanged/);
    } finally {
      for (const id of [expiryId, `mz-s3-export:${name}`]) await stack.temporal.schedule.getHandle(id).delete().catch(() => undefined);
      fs.rmSync(file, { force: true });
    }
  });

  it('bad input fails at once as InvalidInputError naming the fields, with nothing planned', async () => {
    const failure = await failureOf(
      stack.temporal.workflow.execute(expireExports, {
        taskQueue: stack.taskQueue,
        workflowId: `expire-test-${randomUUID()}`,
        args: [{ targets: [{ bucket: conn.bucket, prefix: '../x', name, keepWithin: 'forever' }] } as ExpireInput],
      }),
    );
    assert.equal(failure.type, 'InvalidInputError');
    assert.match(failure.message, /targets\[0\]\.prefix.*\n.*targets\[0\]\.keepWithin/s);
  });
});

function _folders(lts: string[]): string[] {
  return lts.map(renderLogicalTime);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
