/**
 * Consistency is proven, not assumed. A writer keeps adding an order and its three lines to two tables in single
 * transactions (on mz-local) and notes mz_now() just before and just after each. Then:
 * - two independent bulkExports started together can read at different timestamps and disagree (lines whose
 *   order is missing, or orders short of lines), while they retry a timestamp a write made unreadable;
 * - every snapshot set agrees exactly: each order with its three lines, and exactly the transactions that
 *   committed by the set's recorded timestamp;
 * - an explicit asOf a write made unreadable fails with what to change, and a re-run asking another asOf for a
 *   published logical time is a conflict.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { Client as PgClient } from 'pg';
import type { ExportManifest } from '../../common/export/manifest';
import type { SnapshotSetProgress, SnapshotSetResult } from '../../common/export/snapshot-set';
import type { WorkflowHandle } from '@temporalio/client';
import type { BulkExportResult } from '../../common/export/types';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { readCsvRows, readManifest, readParquetRows } from '../helpers/export-readback';
import { exportFailure, exportInput, runExport, startExport } from '../helpers/export-run';
import { readSetManifest, setInput, setKeys, startSet } from '../helpers/snapshot-set-run';
import type { TestStack } from '../helpers/stack';

/** Adds order k and its lines 1..3 in one transaction per step, noting mz_now() before and after each. */
class TransactionalWriter {
  readonly committed: { id: number; before: bigint; after: bigint }[] = [];
  private stopped = false;
  private loop?: Promise<void>;
  private nextId = 1;
  gapMs = 1500;

  constructor(
    private readonly mz: PgClient,
    readonly orders: string,
    readonly lines: string,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await this.transaction(this.mz);
        await new Promise((r) => setTimeout(r, this.gapMs));
      }
    })();
  }

  /** One order and its three lines in one transaction on `client` (its own session), logged like the loop's. */
  async transaction(client: PgClient): Promise<void> {
    const id = this.nextId++;
    const before = BigInt((await client.query('SELECT mz_now()::text AS t')).rows[0].t);
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${this.orders} VALUES (${id}, 'order-${id}')`);
    await client.query(`INSERT INTO ${this.lines} VALUES (${id}, 1), (${id}, 2), (${id}, 3)`);
    await client.query('COMMIT');
    const after = BigInt((await client.query('SELECT mz_now()::text AS t')).rows[0].t);
    this.committed.push({ id, before, after });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** Polls the set's progress until its first timestamp is chosen, then runs write (at most 30 s). */
async function writeOnceTimestampChosen(handle: WorkflowHandle, write: () => Promise<void>): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const p = await handle.query<SnapshotSetProgress>('progress').catch(() => undefined);
    if (p?.timestamp !== undefined) return write();
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Snapshot {
  orders: number[];
  lines: [number, number][];
}

/** The order ids whose lines are not exactly 1, 2, 3, and the line order ids with no order: empty when consistent. */
function disagreements(s: Snapshot): string[] {
  const orders = new Set(s.orders);
  const linesOf = new Map<number, number[]>();
  for (const [order, line] of s.lines) linesOf.set(order, [...(linesOf.get(order) ?? []), line]);
  const out: string[] = [];
  for (const id of orders) if (JSON.stringify((linesOf.get(id) ?? []).sort()) !== '[1,2,3]') out.push(`order ${id} has lines ${JSON.stringify(linesOf.get(id) ?? [])}`);
  for (const id of linesOf.keys()) if (!orders.has(id)) out.push(`lines of order ${id}, which is missing`);
  return out;
}

describe('snapshot sets: consistency under a concurrent transactional writer', function () {
  this.timeout(600_000);
  let stack: TestStack;
  let conn: TestAwsConnection;
  let mz: PgClient;
  let writer: TransactionalWriter;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));

  before(async () => {
    mz = await stack.mz();
    const tag = randomUUID().slice(0, 8);
    writer = new TransactionalWriter(mz, `public.set_orders_${tag}`, `public.set_lines_${tag}`);
    await mz.query(`CREATE TABLE ${writer.orders} (id bigint, label text)`);
    await mz.query(`CREATE TABLE ${writer.lines} (order_id bigint, line int)`);
  });

  after(async () => {
    await writer?.stop();
    await mz?.query(`DROP TABLE IF EXISTS ${writer.orders}`).catch(() => undefined);
    await mz?.query(`DROP TABLE IF EXISTS ${writer.lines}`).catch(() => undefined);
    await mz?.end();
  });

  const ordersOf = async (m: ExportManifest) => (await readCsvRows(stack, m)).map((r) => Number(r[0]));
  const linesOf = async (m: ExportManifest) => (await readParquetRows(stack, m)).map((r) => [Number(r.order_id), Number(r.line)] as [number, number]);

  it('two independent bulkExports started together can disagree; each retries a timestamp a write made unreadable', async () => {
    writer.gapMs = 20;
    writer.start();
    let seen: { orders: BulkExportResult; lines: BulkExportResult; problems: string[] } | undefined;
    let timestampRetries = 0;
    for (let round = 0; round < 12 && !seen; round++) {
      const [orders, lines] = await Promise.all([
        runExport(stack, exportInput(conn, { object: writer.orders, format: 'csv', maxAttempts: 10 })),
        runExport(stack, exportInput(conn, { object: writer.lines, format: 'parquet', maxAttempts: 10 })),
      ]);
      timestampRetries += [...orders.attempts, ...lines.attempts].filter((a) => /no longer readable/.test(a.error ?? '')).length;
      const problems = disagreements({ orders: await ordersOf(await readManifest(stack, orders.manifest)), lines: await linesOf(await readManifest(stack, lines.manifest)) });
      if (problems.length) seen = { orders, lines, problems };
    }
    console.log(`      (independent exports: ${timestampRetries} attempt(s) retried after a write made their timestamp unreadable)`);
    assert.ok(seen, 'twelve pairs of independent exports all happened to agree');
    // They disagree because they read at different timestamps, and each manifest says which.
    assert.notEqual(seen.orders.materialize?.timestamp, seen.lines.materialize?.timestamp, seen.problems.join('; '));
  });

  it('a snapshot set never disagrees: its members hold exactly the transactions committed by its recorded timestamp', async () => {
    // Writes often enough that a chosen timestamp is sometimes overtaken before every member read it.
    writer.gapMs = 250;
    let retried = 0;
    // Three sets with the writer alone; then, until one had to choose a fresh timestamp (so that path is proven on
    // the real stack too), a write from a second session lands the moment the set has chosen its timestamp, before
    // its members (child workflows, each connecting and claiming first) have read.
    const nudger = await stack.mz();
    for (let round = 0; round < 8 && (round < 3 || !retried); round++) {
      const input = setInput(
        conn,
        [
          { name: 'orders', object: writer.orders, format: 'csv' },
          { name: 'lines', object: writer.lines, format: 'parquet' },
        ],
        { maxSetAttempts: 20 },
      );
      const handle = await startSet(stack, input);
      if (round >= 3) await writeOnceTimestampChosen(handle, () => writer.transaction(nudger));
      const result = (await handle.result()) as SnapshotSetResult;
      const set = await readSetManifest(stack, result.manifest);
      const [ordersManifest, linesManifest] = await Promise.all(set.members.map((m) => readManifest(stack, m.manifest)));
      const snapshot = { orders: await ordersOf(ordersManifest), lines: await linesOf(linesManifest) };
      assert.deepEqual(disagreements(snapshot), [], `set ${result.manifest}`);
      // Against the writer's log: every transaction done before the timestamp is in, none begun after it is.
      const t = BigInt(set.materialize.timestamp);
      const exported = new Set(snapshot.orders);
      for (const tx of writer.committed) {
        if (tx.after <= t) assert.ok(exported.has(tx.id), `order ${tx.id} committed by ${tx.after} <= ${t} but is missing`);
        if (tx.before >= t) assert.ok(!exported.has(tx.id), `order ${tx.id} began at ${tx.before} >= ${t} but is exported`);
      }
      assert.ok(snapshot.orders.length > 0);
      assert.equal(ordersManifest.materialize?.timestamp, set.materialize.timestamp);
      assert.equal(linesManifest.materialize?.timestamp, set.materialize.timestamp);
      console.log(`      (set ${round + 1}: ${snapshot.orders.length} orders AS OF ${t}, ${result.setAttempts} timestamp(s) tried)`);
      // Members staged AS OF an overtaken timestamp were removed: one manifest per member remains.
      const keys = await setKeys(stack, input);
      assert.deepEqual(keys.filter((k) => k.endsWith('/manifest.json')).sort(), set.members.map((m) => m.manifestKey).sort());
      if (result.setAttempts > 1) retried++;
    }
    await nudger.end();
    assert.ok(retried > 0, 'no set had its timestamp overtaken by a write; the retry path went untested');
  });

  it('an asOf a write made unreadable fails with what to change; another asOf for a published logical time is a conflict', async () => {
    await writer.stop();
    const t1 = String((await mz.query('SELECT mz_now()::text AS t')).rows[0].t);
    await new Promise((r) => setTimeout(r, 50));
    const t2 = String((await mz.query('SELECT mz_now()::text AS t')).rows[0].t);
    const input = exportInput(conn, { object: writer.orders, format: 'csv', logicalTime: '2024-06-01T00:00:00Z', asOf: t1 });
    const published = await runExport(stack, input);
    assert.equal(published.materialize?.timestamp, t1);
    assert.equal((await runExport(stack, input)).reusedExisting, true);
    const conflict = await exportFailure(await startExport(stack, { ...input, asOf: t2 }));
    assert.equal(conflict.type, 'ConflictError');
    assert.match(conflict.message, new RegExp(`reflects Materialize timestamp ${t1}, this run asks for AS OF ${t2}`));

    await mz.query(`INSERT INTO ${writer.orders} VALUES (-1, 'late')`);
    const stale = await exportFailure(await startExport(stack, exportInput(conn, { object: writer.orders, format: 'csv', asOf: t2 })));
    assert.equal(stale.type, 'TimestampNotReadableError');
    assert.match(stale.message, /no longer readable.*To fix: give a newer asOf/s);
  });
});
