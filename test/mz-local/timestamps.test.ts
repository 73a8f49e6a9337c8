/**
 * Read timestamps: mz_now(), EXPLAIN TIMESTAMP (src/adapter/src/coord/timestamp_selection.rs, TimestampExplanation's
 * Display and its serde form; src/environmentd/tests/sql.rs test_explain_timestamp_table / _json), AS OF and AS OF AT
 * LEAST on SELECT and inside COPY (src/sql/src/plan/statement/dml.rs plan_copy → plan_select_inner → plan_as_of;
 * src/adapter/src/coord/sequencer/inner/peek.rs sequence_copy_to → peek_validate), and their errors
 * (test/sqllogictest/as_of.slt; AdapterError::ImpossibleTimestampConstraints in src/adapter/src/error.rs).
 */
import * as assert from 'node:assert/strict';
import type { Client } from 'pg';
import { expectPgError, listKeys, useSuite, type ExportSetup, type SharedStack } from './helpers';

const TS = /\s*(\d+) \(\d+-\d\d-\d\d \d\d:\d\d:\d\d\.\d\d\d\)/g;

describe('mz-local read timestamps (src/adapter/src/coord/timestamp_selection.rs)', function () {
  let stack: SharedStack;
  let c: Client;
  let writer: Client;
  let setup: ExportSetup;
  useSuite({ clients: 2, exportSetup: true }, (t) => {
    ({ stack, clients: [c, writer] } = t);
    setup = t.setup!;
  });
  const queryTs = async (sql: string): Promise<bigint> => {
    const text: string = (await c.query(`EXPLAIN TIMESTAMP FOR ${sql}`)).rows[0].Timestamp;
    return BigInt(/query timestamp:\s*(\d+)/.exec(text)![1]);
  };

  before(async () => {
    await c.query('CREATE TABLE ts_orders (id int, amount int); CREATE TABLE ts_lines (order_id int, sku text)');
    await writer.query(`BEGIN; INSERT INTO ts_orders VALUES (1, 10); INSERT INTO ts_lines VALUES (1, 'a'); COMMIT`);
  });

  it('mz_now() never goes back and every write advances it (the timestamp oracle)', async () => {
    const a = BigInt((await c.query('SELECT mz_now()::text AS t')).rows[0].t);
    await writer.query('INSERT INTO ts_orders VALUES (2, 20)');
    const b = BigInt((await c.query('SELECT mz_now()::text AS t')).rows[0].t);
    assert.ok(b > a, `${b} > ${a}`);
    assert.ok(a > 1_700_000_000_000n, 'epoch milliseconds');
    const ts = await queryTs('SELECT * FROM ts_orders');
    assert.ok(ts >= b);
  });

  it("a missing relation is Materialize's unknown catalog item in EXPLAIN TIMESTAMP and SELECT AS OF (src/sql/src/names.rs)", async () => {
    const explain = await expectPgError(() => c.query('EXPLAIN TIMESTAMP FOR SELECT * FROM public.ts_no_such_table'));
    assert.equal(explain.message, "unknown catalog item 'public.ts_no_such_table'");
    assert.equal(explain.code, '42704');
    const read = await expectPgError(() => c.query('SELECT * FROM ts_no_such_table AS OF 1'));
    assert.equal(read.message, "unknown catalog item 'ts_no_such_table'");
  });

  it('EXPLAIN TIMESTAMP prints the fields in Materialize\'s format (test_explain_timestamp_table)', async () => {
    const r = await c.query('EXPLAIN TIMESTAMP FOR SELECT * FROM ts_orders');
    assert.deepEqual(r.fields.map((f) => f.name), ['Timestamp']);
    const oid = (await c.query(`SELECT 'ts_orders'::regclass::oid::text AS oid`)).rows[0].oid;
    const text = (r.rows[0].Timestamp as string).replace(TS, '<TIMESTAMP>');
    const head = `                query timestamp:<TIMESTAMP>
          oracle read timestamp:<TIMESTAMP>
largest not in advance of upper:<TIMESTAMP>
                          upper:[<TIMESTAMP>]
                          since:[<TIMESTAMP>]
        can respond immediately: true
                       timeline: Some(EpochMilliseconds)
              session wall time:<TIMESTAMP>

source materialize.public.ts_orders (u${oid}, storage):
                  read frontier:[<TIMESTAMP>]
                 write frontier:[<TIMESTAMP>]

binding constraints:
lower:
`;
    assert.ok(text.startsWith(head), text);
    assert.match(text.slice(head.length), /^(  \(Storage inputs: \[u\d+\]\): \[<TIMESTAMP>\]\n)?  \(Isolation level: StrictSerializable\): \[<TIMESTAMP>\]\n$/);
  });

  it('EXPLAIN TIMESTAMP AS JSON is the serde form of TimestampExplanation (test_explain_timestamp_json)', async () => {
    const j = JSON.parse((await c.query('EXPLAIN TIMESTAMP AS JSON FOR SELECT o.id FROM ts_orders o JOIN ts_lines l ON l.order_id = o.id')).rows[0].Timestamp);
    const ctx = j.determination.timestamp_context.TimelineTimestamp;
    assert.equal(ctx.timeline, 'EpochMilliseconds');
    assert.equal(typeof ctx.chosen_ts, 'number');
    assert.equal(ctx.oracle_ts, ctx.chosen_ts);
    assert.equal(j.determination.upper.elements[0], ctx.chosen_ts + 1);
    assert.equal(j.determination.largest_not_in_advance_of_upper, ctx.chosen_ts);
    assert.deepEqual(j.sources.map((s: { name: string }) => s.name.replace(/u\d+/, 'u?')).sort(), [
      'materialize.public.ts_lines (u?, storage)',
      'materialize.public.ts_orders (u?, storage)',
    ]);
    assert.equal(j.respond_immediately, true);
    assert.match(j.session_wall_time, /^\d{4}-\d\d-\d\dT/);
  });

  it('AS OF a timestamp no input changed after reads exactly; after a write it fails like a compacted read', async () => {
    await writer.query(`BEGIN; INSERT INTO ts_orders VALUES (3, 30); INSERT INTO ts_lines VALUES (3, 'c'); COMMIT`);
    const t = await queryTs('SELECT * FROM ts_orders, ts_lines');
    const before = (await c.query(`SELECT count(*)::int AS n FROM ts_orders AS OF ${t}`)).rows[0].n;
    assert.equal((await c.query(`SELECT mz_now()::text AS t FROM ts_lines LIMIT 1 AS OF ${t}`)).rows[0].t, String(t));
    await writer.query('INSERT INTO ts_orders VALUES (4, 40)');
    const err = await expectPgError(() => c.query(`SELECT count(*) FROM ts_orders AS OF ${t}`));
    assert.equal(err.message, 'could not find a valid timestamp for the query');
    assert.equal(err.code, '22000');
    const oid = (await c.query(`SELECT 'ts_orders'::regclass::oid::text AS oid`)).rows[0].oid;
    assert.equal(err.detail!.replace(TS, '<TIMESTAMP>'), `Constraints:\nlower:\n  (Storage inputs: [u${oid}]): [<TIMESTAMP>]\nupper:\n  (Query's AS OF): [<TIMESTAMP>]\n`);
    // the other table did not change: still readable at t
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM ts_lines AS OF ${t}`)).rows[0].n, 2);
    // AS OF AT LEAST advances past the write
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM ts_orders AS OF AT LEAST ${t}`)).rows[0].n, before + 1);
    // extended protocol, with a parameter
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM ts_lines WHERE order_id >= $1 AS OF ${t}`, [0])).rows[0].n, 2);
  });

  it('waits for a timestamp not yet complete (EXPLAIN: can respond immediately: false)', async () => {
    const future = BigInt(Date.now()) + 1500n;
    const text: string = (await c.query(`EXPLAIN TIMESTAMP FOR SELECT * FROM ts_lines AS OF ${future}`)).rows[0].Timestamp;
    assert.match(text, /can respond immediately: false/);
    assert.doesNotMatch(text, /oracle read timestamp/);
    const started = Date.now();
    const r = await c.query(`SELECT count(*)::int AS n FROM ts_lines AS OF ${future}`);
    assert.equal(r.rows[0].n, 2);
    assert.ok(Date.now() >= Number(future), 'answered only once the timestamp was reached');
    assert.ok(Date.now() - started > 200);
  });

  it('AS OF errors as test/sqllogictest/as_of.slt words them', async () => {
    const cases: [string, string][] = [
      ['SELECT * FROM ts_lines AS OF now()', 'calling an unmaterializable function in AS OF or UP TO not yet supported'],
      ['SELECT * FROM ts_lines AS OF mz_now()', 'calling an unmaterializable function in AS OF or UP TO not yet supported'],
      ['SELECT * FROM ts_lines AS OF -1', 'AS OF or UP TO should be castable to a (non-null) mz_timestamp value'],
      ['SELECT * FROM ts_lines AS OF 1.2', 'AS OF or UP TO should be castable to a (non-null) mz_timestamp value'],
      ['SELECT * FROM ts_lines AS OF 1E38', 'AS OF or UP TO should be castable to a (non-null) mz_timestamp value'],
      [`SELECT * FROM ts_lines AS OF 'xxx'`, 'AS OF or UP TO should be castable to a (non-null) mz_timestamp value'],
      ['SELECT * FROM ts_lines AS OF 7/0', 'AS OF or UP TO should be castable to a (non-null) mz_timestamp value'],
      ['SELECT 1 AS OF NULL::timestamp', 'AS OF or UP TO should be castable to a (non-null) mz_timestamp value'],
      ['SELECT now() AS OF 1', 'unmaterializable function (except `mz_now`) in an AS OF query not yet supported'],
      ['SELECT * FROM ts_lines AS OF', "Expected a timestamp value after 'AS OF', found EOF"],
      ['SELECT * FROM ts_lines AS OF 1', 'could not find a valid timestamp for the query'],
    ];
    for (const [sql, message] of cases) assert.equal((await expectPgError(() => c.query(sql))).message, message, sql);
    assert.equal((await c.query('SELECT mz_now()::text AS t AS OF 1')).rows[0].t, '1');
  });

  it('COPY (SELECT ... AS OF t) honours the AS OF: exact rows, or the error before anything is written', async () => {
    const t = await queryTs('SELECT * FROM ts_lines');
    const path = `${setup.prefix}/as-of-ok`;
    const sql = `COPY (SELECT * FROM ts_lines AS OF ${t}) TO 's3://${setup.bucket}/${path}' WITH (AWS CONNECTION = ${setup.connection}, FORMAT = 'csv')`;
    assert.equal((await c.query(sql)).rowCount, 2);
    const logged = await c.query(`SELECT execution_timestamp::text AS t FROM mz_internal.mz_recent_activity_log WHERE sql = $1`, [sql]);
    assert.deepEqual(logged.rows, [{ t: String(t) }]);
    await writer.query(`INSERT INTO ts_lines VALUES (5, 'e')`);
    const failed = `${setup.prefix}/as-of-stale`;
    const err = await expectPgError(() =>
      c.query(`COPY (SELECT * FROM ts_lines AS OF ${t}) TO 's3://${setup.bucket}/${failed}' WITH (AWS CONNECTION = ${setup.connection}, FORMAT = 'csv')`),
    );
    assert.equal(err.message, 'could not find a valid timestamp for the query');
    assert.deepEqual(await listKeys(stack.moto, setup.bucket, failed), []);
  });
});
