/** COPY ... TO S3 in CSV: files, naming, sentinel, contents read back with a CSV parser, file splitting. */
import * as assert from 'node:assert/strict';
import { S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import type { Client, QueryConfig } from 'pg';
import { AuthorizedS3 } from '../../local/mz-local/aws/aws-access';
import { CsvBatchUploader } from '../../local/mz-local/copy/batch-uploaders';
import { CsvEncoder } from '../../local/mz-local/copy/csv-encoder';
import { S3KeyManager } from '../../local/mz-local/copy/s3-keys';
import { silentLogger } from '../../local/mz-local/log';
import { awsClients, fakeRole, getObject, listKeys, useSuite, type ExportSetup, type SharedStack, type SuiteContext } from './helpers';

const rawText = { types: { getTypeParser: (() => (v: string) => v) as never } };

describe('mz-local COPY TO S3 (CSV)', function () {
  let stack: SharedStack;
  let c: Client;
  let s: ExportSetup;
  useSuite({ exportSetup: true }, (t) => ({ stack, clients: [c], setup: s } = t as Required<SuiteContext>));

  async function files(path: string): Promise<{ key: string; body: string }[]> {
    const keys = await listKeys(stack.moto, s.bucket, path + '/');
    return Promise.all(keys.map(async (key) => ({ key, body: (await getObject(stack.moto, s.bucket, key)).toString('utf8') })));
  }

  it('exports a table: batch files named by sink id, sentinel removed, COPY n returned, values in text form', async () => {
    const path = `${s.prefix}/csv-orders`;
    const r = await c.query(`COPY orders TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', HEADER = true)`);
    assert.equal(r.command, 'COPY');
    assert.equal(r.rowCount, 1000);
    const out = await files(path);
    const sinkId = /mz-(t\d+)-/.exec(out[0].key)![1];
    assert.deepEqual(
      out.map((f) => f.key),
      [`${path}/mz-${sinkId}-batch-0000-0001.csv`, `${path}/mz-${sinkId}-batch-0001-0001.csv`],
      'two batches (--workers 2), CSV file numbers start at 0001, no sentinel left',
    );
    const header = 'order_id,customer,quantity,amount,discount,shipped,order_date,ordered_at,tracking_id,attributes,tags';
    const parsed: string[][] = [];
    for (const f of out) {
      assert.equal(f.body.split('\n')[0], header, 'every file starts with the header');
      const rows = parse(f.body, { from_line: 2 }) as string[][];
      parsed.push(...rows);
    }
    assert.equal(parsed.length, 1000);
    const expected = await c.query({ text: 'SELECT * FROM orders', rowMode: 'array', ...rawText });
    const key = (row: (string | null)[]) => row[0] ?? '';
    const byId = new Map(parsed.map((row) => [row[0], row]));
    for (const row of expected.rows as (string | null)[][]) {
      const got = byId.get(key(row));
      assert.ok(got, `row ${key(row)} exported`);
      row.forEach((v, i) => {
        if (i === 9 && v !== null) assert.deepEqual(JSON.parse(got[i]), JSON.parse(v), 'jsonb');
        else assert.equal(got[i], v ?? '', `column ${i} of row ${key(row)}`);
      });
    }
    const nullRow = out.flatMap((f) => f.body.split('\n')).find((l) => l.startsWith(',,'));
    assert.equal(nullRow, ',,,,,,,,,,', 'NULLs are empty unquoted fields');
  });

  it('prints values like Materialize: NULL unquoted, empty string quoted, jsonb compact, arrays as text', async () => {
    const path = `${s.prefix}/csv-forms`;
    await c.query(
      `COPY (SELECT NULL::text AS n, ''::text AS e, 'a,b "c"' AS q, '{"b": 1, "a": [1, 2]}'::jsonb AS j, ARRAY[1,2]::int[] AS arr,
                    'Infinity'::float8 AS inf, '2010-10-10 10:10:10+02'::timestamptz AS tz, '\\xAAAA'::bytea AS by, true AS t)
       TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`,
    );
    const body = (await files(path)).map((f) => f.body).join('');
    assert.equal(body, ',"","a,b ""c""","{""a"":[1,2],""b"":1}","{1,2}",Infinity,2010-10-10 08:10:10+00,\\xaaaa,t\n');
  });

  it('prints jsonb, numeric and floats in CSV exactly as a SELECT returns them (Materialize text forms)', async () => {
    const path = `${s.prefix}/csv-agree`;
    const query = `SELECT '{"b": 1, "aa": [1.50, {"é": 2e3}]}'::jsonb AS j, 12.30::numeric(10,2) AS n, 1e15::float8 AS f, 0.00005::float8 AS s, 123456789::float4 AS r`;
    await c.query(`COPY (${query}) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', QUOTE = '\`')`);
    const body = (await files(path)).map((f) => f.body).join('');
    const selected = (await c.query({ text: query, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } })).rows[0] as string[];
    assert.deepEqual(selected, ['{"aa":[1.5,{"é":2000}],"b":1}', '12.3', '1000000000000000', '0.00005', '123456792']);
    assert.equal(body, `\`${selected[0]}\`,${selected.slice(1).join(',')}\n`);
  });

  it('honours DELIMITER, QUOTE, ESCAPE and NULL', async () => {
    const path = `${s.prefix}/csv-options`;
    await c.query(
      `COPY (SELECT ARRAY[1,2]::int[] AS "array", 83647::integer AS int4, '{"s": "ab\`c"}'::jsonb AS jsonb, NULL::text AS n, 'NULL' AS literal)
       TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', DELIMITER = ';', QUOTE = '\`', HEADER = true, NULL = 'NULL')`,
    );
    const body = (await files(path)).map((f) => f.body).join('');
    assert.equal(body, 'array;int4;jsonb;n;literal\n{1,2};83647;`{"s":"ab``c"}`;NULL;`NULL`\n');
    const path2 = `${s.prefix}/csv-escape`;
    await c.query(`COPY (SELECT 'x"y\\z' AS v, 'p' AS w) TO 's3://${s.bucket}/${path2}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', ESCAPE = '\\')`);
    assert.equal((await files(path2)).map((f) => f.body).join(''), '"x\\"y\\\\z",p\n');
  });

  it('writes one file for batch 0 even when the result is empty', async () => {
    for (const header of [true, false]) {
      const path = `${s.prefix}/csv-empty-${header}`;
      const r = await c.query(`COPY (SELECT 1 AS a, 2 AS b WHERE false) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', HEADER = ${header})`);
      assert.equal(r.rowCount, 0);
      const out = await files(path);
      assert.equal(out.length, 1);
      assert.match(out[0].key, /mz-t\d+-batch-0000-0001\.csv$/);
      assert.equal(out[0].body, header ? 'a,b\n' : '');
    }
  });

  it('runs over the extended protocol (Parse/Bind/Execute) as well', async () => {
    const path = `${s.prefix}/csv-extended`;
    const r = await c.query({ text: `COPY (SELECT 1 AS a) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, queryMode: 'extended' } as QueryConfig);
    assert.equal(r.command, 'COPY');
    assert.equal(r.rowCount, 1);
    assert.equal((await files(path)).map((f) => f.body).join(''), '1\n');
  });

  it('runs inside a read transaction', async () => {
    const path = `${s.prefix}/csv-in-tx`;
    await c.query('BEGIN');
    const r = await c.query(`COPY (SELECT generate_series(1, 10) AS g) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`);
    await c.query('COMMIT');
    assert.equal(r.rowCount, 10);
    const values = (await files(path)).flatMap((f) => f.body.trim().split('\n')).map(Number).sort((a, b) => a - b);
    assert.deepEqual(values, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('splits each batch into files that never exceed MAX FILE SIZE (16MB), each with the header', async function () {
    this.timeout(120_000);
    const path = `${s.prefix}/csv-split`;
    const r = await c.query(
      `COPY (SELECT g, repeat(md5(g::text), 3) AS pad FROM generate_series(1, 370000) g)
       TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', MAX FILE SIZE = '16MB', HEADER = true)`,
    );
    assert.equal(r.rowCount, 370000);
    const { s3 } = awsClients(stack.moto);
    const keys = await listKeys(stack.moto, s.bucket, path + '/');
    const names = keys.map((k) => k.slice(k.lastIndexOf('/') + 1).replace(/^mz-t\d+-/, ''));
    assert.ok(names.includes('batch-0000-0001.csv') && names.includes('batch-0000-0002.csv'), names.join());
    assert.ok(names.includes('batch-0001-0001.csv') && names.includes('batch-0001-0002.csv'), names.join());
    let total = 0;
    for (const key of keys) {
      const body = await getObject(stack.moto, s.bucket, key);
      assert.ok(body.length <= 16 * 1024 * 1024, `${key} is ${body.length} bytes`);
      const lines = body.toString('utf8').split('\n');
      assert.equal(lines[0], 'g,pad');
      total += lines.length - 2;
    }
    assert.equal(total, 370000);
    s3.destroy();
  });

  it('CSV uploader: starts a new file before a row would exceed the limit (never over it)', async () => {
    const { s3: client } = awsClients(stack.moto);
    const s3 = new AuthorizedS3(client as S3Client, fakeRole(), [{ name: 'all', document: { Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] } }], null, silentLogger);
    const keys = new S3KeyManager('t999', s.bucket, `${s.prefix}/csv-unit`);
    const written: [string, number][] = [];
    const ctx = { s3, keys, maxFileSize: 100, partSize: 5 * 1024 * 1024, onFileComplete: (k: string, n: number) => written.push([k, n]) };
    const encoder = new CsvEncoder({ delimiter: 0x2c, quote: 0x22, escape: 0x22, header: true, null: '' }, [null]);
    const up = new CsvBatchUploader(ctx, 3, encoder, encoder.encodeHeader(['value']));
    for (let i = 0; i < 31; i++) await up.appendRow([Buffer.from(`row-${String(i).padStart(4, '0')}`)]);
    await up.finish();
    assert.deepEqual(
      written.map(([k]) => k.slice(k.lastIndexOf('/') + 1)),
      ['mz-t999-batch-0003-0001.csv', 'mz-t999-batch-0003-0002.csv', 'mz-t999-batch-0003-0003.csv', 'mz-t999-batch-0003-0004.csv'],
    );
    for (const [, n] of written) assert.ok(n <= 100);
    assert.equal(written[0][1], 6 + 10 * 9, 'header (6 bytes) + 10 rows of 9 bytes fit in 100 bytes, an 11th would not');
    assert.equal(written[3][1], 6 + 9);
    s3.close();
  });
});

