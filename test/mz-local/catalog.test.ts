/** Connections and the Materialize catalog: statements, relations, errors, persistence, knobs. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import { connect, expectPgError, listKeys, setupExport, startServer, uniqueName, useSuite, type SharedStack } from './helpers';

const ARN = 'arn:aws:iam::123456789012:role/some-role';

describe('mz-local catalog and connections', function () {
  let stack: SharedStack;
  let c: Client;
  let c2: Client;
  const name = (p: string) => uniqueName(p).replace(/-/g, '_');
  useSuite({ clients: 2 }, (t) => ({ stack, clients: [c, c2] } = t));

  it('creates an AWS connection visible in mz_connections and mz_aws_connections', async () => {
    const n = name('conn');
    const r = await c.query(`CREATE CONNECTION ${n} TO AWS (ASSUME ROLE ARN = '${ARN}', ASSUME ROLE SESSION NAME = 'sess', REGION = 'us-east-1')`);
    assert.equal(r.command, 'CREATE');
    const conn = (await c.query(`SELECT * FROM mz_connections WHERE name = $1`, [n])).rows[0];
    assert.match(conn.id, /^u\d+$/);
    assert.equal(conn.type, 'aws');
    assert.equal(conn.schema_id, 'u3');
    assert.match(conn.create_sql, new RegExp(`^CREATE CONNECTION "materialize"."public"."${n}" TO AWS \\(REGION = 'us-east-1', ASSUME ROLE ARN = '${ARN}', ASSUME ROLE SESSION NAME = 'sess'\\)$`));
    assert.deepEqual(
      Object.keys((await c.query('SELECT * FROM mz_catalog.mz_connections LIMIT 1')).rows[0]),
      ['id', 'oid', 'schema_id', 'name', 'type', 'owner_id', 'privileges', 'create_sql', 'redacted_create_sql'],
    );
    const aws = (await c.query(`SELECT * FROM mz_internal.mz_aws_connections WHERE id = $1`, [conn.id])).rows[0];
    assert.deepEqual(Object.keys(aws), [
      'id',
      'endpoint',
      'region',
      'access_key_id',
      'access_key_id_secret_id',
      'secret_access_key_secret_id',
      'session_token',
      'session_token_secret_id',
      'assume_role_arn',
      'assume_role_session_name',
      'principal',
      'external_id',
      'example_trust_policy',
    ]);
    assert.equal(aws.assume_role_arn, ARN);
    assert.equal(aws.assume_role_session_name, 'sess');
    assert.equal(aws.region, 'us-east-1');
    assert.equal(aws.principal, 'arn:aws:iam::123456789012:role/MaterializeConnection');
    assert.equal(aws.external_id, `mz_${stack.server.environmentId}_${conn.id}`);
    assert.match(aws.external_id, /^mz_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_u\d+$/);
    assert.deepEqual(aws.example_trust_policy, {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: aws.principal },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': aws.external_id } },
        },
      ],
    });
  });

  it("answers the guide's join (mz_catalog on the search path, mz_internal named)", async () => {
    const n = name('guide');
    await c.query(`CREATE CONNECTION ${n} TO AWS (ASSUME ROLE ARN = '${ARN}')`);
    const r = await c.query(
      `SELECT awsc.id, external_id FROM mz_internal.mz_aws_connections awsc JOIN mz_connections c ON awsc.id = c.id WHERE c.name = '${n}'`,
    );
    assert.equal(r.rows.length, 1);
    assert.equal(r.rows[0].external_id, `mz_${stack.server.environmentId}_${r.rows[0].id}`);
    assert.equal((await c.query(`SELECT external_id FROM mz_internal.mz_aws_connections WHERE id = $1`, [r.rows[0].id])).rows[0].external_id, r.rows[0].external_id, 'stable');
  });

  it('gives a recreated connection a new id and a new external ID', async () => {
    const n = name('recreate');
    await c.query(`CREATE CONNECTION ${n} TO AWS (ASSUME ROLE ARN = '${ARN}')`);
    const first = (await c.query(`SELECT c.id, a.external_id FROM mz_connections c JOIN mz_internal.mz_aws_connections a USING (id) WHERE c.name = $1`, [n])).rows[0];
    await c.query(`DROP CONNECTION ${n}`);
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_internal.mz_aws_connections WHERE id = $1`, [first.id])).rows[0].n, 0);
    await c.query(`CREATE CONNECTION ${n} TO AWS (ASSUME ROLE ARN = '${ARN}')`);
    const second = (await c.query(`SELECT c.id, a.external_id FROM mz_connections c JOIN mz_internal.mz_aws_connections a USING (id) WHERE c.name = $1`, [n])).rows[0];
    assert.notEqual(second.id, first.id);
    assert.notEqual(second.external_id, first.external_id);
  });

  it('reports duplicates like Materialize, and IF NOT EXISTS skips with a notice', async () => {
    const n = name('dup');
    await c.query(`CREATE CONNECTION ${n} TO AWS (ASSUME ROLE ARN = '${ARN}')`);
    const e = await expectPgError(() => c.query(`CREATE CONNECTION ${n} TO AWS (ASSUME ROLE ARN = '${ARN}')`));
    assert.equal(e.message, `connection "materialize.public.${n}" already exists`);
    assert.equal(e.code, '42710');
    const notices: string[] = [];
    const onNotice = (m: { message?: string }) => notices.push(m.message ?? '');
    c.on('notice', onNotice);
    await c.query(`CREATE CONNECTION IF NOT EXISTS ${n} TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/other')`);
    await c.query(`SELECT 1`);
    c.off('notice', onNotice);
    assert.deepEqual(notices, [`connection "${n}" already exists, skipping`]);
    const arn = (await c.query(`SELECT assume_role_arn FROM mz_internal.mz_aws_connections a JOIN mz_connections m USING (id) WHERE m.name = $1`, [n])).rows[0];
    assert.equal(arn.assume_role_arn, ARN, 'the existing connection is untouched');
    await c.query('CREATE TABLE IF NOT EXISTS cat_clash (v int)');
    const clash = await expectPgError(() => c.query(`CREATE CONNECTION cat_clash TO AWS (ASSUME ROLE ARN = '${ARN}')`));
    assert.equal(clash.message, 'table "materialize.public.cat_clash" already exists');
  });

  it('supports quoted identifiers and schema-qualified names', async () => {
    await c.query('CREATE SCHEMA IF NOT EXISTS cat_s2');
    await c.query(`CREATE CONNECTION "My Conn" TO AWS (ASSUME ROLE ARN = '${ARN}')`);
    await c.query(`CREATE CONNECTION cat_s2.qualified TO AWS (ASSUME ROLE ARN = '${ARN}')`);
    await c.query(`CREATE CONNECTION materialize.cat_s2."Mixed Case" TO AWS (ASSUME ROLE ARN = '${ARN}')`);
    const rows = (await c.query(`SELECT s.name AS schema, c.name FROM mz_connections c JOIN mz_schemas s ON s.id = c.schema_id WHERE c.name IN ('My Conn', 'qualified', 'Mixed Case') ORDER BY 2`)).rows;
    assert.deepEqual(rows, [
      { schema: 'cat_s2', name: 'Mixed Case' },
      { schema: 'public', name: 'My Conn' },
      { schema: 'cat_s2', name: 'qualified' },
    ]);
    const unknown = await expectPgError(() => c.query(`VALIDATE CONNECTION qualified`));
    assert.equal(unknown.message, "unknown catalog item 'qualified'", 'not on the search path');
    const show = (await c.query('SHOW CONNECTIONS FROM cat_s2')).rows.map((r) => r.name);
    assert.deepEqual(show, ['Mixed Case', 'qualified']);
    await c.query(`DROP CONNECTION "My Conn", cat_s2.qualified, materialize.cat_s2."Mixed Case"`);
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_connections WHERE name IN ('My Conn', 'qualified', 'Mixed Case')`)).rows[0].n, 0);
    const badSchema = await expectPgError(() => c.query(`CREATE CONNECTION nope_schema.x TO AWS (ASSUME ROLE ARN = '${ARN}')`));
    assert.equal(badSchema.message, "unknown schema 'nope_schema'");
    const badDb = await expectPgError(() => c.query(`CREATE CONNECTION otherdb.public.x TO AWS (ASSUME ROLE ARN = '${ARN}')`));
    assert.equal(badDb.message, "unknown database 'otherdb'");
  });

  it('rejects bad options with Materialize messages', async () => {
    // a secret that exists: names are resolved before the options are checked
    await c.query(`CREATE SECRET IF NOT EXISTS s AS 'x'`);
    const cases: [string, RegExp | string][] = [
      [`CREATE CONNECTION x TO AWS (REGION = 'us-east-1')`, 'must specify either ASSUME ROLE ARN or ACCESS KEY ID and SECRET ACCESS KEY'],
      [`CREATE CONNECTION x TO AWS (ASSUME ROLE SESSION NAME = 's')`, 'must specify ASSUME ROLE ARN with optional ASSUME ROLE SESSION NAME'],
      [`CREATE CONNECTION x TO AWS (ACCESS KEY ID = 'k')`, 'must specify both ACCESS KEY ID and SECRET ACCESS KEY with optional SESSION TOKEN'],
      [`CREATE CONNECTION x TO AWS (ACCESS KEY ID = 'k', SECRET ACCESS KEY = SECRET s, ASSUME ROLE ARN = '${ARN}')`, 'cannot specify both ACCESS KEY ID and ASSUME ROLE ARN'],
      [`CREATE CONNECTION x TO AWS (ASSUME ROLE ARN = '${ARN}', HOST = 'h', PORT = 5)`, 'AWS connections do not support HOST, PORT values'],
      [`CREATE CONNECTION x TO AWS (ASSUME ROLE ARN = '${ARN}', REGION = 'a', REGION = 'b')`, 'REGION specified more than once'],
      [`CREATE CONNECTION x TO AWS (ASSUME ROLE ARN = '${ARN}', BOGUS = 'b')`, /^Expected one of ACCESS or ASSUME .* found identifier "bogus"$/],
      [`CREATE CONNECTION x TO AWS ASSUME ROLE ARN = '${ARN}'`, /^Expected \(, found identifier "assume"$/],
      [`CREATE CONNECTION x TO NOWHERE (HOST = 'h')`, /^Expected one of AWS or .*, found identifier "nowhere"$/],
    ];
    for (const [sql, msg] of cases) {
      const e = await expectPgError(() => c.query(sql));
      if (typeof msg === 'string') assert.equal(e.message, msg, sql);
      else assert.match(e.message, msg, sql);
    }
    const kafka = await expectPgError(() => c.query(`CREATE CONNECTION k TO KAFKA (BROKER = 'b:9092')`));
    assert.equal(kafka.code, '0A000');
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_connections WHERE name IN ('x', 'k')`)).rows[0].n, 0);
  });

  it('converts option values to their types, in order, like Materialize', async () => {
    const cases: [string, string][] = [
      [`CREATE CONNECTION x TO AWS (ASSUME ROLE ARN = '${ARN}', REGION = 5)`, 'invalid REGION: cannot use value as string'],
      [`CREATE CONNECTION x TO AWS (ASSUME ROLE ARN = true)`, 'invalid ASSUME ROLE ARN: cannot use value as string'],
      [`CREATE CONNECTION x TO AWS (ASSUME ROLE ARN)`, 'invalid ASSUME ROLE ARN: must provide a string value'],
      [`CREATE CONNECTION x TO AWS (ASSUME ROLE ARN = '${ARN}', ASSUME ROLE ARN = '${ARN}')`, 'ASSUME ROLE ARN specified more than once'],
      // the first REGION fails its conversion before the second is seen
      [`CREATE CONNECTION x TO AWS (REGION = 5, REGION = 'us-east-1')`, 'invalid REGION: cannot use value as string'],
      [`CREATE CONNECTION x TO AWS (ASSUME ROLE ARN = '${ARN}') WITH (VALIDATE = 'yes')`, 'invalid VALIDATE: cannot use value as boolean'],
    ];
    for (const [sql, msg] of cases) assert.equal((await expectPgError(() => c.query(sql))).message, msg, sql);
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_connections WHERE name = 'x'`)).rows[0].n, 0);
  });

  it('refuses items of another kind: DROP (even IF EXISTS), VALIDATE, DROP MATERIALIZED VIEW', async () => {
    await c.query('CREATE TABLE IF NOT EXISTS cat_kind_t (v int)');
    await c.query('CREATE OR REPLACE VIEW cat_kind_v AS SELECT 1 AS one');
    const drop = await expectPgError(() => c.query('DROP CONNECTION cat_kind_t'));
    assert.equal(drop.message, 'cat_kind_t is a table not a connection');
    assert.equal((await expectPgError(() => c.query('DROP CONNECTION IF EXISTS public.cat_kind_t'))).message, 'cat_kind_t is a table not a connection');
    assert.equal((await expectPgError(() => c.query('VALIDATE CONNECTION cat_kind_t'))).message, "cannot validate table 'materialize.public.cat_kind_t'");
    assert.equal((await expectPgError(() => c.query('DROP MATERIALIZED VIEW cat_kind_v'))).message, 'cat_kind_v is a view not a materialized view');
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM cat_kind_t`)).rows[0].n, 0, 'the table is still there');
  });

  it('accepts an ARN it cannot use (Materialize does not check it) and reports AWS validation on use', async () => {
    const n = name('badarn');
    await c.query(`CREATE CONNECTION ${n} TO AWS (ASSUME ROLE ARN = 'not-an-arn')`);
    const e = await expectPgError(() => c.query(`VALIDATE CONNECTION ${n}`));
    assert.equal(e.message, "1 validation error detected: Value 'not-an-arn' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20");
    assert.equal(e.code, '58000');
    const n2 = name('badarn');
    const e2 = await expectPgError(() => c.query(`CREATE CONNECTION ${n2} TO AWS (ASSUME ROLE ARN = 'arn:aws:s3:::not-a-role-at-all') WITH (VALIDATE = true)`));
    assert.match(e2.message, /at 'roleArn' failed to satisfy constraint/);
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_connections WHERE name = $1`, [n2])).rows[0].n, 0, 'a connection that fails validation is not created');
    await c.query(`DROP CONNECTION ${n}`);
  });

  it('drops connections: unknown names fail, IF EXISTS notices, CASCADE is accepted', async () => {
    const e = await expectPgError(() => c.query('DROP CONNECTION no_such_connection'));
    assert.equal(e.message, "unknown catalog item 'no_such_connection'");
    assert.equal(e.code, '42704');
    const notices: string[] = [];
    const onNotice = (m: { message?: string }) => notices.push(m.message ?? '');
    c.on('notice', onNotice);
    const n = name('drop');
    await c.query(`CREATE CONNECTION ${n} TO AWS (ASSUME ROLE ARN = '${ARN}')`);
    const r = await c.query(`DROP CONNECTION IF EXISTS no_such_connection, ${n} CASCADE`);
    c.off('notice', onNotice);
    assert.equal(r.command, 'DROP');
    assert.deepEqual(notices, ['connection "no_such_connection" does not exist, skipping']);
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_connections WHERE name = $1`, [n])).rows[0].n, 0);
  });

  it('lists connections with SHOW CONNECTIONS (and LIKE)', async () => {
    const n = name('show');
    await c.query(`CREATE CONNECTION ${n} TO AWS (ASSUME ROLE ARN = '${ARN}')`);
    const all = await c.query('SHOW CONNECTIONS');
    assert.deepEqual(all.fields.map((f) => f.name), ['name', 'type', 'comment']);
    assert.ok(all.rows.some((r) => r.name === n && r.type === 'aws'));
    const like = await c.query(`SHOW CONNECTIONS LIKE '${n}'`);
    assert.deepEqual(like.rows, [{ name: n, type: 'aws', comment: '' }]);
  });

  it('refuses connection DDL inside a transaction', async () => {
    await c.query('BEGIN');
    const e = await expectPgError(() => c.query(`CREATE CONNECTION in_tx TO AWS (ASSUME ROLE ARN = '${ARN}')`));
    await c.query('ROLLBACK');
    assert.equal(e.code, '25001');
  });

  it('accepts CREATE MATERIALIZED VIEW (a view that is always up to date) and lists it', async () => {
    await c.query('CREATE TABLE IF NOT EXISTS cat_base (v int)');
    await c.query('DELETE FROM cat_base');
    await c.query('INSERT INTO cat_base VALUES (1), (2)');
    const r = await c.query('CREATE MATERIALIZED VIEW cat_mv IN CLUSTER quickstart AS SELECT sum(v)::int AS total FROM cat_base');
    assert.equal(r.command, 'CREATE');
    await c.query('INSERT INTO cat_base VALUES (3)');
    assert.equal((await c.query('SELECT total FROM cat_mv')).rows[0].total, 6, 'reflects later writes, like an incrementally maintained view');
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_materialized_views WHERE name = 'cat_mv'`)).rows[0].n, 1);
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_views WHERE name = 'cat_mv'`)).rows[0].n, 0);
    assert.ok((await c.query('SHOW MATERIALIZED VIEWS')).rows.some((row) => row.name === 'cat_mv'));
    await c.query('CREATE MATERIALIZED VIEW IF NOT EXISTS cat_mv AS SELECT 1');
    assert.equal((await c.query(`SELECT type FROM mz_objects WHERE name = 'cat_mv'`)).rows[0].type, 'materialized-view');
    await c.query('DROP MATERIALIZED VIEW cat_mv');
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_materialized_views WHERE name = 'cat_mv'`)).rows[0].n, 0);
    const e = await expectPgError(() => c.query('DROP MATERIALIZED VIEW cat_mv'));
    assert.equal(e.message, "unknown catalog item 'cat_mv'");
  });

  it('loads the sample dataset: a table with a NULL in every column, a view and a materialized view', async () => {
    const cols = (await c.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position`)).rows.map((r) => r.column_name);
    assert.ok(cols.length >= 10);
    for (const col of cols) {
      const n = (await c.query(`SELECT count(*)::int AS n FROM orders WHERE ${col} IS NULL`)).rows[0].n;
      assert.ok(n >= 1, `orders.${col} has a NULL`);
    }
    const types = (await c.query(`SELECT data_type FROM information_schema.columns WHERE table_name = 'orders'`)).rows.map((r) => r.data_type);
    for (const t of ['numeric', 'timestamp with time zone', 'jsonb', 'text', 'bigint']) assert.ok(types.includes(t), t);
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_views WHERE name = 'order_totals'`)).rows[0].n, 1);
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_materialized_views WHERE name = 'large_orders'`)).rows[0].n, 1);
    assert.ok((await c.query('SELECT count(*)::int AS n FROM large_orders')).rows[0].n > 0);
  });

  it('sets and shows the runtime knobs globally (ALTER SYSTEM SET / RESET / SHOW)', async () => {
    for (const [knob, value, shown] of [
      ['mz_local_fail_after_files', '3', '3'],
      ['mz_local_batch_delay_ms', '250', '250'],
      ['mz_local_drop_session_mid_copy', 'true', 'true'],
      ['mz_local_propagation_delay_seconds', '1.5', '1.5'],
    ]) {
      const before = (await c2.query(`SHOW ${knob}`)).rows[0][knob];
      await c.query(`ALTER SYSTEM SET ${knob} = ${value}`);
      assert.equal((await c2.query(`SHOW ${knob}`)).rows[0][knob], shown, `${knob} seen from another session`);
      await c2.query(`ALTER SYSTEM RESET ${knob}`);
      assert.equal((await c.query(`SHOW ${knob}`)).rows[0][knob], before);
    }
    const bad = await expectPgError(() => c.query('ALTER SYSTEM SET mz_local_batch_delay_ms = fast'));
    assert.equal(bad.code, '22023');
    const unknown = await expectPgError(() => c.query('ALTER SYSTEM SET no_such_setting = 1'));
    assert.equal(unknown.message, 'unrecognized configuration parameter "no_such_setting"');
    await c.query('ALTER SYSTEM SET enable_copy_to_expr = true');
  });

  it('keeps Materialize session variables per session', async () => {
    assert.equal((await c.query('SHOW cluster')).rows[0].cluster, 'quickstart');
    await c.query(`SET cluster = 'other'`);
    assert.equal((await c.query('SHOW cluster')).rows[0].cluster, 'other');
    assert.equal((await c2.query('SHOW cluster')).rows[0].cluster, 'quickstart');
    await c.query('RESET cluster');
    assert.equal((await c.query('SHOW cluster')).rows[0].cluster, 'quickstart');
  });

  it('persists catalog, connections and tables in --data-dir; sink ids restart', async function () {
    this.timeout(120_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mz-local-data-'));
    try {
      const s1 = await startServer(stack.moto, { dataDir: dir, workers: 1 });
      const a = await connect(s1);
      await a.query('CREATE TABLE kept (v int)');
      await a.query('INSERT INTO kept VALUES (1), (2), (3)');
      const setup = await setupExport(stack.moto, a);
      await a.query(`COPY kept TO 's3://${setup.bucket}/${setup.prefix}/before' WITH (AWS CONNECTION = ${setup.connection}, FORMAT = 'csv')`);
      const before = (await a.query(`SELECT id, external_id FROM mz_internal.mz_aws_connections`)).rows;
      await a.end();
      await s1.close();

      const s2 = await startServer(stack.moto, { dataDir: dir, workers: 1 });
      assert.equal(s2.environmentId, s1.environmentId, 'environment id persisted');
      const b = await connect(s2);
      assert.deepEqual((await b.query(`SELECT id, external_id FROM mz_internal.mz_aws_connections`)).rows, before);
      assert.equal((await b.query('SELECT count(*)::int AS n FROM kept')).rows[0].n, 3);
      const r = await b.query(`COPY kept TO 's3://${setup.bucket}/${setup.prefix}/after' WITH (AWS CONNECTION = ${setup.connection}, FORMAT = 'csv')`);
      assert.equal(r.rowCount, 3);
      assert.deepEqual(await listKeys(stack.moto, setup.bucket, `${setup.prefix}/after`), [`${setup.prefix}/after/mz-t1-batch-0000-0001.csv`], 'transient ids start over');
      assert.deepEqual(await listKeys(stack.moto, setup.bucket, `${setup.prefix}/before/`), [`${setup.prefix}/before/mz-t1-batch-0000-0001.csv`]);
      await b.end();
      await s2.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
