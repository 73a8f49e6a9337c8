/** COPY ... TO S3 in Parquet, read back with an independent reader (hyparquet): types, values, NULLs, metadata. */
import * as assert from 'node:assert/strict';
import type { S3Client } from '@aws-sdk/client-s3';
import * as arrow from 'apache-arrow';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import type { Client } from 'pg';
import { AuthorizedS3 } from '../../local/mz-local/aws/aws-access';
import { arrowSchema, ParquetBatchUploader } from '../../local/mz-local/copy/batch-uploaders';
import { S3KeyManager } from '../../local/mz-local/copy/s3-keys';
import { toArrowType } from '../../local/mz-local/copy/type-mapping';
import { silentLogger } from '../../local/mz-local/log';
import { awsClients, expectPgError, fakeRole, getObject, listKeys, readArrowSchema, useSuite, type ExportSetup, type SharedStack, type SuiteContext } from './helpers';

type Row = Record<string, unknown>;

const exact = {
  timestampFromMicroseconds: (v: bigint) => v,
  dateFromDays: (d: number) => d,
};

function arrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

describe('mz-local COPY TO S3 (Parquet)', function () {
  let stack: SharedStack;
  let c: Client;
  let s: ExportSetup;
  useSuite({ exportSetup: true }, (t) => ({ stack, clients: [c], setup: s } = t as Required<SuiteContext>));

  async function readAll(path: string): Promise<{ keys: string[]; rows: Row[]; files: Buffer[] }> {
    const keys = await listKeys(stack.moto, s.bucket, path + '/');
    const files = await Promise.all(keys.map((k) => getObject(stack.moto, s.bucket, k)));
    const rows: Row[] = [];
    for (const f of files) rows.push(...((await parquetReadObjects({ file: arrayBuffer(f), parsers: exact, utf8: false })) as Row[]));
    return { keys, rows, files };
  }

  const TYPES_QUERY = `
    SELECT * FROM (VALUES
      (1, 1::int2, 2::int4, 3::int8, 1.5::float4, 'Infinity'::float8, true, 'text ü', 'ch'::char(3), 'vc'::varchar(5),
       12.34::numeric(12,2), 5.5::numeric, '\\x0102ff'::bytea, '2024-02-29'::date, '10:11:12.123456'::time,
       '2024-02-29 10:11:12.123456'::timestamp, '2024-02-29 10:11:12.123456+02'::timestamptz,
       '85907cb9-ac9b-4e35-84b8-60dc69368aca'::uuid, '{"b": 1, "a": [1, 2.50]}'::jsonb,
       ARRAY[1, 2, NULL]::int[], ARRAY[['a', 'b'], ['c', NULL]]::text[]),
      (2, NULL::int2, NULL::int4, NULL::int8, NULL::float4, NULL::float8, NULL::bool, NULL::text, NULL::char(3), NULL::varchar(5),
       NULL::numeric(12,2), NULL::numeric, NULL::bytea, NULL::date, NULL::time, NULL::timestamp, NULL::timestamptz,
       NULL::uuid, NULL::jsonb, NULL::int[], NULL::text[])
    ) AS t(id, i2, i4, i8, f4, f8, b, t, ch, vc, n122, n, by, d, tm, ts, tstz, u, j, ai, at2)`;

  it('maps each type as Materialize does and round-trips values and NULLs', async () => {
    const path = `${s.prefix}/pq-types`;
    const r = await c.query(`COPY (${TYPES_QUERY}) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`);
    assert.equal(r.rowCount, 2);
    const { keys, rows, files } = await readAll(path);
    for (const k of keys) assert.match(k, /\/mz-t\d+-batch-000[01]-0000\.parquet$/, 'Parquet file numbers start at 0000');
    rows.sort((a, b) => (a.id as number) - (b.id as number));
    const [v, n] = rows;
    assert.equal(v.i2, 1);
    assert.equal(v.i4, 2);
    assert.equal(v.i8, 3n);
    assert.equal(v.f4, 1.5);
    assert.equal(v.f8, Infinity);
    assert.equal(v.b, true);
    assert.equal(v.t, 'text ü');
    assert.equal(v.ch, 'ch ');
    assert.equal(v.vc, 'vc');
    assert.equal(v.n122, 12.34);
    assert.equal(v.n, 5.5);
    assert.deepEqual(Array.from(v.by as Uint8Array), [1, 2, 255]);
    assert.equal(v.d, 19782, '2024-02-29 as days since the epoch');
    assert.equal(v.tm, 36672123456n, 'time in microseconds');
    assert.equal(v.ts, 1709201472123456n, 'timestamp in microseconds');
    assert.equal(v.tstz, 1709201472123456n - 7200000000n, 'timestamptz in UTC microseconds');
    assert.equal(Buffer.from(v.u as Uint8Array).toString('hex'), '85907cb9ac9b4e3584b860dc69368aca');
    assert.equal(v.j, '{"a":[1,2.5],"b":1}', 'jsonb as Materialize prints it: compact, keys sorted, numbers reduced');
    assert.deepEqual(v.ai, { items: [1, 2, null], dimensions: 1 });
    assert.deepEqual(v.at2, { items: ['a', 'b', 'c', null], dimensions: 2 });
    for (const [k, val] of Object.entries(n)) if (k !== 'id') assert.equal(val, null, `${k} is NULL`);

    // the file format: Parquet 1.0 from the Rust writer, Snappy, no statistics, Materialize's logical types
    for (const f of files) {
      const meta = parquetMetadata(arrayBuffer(f));
      assert.equal(meta.version, 1);
      assert.match(meta.created_by ?? '', /^parquet-rs/);
      for (const rg of meta.row_groups) {
        for (const col of rg.columns) {
          assert.equal(col.meta_data?.codec, 'SNAPPY');
          assert.equal(col.meta_data?.statistics, undefined, 'statistics off');
        }
      }
      const el = (name: string) => meta.schema.find((e) => e.name === name)!;
      assert.equal(el('i2').type, 'INT32');
      assert.equal(el('i8').type, 'INT64');
      assert.deepEqual([el('n122').type, el('n122').precision, el('n122').scale], ['FIXED_LEN_BYTE_ARRAY', 38, 2]);
      assert.deepEqual([el('n').precision, el('n').scale], [38, 10], 'unconstrained numeric: Decimal128(38, 10)');
      assert.equal(el('ts').logical_type?.type, 'TIMESTAMP');
      assert.equal((el('tstz').logical_type as { isAdjustedToUTC?: boolean }).isAdjustedToUTC, true);
      assert.equal((el('ts').logical_type as { isAdjustedToUTC?: boolean }).isAdjustedToUTC, false);
      assert.equal(el('tm').converted_type, 'TIME_MICROS');
      assert.equal(el('d').converted_type, 'DATE');
      assert.deepEqual([el('u').type, el('u').type_length], ['FIXED_LEN_BYTE_ARRAY', 16]);
      assert.equal(el('t').converted_type, 'UTF8');
      assert.equal(el('by').type, 'BYTE_ARRAY');
      assert.equal(el('id').repetition_type, 'OPTIONAL');
      // Materialize's extension names travel in the embedded Arrow schema
      const b64 = meta.key_value_metadata?.find((kv) => kv.key === 'ARROW:schema')?.value;
      assert.ok(b64, 'ARROW:schema present');
      const schema = readArrowSchema(Buffer.from(b64!, 'base64'));
      const ext = (name: string) => schema.fields.find((fl) => fl.name === name)?.metadata.get('ARROW:extension:name');
      assert.equal(ext('n'), 'materialize.v1.numeric');
      assert.equal(ext('tstz'), 'materialize.v1.timestamptz');
      assert.equal(ext('j'), 'materialize.v1.jsonb');
      assert.equal(ext('ai'), 'materialize.v1.array');
      assert.equal(schema.fields.find((fl) => fl.name === 't')?.type.toString(), 'LargeUtf8');
      assert.equal(schema.fields.find((fl) => fl.name === 'vc')?.type.toString(), 'Utf8');
    }
  });

  it('exports the sample table (NOT NULL columns become required) and all rows come back', async () => {
    await c.query('CREATE TABLE IF NOT EXISTS pq_required (id int NOT NULL, v text)');
    await c.query('INSERT INTO pq_required VALUES (1, NULL), (2, $$b$$)');
    const path = `${s.prefix}/pq-required`;
    await c.query(`COPY pq_required TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`);
    const { rows, files } = await readAll(path);
    assert.deepEqual(rows.sort((a, b) => (a.id as number) - (b.id as number)), [
      { id: 1, v: null },
      { id: 2, v: 'b' },
    ]);
    const schema = parquetMetadata(arrayBuffer(files[0])).schema;
    assert.equal(schema.find((e) => e.name === 'id')?.repetition_type, 'REQUIRED');
    assert.equal(schema.find((e) => e.name === 'v')?.repetition_type, 'OPTIONAL');

    const path2 = `${s.prefix}/pq-orders`;
    const r = await c.query(`COPY orders TO 's3://${s.bucket}/${path2}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`);
    assert.equal(r.rowCount, 1000);
    const all = await readAll(path2);
    assert.equal(all.rows.length, 1000);
    const sum = all.rows.reduce((acc, row) => acc + ((row.amount as number | null) ?? 0), 0);
    const expected = Number((await c.query('SELECT sum(amount)::float8 AS s FROM orders')).rows[0].s);
    assert.ok(Math.abs(sum - expected) < 0.01, `${sum} vs ${expected}`);
    assert.equal(all.rows.filter((row) => row.order_id === null).length, 1);
  });

  it('writes a Parquet file with no rows for an empty result', async () => {
    const path = `${s.prefix}/pq-empty`;
    const r = await c.query(`COPY (SELECT 1::int AS a WHERE false) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`);
    assert.equal(r.rowCount, 0);
    const { keys, rows, files } = await readAll(path);
    assert.equal(keys.length, 1);
    assert.match(keys[0], /batch-0000-0000\.parquet$/);
    assert.deepEqual(rows, []);
    assert.equal(Number(parquetMetadata(arrayBuffer(files[0])).num_rows), 0);
  });

  it('renames duplicate column names as Materialize does (a, a2)', async () => {
    const path = `${s.prefix}/pq-dupes`;
    await c.query(`COPY (SELECT 1 AS a, 2 AS a, 3 AS b) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`);
    const { rows } = await readAll(path);
    assert.deepEqual(rows, [{ a: 1, a2: 2, b: 3 }]);
  });

  const decimalErrors: [string, string][] = [
    ['123456789012345678901234567890123456789::numeric', 'Decimal value 123456789012345678901234567890123456789 out of range for column with precision 38'],
    ["'NaN'::numeric(10,5)", 'Cannot represent special numeric value NaN in parquet'],
    ['5.4567890123456789::numeric', 'cannot represent decimal value 5.4567890123456789 in column with scale 10'],
  ];
  for (const [expr, message] of decimalErrors) {
    it(`fails on decimals Parquet cannot hold: ${message.split(' ').slice(0, 4).join(' ')}`, async () => {
      const path = `${s.prefix}/pq-dec-${Buffer.from(expr).toString('hex').slice(0, 12)}`;
      const e = await expectPgError(() => c.query(`COPY (SELECT ${expr} AS v) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`));
      assert.equal(e.message, message);
      assert.equal(e.code, '58000');
      const keys = await listKeys(stack.moto, s.bucket, path + '/');
      assert.ok(keys.some((k) => k.endsWith('-INCOMPLETE')), 'the failure came after the preflight: the sentinel stays');
    });
  }

  it('scales values to the column scale (numeric(38,15) etc.)', async () => {
    await c.query('CREATE TABLE IF NOT EXISTS pq_t2 (a NUMERIC, b NUMERIC(38, 15), c NUMERIC(38, 0), d NUMERIC(38, 5))');
    await c.query('DELETE FROM pq_t2');
    await c.query('INSERT INTO pq_t2 VALUES (1234, -1234, 1234, 1234), (123456789.123456789, -123456789.12345678912345, 1234567890000, 123456789.12345)');
    const path = `${s.prefix}/pq-scales`;
    await c.query(`COPY pq_t2 TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`);
    const { rows, files } = await readAll(path);
    const byA = new Map(rows.map((r) => [r.a, r]));
    assert.deepEqual(byA.get(1234), { a: 1234, b: -1234, c: 1234, d: 1234 });
    assert.deepEqual(byA.get(123456789.123456789), { a: 123456789.123456789, b: -123456789.12345679, c: 1234567890000, d: 123456789.12345 });
    const scales = parquetMetadata(arrayBuffer(files[0])).schema.filter((e) => e.precision).map((e) => e.scale);
    assert.deepEqual(scales, [10, 15, 0, 5]);
  });

  it('Parquet uploader: starts a new file once the estimated size reaches the limit (approximate)', async function () {
    this.timeout(30_000);
    const { s3: client } = awsClients(stack.moto);
    const s3 = new AuthorizedS3(client as S3Client, fakeRole(), [{ name: 'all', document: { Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] } }], null, silentLogger);
    const keys = new S3KeyManager('t998', s.bucket, `${s.prefix}/pq-unit`);
    const written: [string, number][] = [];
    const limit = 256 * 1024;
    const ctx = { s3, keys, maxFileSize: limit, partSize: 5 * 1024 * 1024, onFileComplete: (k: string, n: number) => written.push([k, n]) };
    const types = [toArrowType({ kind: 'int64' })!, toArrowType({ kind: 'string' })!];
    const schema = arrowSchema([
      { name: 'id', type: types[0], nullable: false },
      { name: 'pad', type: types[1], nullable: true },
    ]);
    const up = new ParquetBatchUploader(ctx, 0, schema, types);
    await up.forceNewFile();
    const rowsIn = 20_000;
    for (let i = 0; i < rowsIn; i++) {
      const pad = Buffer.from(`${i}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`);
      await up.appendRow([Buffer.from(String(i)), pad], pad.length + 8);
    }
    await up.finish();
    assert.ok(written.length >= 3, `${written.length} files`);
    assert.deepEqual(written.map(([k]) => k.slice(k.lastIndexOf('/') + 1)).slice(0, 2), ['mz-t998-batch-0000-0000.parquet', 'mz-t998-batch-0000-0001.parquet']);
    let total = 0;
    for (const [key, size] of written) {
      assert.ok(size < limit * 1.5, `${key}: ${size} bytes is within a row group of the limit`);
      const body = await getObject(stack.moto, s.bucket, key);
      const meta = parquetMetadata(arrayBuffer(body));
      total += Number(meta.num_rows);
    }
    assert.equal(total, rowsIn);
    s3.close();
  });
});
