/**
 * Interruptions of snapshotSet and expireExports on the local stack, with a worker process of this spec's own
 * (own task queue, so the shared worker is never killed):
 *
 * - the worker killed with SIGKILL while a set member's COPY runs (mz-local slows each batch) and, in the same
 *   crash, while expireExports is past its first 20-folder delete batch: a new worker finishes the set, published
 *   once, each member's rows present once, no files outside the named attempts; and the expiry, with exactly
 *   the planned folders deleted, each reported;
 * - a set terminated by an operator after a member was staged: nothing a loader reads exists, and
 *   expireExports plans and removes the staged leftovers with the set's logical time; cancelled instead, the
 *   set removes them itself.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { WorkflowHandle } from '@temporalio/client';
import { renderLogicalTime } from '../../common/export/paths';
import type { SnapshotSetResult } from '../../common/export/snapshot-set';
import type { ExportProgress } from '../../common/export/types';
import type { ExpireInput, ExpireResult } from '../../common/retention/types';
import { expireExports } from '../../workflows';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { assertSameRows, listKeys, readCsvRows, readManifest, sourceRows } from '../helpers/export-readback';
import { readSetManifest, setInput, setKeys, startSet } from '../helpers/snapshot-set-run';
import type { TestStack } from '../helpers/stack';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

describe('interrupted snapshot sets and expiry: worker killed, set terminated', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let conn: TestAwsConnection;
  let worker: WorkerProcess | undefined;
  const taskQueue = `interrupted-${process.pid}`;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));

  const startWorker = async () => {
    worker = await startWorkerProcess({ ...stack.env, TEMPORAL_TASK_QUEUE: taskQueue }, { logDir: stack.logDir, name: 'interrupted-worker' });
  };
  before(async function () {
    this.timeout(120_000);
    await startWorker();
  });
  after(async function () {
    this.timeout(30_000);
    // This spec's own worker: nothing of it to keep, so no graceful shutdown to wait for.
    await worker?.kill();
  });
  afterEach(() => knob('mz_local_batch_delay_ms'));

  async function knob(name: string, value?: number): Promise<void> {
    const mz = await stack.mz();
    try {
      await mz.query(value === undefined ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = ${value}`);
    } finally {
      await mz.end();
    }
  }

  const memberFolder = (setName: string, member: string, logicalTime: string) => `${conn.prefix}/${setName}/members/${member}/${renderLogicalTime(logicalTime)}`;

  /** Waits until member 1 is staged and member 2's COPY statement is running in mz-local (its sentinel is written). */
  async function untilSecondMemberCopies(handle: WorkflowHandle, setName: string, logicalTime: string): Promise<void> {
    const child = stack.temporal.workflow.getHandle(`${handle.workflowId}/second/1`);
    await until(
      "member 2's COPY running with member 1 staged",
      async () => {
        const p = await handle.query<{ members: { state: string }[] }>('progress');
        if (p.members[0].state !== 'staged' || p.members[1].state !== 'running') return false;
        if ((await child.query<ExportProgress>('progress')).phase !== 'copying') return false;
        return (await listKeys(stack, conn.bucket, `${memberFolder(setName, 'second', logicalTime)}/attempt-001/`)).length > 0;
      },
      30_000,
    );
  }

  /** Two members exported one after the other, so member 1 is staged while member 2 copies. */
  const twoMemberSet = (logicalTime: string) =>
    setInput(
      conn,
      [
        { name: 'first', object: 'public.order_totals', format: 'csv' },
        { name: 'second', object: 'public.orders', format: 'csv' },
      ],
      { logicalTime, maxParallel: 1 },
    );

  // One crash for both runs (a worker restart costs the heartbeat timeouts once): a set with member 1 staged and
  // member 2's COPY running, and an expiry past its first delete batch with more to come.
  it('a worker killed mid-COPY of a set member and mid-deletion of an expiry: a new worker finishes both exactly once', async () => {
    const logicalTime = '2024-02-01T00:00:00.000Z';
    const input = twoMemberSet(logicalTime);
    // Each COPY takes at least 8 s (2 batches of 4 s): member 2's outlasts the expiry's planning and first batch.
    await knob('mz_local_batch_delay_ms', 4000);
    const set = await startSet(stack, input, { taskQueue });

    // 120 published-looking logical times (hourly) of one export, and one of a sibling export under the prefix.
    const name = `exp-${randomUUID().slice(0, 8)}`;
    const other = `${name}-other`;
    const times = Array.from({ length: 120 }, (_, i) => new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString());
    const folderKey = (n: string, lt: string) => `${conn.prefix}/${n}/${renderLogicalTime(lt)}`;
    const put = (Key: string) => stack.aws.s3.send(new PutObjectCommand({ Bucket: conn.bucket, Key, Body: '1\n' }));
    const objectsOf = (n: string, lt: string) =>
      ['_claims/attempt-001.json', '_claims/publication.json', 'attempt-001/_SUCCESS', 'attempt-001/manifest.json', 'attempt-001/part-0.csv'].map(
        (f) => `${folderKey(n, lt)}/${f}`,
      );
    const all = [...times.flatMap((lt) => objectsOf(name, lt)), ...objectsOf(other, times[0])];
    for (let i = 0; i < all.length; i += 50) await Promise.all(all.slice(i, i + 50).map(put));
    const foldersLeft = async () => new Set((await listKeys(stack, conn.bucket, `${conn.prefix}/${name}/`)).map((k) => k.split('/').slice(0, 3).join('/')));

    await untilSecondMemberCopies(set, input.setName, logicalTime);
    const expiry = await stack.temporal.workflow.start(expireExports, {
      taskQueue,
      workflowId: `expire-kill-${randomUUID()}`,
      args: [{ targets: [{ bucket: conn.bucket, prefix: conn.prefix, name, keepLast: 2 }], recentWriteSeconds: 0, apply: true } satisfies ExpireInput],
      workflowExecutionTimeout: '2 minutes',
    });
    // Killed once the expiry's first batch of 20 is gone, while later batches are still to come.
    await until('the first delete batch', async () => (await foldersLeft()).size <= times.length - 22, 30_000, 20);
    await worker!.kill();
    const atKill = await foldersLeft();
    assert.ok(atKill.size > 2 + 20, `the kill came before the expiry's last batches (${atKill.size} folders left)`);
    const second = memberFolder(input.setName, 'second', logicalTime);
    const copying = await listKeys(stack, conn.bucket, `${second}/attempt-001/`);
    assert.ok(
      copying.some((k) => k.endsWith('-INCOMPLETE')) && !copying.some((k) => k.endsWith('/manifest.json')),
      `member 2's first COPY was still running (its sentinel there) when the worker died: ${copying.join(', ')}`,
    );
    await knob('mz_local_batch_delay_ms');
    await startWorker();

    // The set: published once, each member's rows once, no member files outside the attempts its manifest names.
    const result = (await set.result()) as SnapshotSetResult;
    assert.equal(result.reusedExisting, false);
    const keys = await setKeys(stack, input);
    const setFolder = `${conn.prefix}/${input.setName}/${renderLogicalTime(logicalTime)}`;
    assert.deepEqual(
      keys.filter((k) => k.endsWith('/_SUCCESS') || k.endsWith('/set-manifest.json')),
      [`${setFolder}/attempt-001/_SUCCESS`, `${setFolder}/attempt-001/set-manifest.json`],
      'one set manifest, one _SUCCESS',
    );
    const manifest = await readSetManifest(stack, result.manifest);
    for (const [m, source] of [
      [manifest.members[0], 'SELECT * FROM public.order_totals'],
      [manifest.members[1], 'SELECT * FROM public.orders'],
    ] as const) {
      const member = await readManifest(stack, m.manifest);
      assert.equal(member.materialize?.timestamp, manifest.materialize.timestamp, m.name);
      assertSameRows(await readCsvRows(stack, member), (await sourceRows(stack, source)).rows.map((r) => r.map((v) => v ?? '')));
      const memberKeys = keys.filter((k) => k.startsWith(`${memberFolder(input.setName, m.name, logicalTime)}/`) && !k.includes('/_claims/'));
      assert.deepEqual(memberKeys, [...member.files.map((f) => f.key), m.manifestKey].sort(), `${m.name}: files outside the attempt its manifest is`);
    }
    // The kill cost member 2 its first attempt (removed); member 1, staged before, was not exported again.
    assert.match(manifest.members[0].manifestKey, /\/attempt-001\/manifest\.json$/);
    assert.match(manifest.members[1].manifestKey, /\/attempt-002\/manifest\.json$/);

    // The expiry: exactly the planned folders deleted, each reported once, nothing else touched.
    const expired = (await expiry.result()) as ExpireResult;
    const expected = times.slice(0, -2).map((lt) => folderKey(name, lt)).sort();
    assert.deepEqual(expired.plans[0].delete.map((d) => d.key).sort(), expected, 'the plan: every folder but the 2 newest');
    assert.deepEqual(expired.deleted.map((d) => d.key).sort(), expected, 'each planned folder reported once');
    assert.deepEqual(expired.deleted.filter((d) => d.skipped), []);
    assert.equal(expired.foldersDeleted, expected.length);
    const kept = times.slice(-2).flatMap((lt) => objectsOf(name, lt));
    assert.deepEqual(await listKeys(stack, conn.bucket, `${conn.prefix}/${name}/`), kept.sort(), 'the 2 newest folders whole, nothing else left');
    assert.deepEqual(await listKeys(stack, conn.bucket, `${conn.prefix}/${other}/`), objectsOf(other, times[0]).sort(), 'the sibling export untouched');
  });

  it('a set terminated after a member was staged: nothing published; expireExports removes the staged leftovers', async () => {
    const logicalTime = '2024-03-01T00:00:00.000Z';
    const input = twoMemberSet(logicalTime);
    await knob('mz_local_batch_delay_ms', 1000);
    const handle = await startSet(stack, input, { taskQueue });
    await untilSecondMemberCopies(handle, input.setName, logicalTime);
    await handle.terminate('operator: wrong members');
    // The children go with the parent; member 2's COPY is cancelled. Wait until the folder stops changing.
    let last = '';
    let stableSince = Date.now();
    await until(
      'the staged leftovers to stop changing',
      async () => {
        const now = JSON.stringify(await setKeys(stack, input));
        if (now !== last) [last, stableSince] = [now, Date.now()];
        return Date.now() - stableSince > 1500;
      },
      20_000,
      200,
    );
    const left = await setKeys(stack, input);
    // Nothing a loader reads: no _SUCCESS, no set manifest, no _latest.json; the staged member 1 is still there.
    assert.deepEqual(left.filter((k) => /\/(_SUCCESS|_latest\.json|set-manifest\.json)$/.test(k)), []);
    assert.ok(left.includes(`${memberFolder(input.setName, 'first', logicalTime)}/attempt-001/manifest.json`), left.join('\n'));

    const expire = (apply: boolean) =>
      stack.temporal.workflow.execute(expireExports, {
        taskQueue,
        workflowId: `expire-terminated-${randomUUID()}`,
        args: [{ targets: [{ bucket: conn.bucket, prefix: conn.prefix, name: input.setName, keepWithin: '1d' }], recentWriteSeconds: 0, apply }],
        workflowExecutionTimeout: '1 minute',
      }) as Promise<ExpireResult>;
    const plan = (await expire(false)).plans[0];
    assert.deepEqual(
      plan.delete.map((d) => [d.key, d.published, [...(d.memberFolders ?? [])].sort()]),
      [
        [
          `${conn.prefix}/${input.setName}/${renderLogicalTime(logicalTime)}`,
          false,
          ['first', 'second'].map((m) => memberFolder(input.setName, m, logicalTime)).filter((f) => left.some((k) => k.startsWith(`${f}/`))).sort(),
        ],
      ],
    );
    assert.ok(plan.delete[0].memberFolders?.includes(memberFolder(input.setName, 'first', logicalTime)));
    const applied = await expire(true);
    assert.equal(applied.foldersDeleted, 1);
    assert.deepEqual(await setKeys(stack, input), [], 'the staged leftovers are gone');
  });

  it('a set cancelled instead (the alternative the docs give operators): it removes what it staged itself', async () => {
    const logicalTime = '2024-04-01T00:00:00.000Z';
    const input = twoMemberSet(logicalTime);
    await knob('mz_local_batch_delay_ms', 1000);
    const handle = await startSet(stack, input, { taskQueue });
    await untilSecondMemberCopies(handle, input.setName, logicalTime);
    await handle.cancel();
    await assert.rejects(handle.result());
    assert.deepEqual(await setKeys(stack, input), [], 'the staged member and the cancelled COPY are removed');
  });
});
