/**
 * snapshotSet end to end on the local stack: members exported AS OF one timestamp, the set manifest, _SUCCESS and
 * _latest.json; what a set that fails leaves (nothing a loader reads as complete); an unknown cluster; a re-run.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import type { SnapshotSetResult } from '../../common/export/snapshot-set';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { assertSameRows, getJson, readCsvRows, readManifest, readParquetRows, sourceRows } from '../helpers/export-readback';
import { exportFailure } from '../helpers/export-run';
import { readSetManifest, setInput, setKeys, startSet } from '../helpers/snapshot-set-run';
import type { TestStack } from '../helpers/stack';

describe('snapshot sets: several exports AS OF one timestamp, published together', function () {
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));

  it('exports every member AS OF one timestamp and publishes the set manifest, _SUCCESS and _latest.json', async () => {
    const input = setInput(
      conn,
      [
        { name: 'orders', object: 'public.orders', format: 'csv' },
        { name: 'large', query: 'SELECT order_id, amount FROM public.large_orders', format: 'parquet' },
        { name: 'totals', object: 'public.order_totals', format: 'csv' },
      ],
      { logicalTime: '2024-05-01T00:00:00Z', maxParallel: 2 },
    );
    const handle = await startSet(stack, input);
    const result = (await handle.result()) as SnapshotSetResult;

    const setFolder = `${conn.prefix}/${input.setName}/20240501T000000.000Z/attempt-001`;
    assert.equal(result.manifest, `s3://${conn.bucket}/${setFolder}/set-manifest.json`);
    assert.equal(result.reusedExisting, false);
    assert.equal(result.latestUpdated, true);
    assert.match(result.materialize.timestamp, /^\d+$/);

    const manifest = await readSetManifest(stack, result.manifest);
    assert.equal(manifest.kind, 'snapshot-set');
    assert.deepEqual(manifest.materialize, result.materialize);
    assert.deepEqual(manifest.members.map((m) => m.name), ['orders', 'large', 'totals']);
    // Each member's own manifest reflects the set's timestamp, is the one named (ETag), and lists its files.
    for (const m of manifest.members) {
      const member = await readManifest(stack, m.manifest);
      assert.equal(member.materialize?.timestamp, manifest.materialize.timestamp, m.name);
      assert.equal(member.materialize?.version, manifest.materialize.version);
      assert.equal(member.totals.rows, m.totals.rows);
      assert.ok(m.manifestKey.startsWith(`${conn.prefix}/${input.setName}/members/${m.name}/20240501T000000.000Z/attempt-`), m.manifestKey);
    }
    const orders = await readManifest(stack, manifest.members[0].manifest);
    assertSameRows(
      (await readCsvRows(stack, orders)).map((r) => [r[0]]),
      (await sourceRows(stack, 'SELECT order_id FROM public.orders')).rows.map((r) => [r[0] ?? '']),
    );
    const large = await readManifest(stack, manifest.members[1].manifest);
    assert.equal((await readParquetRows(stack, large)).length, (await sourceRows(stack, 'SELECT 1 FROM public.large_orders')).rows.length);

    // Only the set's folder has _SUCCESS: members never do, so a loader finds them through the set manifest only.
    const keys = await setKeys(stack, input);
    assert.deepEqual(keys.filter((k) => path.basename(k) === '_SUCCESS'), [`${setFolder}/_SUCCESS`]);
    assert.equal(keys.filter((k) => k.includes('/members/') && k.endsWith('/manifest.json')).length, 3);
    const latest = await getJson<{ manifest: string; materializeTimestamp: string }>(stack, conn.bucket, `${conn.prefix}/${input.setName}/_latest.json`);
    assert.equal(latest.manifest, result.manifest);
    assert.equal(latest.materializeTimestamp, result.materialize.timestamp);

    // A re-run of the logical time returns the published set and exports nothing.
    const again = (await (await startSet(stack, input)).result()) as SnapshotSetResult;
    assert.equal(again.reusedExisting, true);
    assert.equal(again.manifest, result.manifest);
    assert.deepEqual(await setKeys(stack, input), keys);

    // Asking for other members under the same set and logical time is a conflict, not a silent reuse.
    const other = await startSet(stack, { ...input, members: input.members.slice(0, 2) });
    const failure = await exportFailure(other);
    assert.equal(failure.type, 'ConflictError');
    assert.match(failure.message, /already published .* with other members/);
  });

  it('publishes nothing a loader would read when a member fails, and removes the members it staged', async () => {
    const input = setInput(conn, [
      { name: 'orders', object: 'public.orders', format: 'csv' },
      { name: 'missing', object: 'public.no_such_table', format: 'csv' },
    ], { maxParallel: 1 });
    // The timestamp is chosen over all members together, so an unknown object fails before any member runs.
    const early = await exportFailure(await startSet(stack, input));
    assert.equal(early.type, 'UserFixableError');
    assert.match(early.message, /no_such_table/);
    assert.deepEqual(await setKeys(stack, input), []);

    // A member that fails after others staged (here: a query Materialize refuses only when it runs the COPY).
    const late = setInput(conn, [
      { name: 'orders', object: 'public.orders', format: 'csv' },
      { name: 'bad', query: "SELECT order_id, ordered_at - TIMESTAMPTZ '2024-01-01 00:00:00+00' AS age FROM public.orders", format: 'parquet' },
    ], { maxParallel: 1 });
    const failure = await exportFailure(await startSet(stack, late));
    assert.equal(failure.type, 'UserFixableError', failure.message);
    const left = await setKeys(stack, late);
    assert.deepEqual(left.filter((k) => /(_SUCCESS|set-manifest\.json|_latest\.json|manifest\.json)$/.test(k)), [], left.join('\n'));
  });

  it('refuses an unknown cluster before anything is written, and records the cluster it ran on', async () => {
    const bad = setInput(conn, [{ name: 'orders', object: 'public.orders', format: 'csv' }], { cluster: 'no_such_cluster' });
    const failure = await exportFailure(await startSet(stack, bad));
    assert.equal(failure.type, 'UserFixableError');
    assert.match(failure.message, /cluster "no_such_cluster" does not exist/);
    assert.deepEqual(await setKeys(stack, bad), []);

    const mz = await stack.mz();
    const cluster = `set_cluster_${Date.now()}`;
    await mz.query(`CREATE CLUSTER ${cluster} (SIZE = '50cc')`);
    try {
      const input = setInput(conn, [{ name: 'orders', object: 'public.orders', format: 'csv' }], { cluster });
      const result = (await (await startSet(stack, input)).result()) as SnapshotSetResult;
      assert.equal(result.materialize.cluster, cluster);
      const member = await readManifest(stack, (await readSetManifest(stack, result.manifest)).members[0].manifest);
      assert.equal(member.materialize?.cluster, cluster);
    } finally {
      await mz.query(`DROP CLUSTER ${cluster} CASCADE`).catch(() => undefined);
      await mz.end();
    }
  });
});
