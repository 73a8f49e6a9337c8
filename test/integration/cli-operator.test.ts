/**
 * The client script as an operator meets it, on the real local stack: misspelled options are errors, a missing
 * worker is named at once, a failure names its root cause and fix everywhere it is shown, Ctrl-C says what
 * happens to the run, `cancel` stops a COPY and cleans its attempt, offboarding refuses while schedules use the
 * connection and asks before deleting data, and a schedule with pauseOnFailure pauses after a failed run.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { CLI, runCli, startCli } from '../helpers/cli-process';
import { listKeys } from '../helpers/export-readback';
import { alterSystem, eventually } from '../helpers/export-run';
import type { TestStack } from '../helpers/stack';

describe('the client script for operators', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));

  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { ...stack.env, ...env });
  const exportArgs = (name: string, extra: string[] = []) => [
    'export', '--name', name, '--connection', conn.connectionName, '--object', 'public.orders', '--format', 'csv',
    '--to', `s3://${conn.bucket}/${conn.prefix}`, ...extra,
  ];
  const runsOf = async (exportName: string) => {
    const ids: string[] = [];
    for await (const w of stack.temporal.workflow.list({ query: `MzExportName = '${exportName}'` })) ids.push(w.workflowId);
    return ids;
  };

  it('refuses a misspelled option, naming it and the option meant, before anything starts; <command> --help lists the options', async () => {
    const name = `typo-${randomUUID().slice(0, 8)}`;
    const typo = await cli(exportArgs(name, ['--frmat', 'parquet', '--hedaer']));
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(typo.stderr, /unknown options --frmat \(did you mean --format\?\), --hedaer \(did you mean --header\?\) for 'export'/);
    assert.deepEqual(await runsOf(name), []);

    const help = await cli(['export', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: mz-s3-export export --name NAME/);
    assert.match(help.stdout, /--header\s+CSV only: write a header row/);
    assert.match(help.stdout, /--wait-for-worker/);

    const extra = await cli(['status', 'a', 'b']);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /unexpected argument "b"/);
    assert.match((await cli(['schedules', 'pause', 'x', '--wait'])).stderr, /unknown option --wait for 'schedules pause'/);
  });

  it('names the task queue nobody polls instead of waiting forever; --wait-for-worker waits, and Ctrl-C says the run goes on', async () => {
    const queue = `no-worker-${randomUUID().slice(0, 8)}`;
    const env = { TEMPORAL_TASK_QUEUE: queue };
    const name = `noworker-${randomUUID().slice(0, 8)}`;
    for (const args of [exportArgs(name), ['doctor'], ['onboard', '--bucket', 'b-x', '--prefix', 'p', '--role', 'r', '--policy', 'p', '--connection', 'c']]) {
      const r = await cli(args, env);
      assert.equal(r.code, 3, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`no worker polls task queue "${queue}"`));
      assert.match(r.stderr, /mz-s3-export worker/);
      assert.match(r.stderr, /--wait-for-worker/);
    }
    assert.deepEqual(await runsOf(name), [], 'nothing was started');

    const waiting = startCli(exportArgs(name, ['--wait-for-worker', '--logical-time', '2024-09-01T00:00:00Z']), { ...stack.env, ...env });
    await waiting.waitFor(/Waiting for one \(--wait-for-worker\)/);
    await waiting.waitFor(/started export-/);
    const workflowId = `export-${name}-20240901T000000.000Z`;
    process.kill(waiting.pid, 'SIGINT');
    const stopped = await waiting.exited;
    assert.equal(stopped.code, 130);
    assert.match(stopped.stderr, new RegExp(`Ctrl-C: stopped waiting. ${workflowId} keeps running on the worker`));
    assert.match(stopped.stderr, new RegExp(`mz-s3-export cancel ${workflowId}`));
    const handle = stack.temporal.workflow.getHandle(workflowId);
    assert.equal((await handle.describe()).status.name, 'RUNNING');
    await handle.terminate('test cleanup: no worker will ever take it');
  });

  it('a bucket typo fails with NoSuchBucket and what to change, in the CLI, status, runs and the workflow failure itself', async () => {
    const name = `typo-bucket-${randomUUID().slice(0, 8)}`;
    const r = await cli(['export', '--name', name, '--connection', conn.connectionName, '--object', 'public.orders',
      '--to', `s3://${conn.bucket}-typo/${conn.prefix}`, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const { failed } = JSON.parse(r.stdout) as { failed: { workflowId: string; type: string; message: string } };
    assert.equal(failed.type, 'UserFixableError');
    assert.match(failed.message, /NoSuchBucket.*To fix: check the bucket name/);
    assert.match(r.stderr, /failed \(UserFixableError[^)]*\): .*NoSuchBucket.*To fix: check the bucket name/);
    assert.doesNotMatch(r.stderr, /Activity task failed/);

    const status = await cli(['status', failed.workflowId]);
    assert.equal(status.code, 1);
    assert.match(status.stdout, /error\s+UserFixableError: .*-typo\/.*NoSuchBucket.*To fix: check the bucket name/);
    const runs = JSON.parse((await cli(['runs', '--export', name, '--json'])).stdout) as { error?: string; errorType?: string }[];
    assert.equal(runs.length, 1);
    assert.match(runs[0].error!, /NoSuchBucket.*To fix/);

    // What the Web UI shows as the run's failure: its own message, not "Activity task failed".
    const e = await stack.temporal.workflow.getHandle(failed.workflowId).result().catch((err) => err);
    assert.ok(e instanceof WorkflowFailedError);
    assert.match(e.cause!.message, /-typo\/.*NoSuchBucket.*To fix: check the bucket name/);
  });

  it('cancel --export NAME --logical-time stops the COPY, waits until the attempt is cleaned, and says so', async () => {
    const name = `cancel-${randomUUID().slice(0, 8)}`;
    const logicalTime = '2024-10-01T00:00:00.000Z';
    await alterSystem(stack, 'ALTER SYSTEM SET mz_local_batch_delay_ms = 15000'); // the COPY runs about 30 s: time for a CLI to start on a busy machine
    try {
      const started = await cli(exportArgs(name, ['--logical-time', logicalTime, '--no-wait', '--json']));
      assert.equal(started.code, 0, started.stderr);
      const attempt = `${conn.prefix}/${name}/20241001T000000.000Z/attempt-001/`;
      await eventually('the COPY to start writing', async () => (await listKeys(stack, conn.bucket, attempt)).some((k) => k.endsWith('-INCOMPLETE')));

      const cancelled = await cli(['cancel', '--export', name, '--logical-time', logicalTime]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      assert.match(cancelled.stdout, /cancelled: the COPY has stopped and nothing was published; attempt files removed: [1-9]/);
      assert.deepEqual(await listKeys(stack, conn.bucket, `${conn.prefix}/${name}/`), []);
      const again = await cli(['cancel', '--export', name, '--logical-time', logicalTime]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /no running export/);
    } finally {
      await alterSystem(stack, 'ALTER SYSTEM RESET mz_local_batch_delay_ms');
    }
  });

  it('offboard refuses while a managed schedule exports through the connection and asks before deleting data; pauseOnFailure pauses after a failed triggered run', async () => {
    const set = `cli-op-${randomUUID().slice(0, 8)}`;
    const scheduleName = `${set}-fails`;
    const file = path.join(stack.logDir, `${set}.yaml`);
    fs.writeFileSync(
      file,
      [
        'version: 1',
        `scheduleSet: ${set}`,
        'exports:',
        `  - name: ${scheduleName}`,
        '    object: public.no_such_table',
        `    connectionName: ${conn.connectionName}`,
        `    bucket: ${conn.bucket}`,
        `    prefix: ${conn.prefix}`,
        '    format: csv',
        "    cron: '0 3 * * *'",
        '    pauseOnFailure: true',
      ].join('\n'),
    );
    assert.equal((await cli(['schedules', 'apply', '-f', file])).code, 0);
    const scheduleId = `mz-s3-export:${scheduleName}`;
    try {
      const offboard = ['offboard', '--connection', conn.connectionName, '--role', 'r', '--policy', 'p'];
      const refused = await cli(offboard);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`connection ${conn.connectionName} is still used by managed schedule\\(s\\) ${scheduleId}.*--force`));

      // A triggered run uses the overlap policy AllowAll, which Temporal's own pause-on-failure does not track.
      const triggered = await cli(['schedules', 'trigger', scheduleName, '--wait', '--json']);
      assert.equal(triggered.code, 1);
      const [run] = JSON.parse(triggered.stdout) as { workflowId: string; state: string; error: string }[];
      assert.equal(run.state, 'FAILED');
      assert.match(run.error, /unknown catalog item/);
      const listed = JSON.parse((await cli(['schedules', 'list', '--json'])).stdout) as { scheduleId: string; paused: boolean; note?: string }[];
      const mine = listed.find((s) => s.scheduleId === scheduleId)!;
      assert.equal(mine.paused, true);
      assert.match(mine.note!, new RegExp(`paused due to workflow failure: ${run.workflowId} \\(pauseOnFailure\\)`));

      // Deleting data needs a yes: none without a terminal, a "no" on one.
      const deleteData = [...offboard, '--force', '--delete-data', '--bucket', conn.bucket, '--prefix', conn.prefix];
      const noTty = await cli(deleteData);
      assert.equal(noTty.code, 2);
      assert.match(noTty.stderr, /refusing to delete every object under s3:\/\/.*without confirmation: there is no terminal to ask on; pass --yes/);
      const command = [CLI, ...deleteData].map((a) => `'${a}'`).join(' ');
      // `script` gives the command a terminal; its stdin feeds the answer.
      const onTty = spawnSync('script', ['-qec', command, '/dev/null'], { env: { ...process.env, ...stack.env }, input: 'no\n', encoding: 'utf8', timeout: 60_000 });
      assert.match(onTty.stdout, /Type "yes" to go on/);
      assert.match(onTty.stdout, /not confirmed; nothing was changed/);
      const mz = await stack.mz();
      try {
        const { rows } = await mz.query('SELECT name FROM mz_connections WHERE name = $1', [conn.connectionName]);
        assert.equal(rows.length, 1, 'the connection is still there');
      } finally {
        await mz.end();
      }
    } finally {
      await cli(['schedules', 'delete', scheduleName]);
    }
  });
});
