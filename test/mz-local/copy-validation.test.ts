/** COPY ... TO validations: Materialize's messages and SQLSTATEs, and that nothing reaches S3 when they fail. */
import * as assert from 'node:assert/strict';
import type { Client } from 'pg';
import { expectPgError, listKeys, putObject, setupKeyUser, useSuite, type ExportSetup, type SharedStack, type SuiteContext } from './helpers';

describe('mz-local COPY TO validation', function () {
  let stack: SharedStack;
  let c: Client;
  let s: ExportSetup;
  let n = 0;
  const target = () => `s3://${s.bucket}/${s.prefix}/val-${String(++n).padStart(3, '0')}`;

  useSuite({ exportSetup: true }, (t) => ({ stack, clients: [c], setup: s } = t as Required<SuiteContext>));
  before(async () => {
    await c.query('CREATE TABLE IF NOT EXISTS val_t (a int, i interval, n39 numeric(39,39), ok text)');
  });

  const cases: { name: string; sql: () => string; message: string | RegExp; code?: string }[] = [
    { name: 'no AWS CONNECTION', sql: () => `COPY val_t TO '${target()}' WITH (FORMAT = 'csv')`, message: 'AWS CONNECTION is required for COPY ... TO <expr>' },
    { name: 'no FORMAT', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, MAX FILE SIZE = '20MB')`, message: 'COPY TO <expr> requires a FORMAT option' },
    { name: 'FORMAT text', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'text')`, message: 'FORMAT TEXT not yet supported' },
    { name: 'FORMAT binary', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'binary')`, message: 'FORMAT BINARY not yet supported' },
    { name: 'unknown FORMAT', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'xml')`, message: 'unknown FORMAT: xml' },
    { name: 'a non-s3 URL', sql: () => `COPY val_t TO '/path/' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: "only 's3://...' urls are supported as COPY TO target" },
    { name: 'another scheme', sql: () => `COPY val_t TO 'gs://${s.bucket}/x' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: "only 's3://...' urls are supported as COPY TO target" },
    { name: 'a NULL target', sql: () => `COPY val_t TO NULL WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: 'COPY TO target value can not be null' },
    { name: 'a NULL-valued expression', sql: () => `COPY val_t TO 's3://' || NULL::text WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: 'COPY TO target value can not be null' },
    { name: 'a non-text target', sql: () => `COPY val_t TO 1234 WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: 'COPY TO target must have type text, not type integer' },
    { name: 'mz_now() in the target', sql: () => `COPY val_t TO 's3://${s.bucket}/${s.prefix}/' || mz_now()::text WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: /^cannot call mz_now in this/ },
    { name: 'ORDER BY', sql: () => `COPY (SELECT * FROM val_t ORDER BY 1) TO NULL WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: 'ORDER BY is not supported in SELECT query for COPY statements' },
    { name: 'a column list', sql: () => `COPY val_t (a) TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: /^specifying columns for COPY <table_name> TO commands not yet supported/ },
    { name: 'SUBSCRIBE', sql: () => `COPY (SUBSCRIBE val_t) TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: /^COPY TO '.*' not supported$/ },
    { name: 'MAX FILE SIZE below 16MB', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', MAX FILE SIZE = '1kB')`, message: 'MAX FILE SIZE cannot be less than 16MB' },
    { name: 'MAX FILE SIZE above 4GB', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', MAX FILE SIZE = '5GB')`, message: 'MAX FILE SIZE cannot be greater than 4GB' },
    { name: 'an unparsable MAX FILE SIZE', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', MAX FILE SIZE = '16mb')`, message: /^invalid MAX FILE SIZE: invalid bytes value: couldn't parse "mb" into a known SI unit/ },
    // src/adapter/src/coord/sequencer.rs eval_copy_to_uri: Uri::from_str before any AWS call
    { name: 'a space in the host', sql: () => `COPY val_t TO 's3://my ${s.bucket}/x' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: 'could not parse COPY TO target url: invalid uri character' },
    { name: 'an empty URL', sql: () => `COPY val_t TO '' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: 'could not parse COPY TO target url: empty string' },
    // src/sql-parser/src/parser.rs parse_copy: only SELECT or SUBSCRIBE inside the parentheses
    { name: 'an INSERT inside COPY', sql: () => `COPY (INSERT INTO val_t (a) VALUES (1)) TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: 'unsupported query in COPY', code: '42601' },
    { name: 'an unknown option (parse_copy_option keyword order)', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', BOGUS = 1)`, message: 'Expected one of FORMAT or DELIMITER or NULL or ESCAPE or QUOTE or HEADER or AWS or MAX or FILES or PATTERN, found identifier "bogus"', code: '42601' },
    { name: 'an unknown connection', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = nope, FORMAT = 'csv')`, message: "unknown catalog item 'nope'", code: '42704' },
    { name: 'an unknown relation', sql: () => `COPY no_such_table TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: "unknown catalog item 'no_such_table'", code: '42704' },
    { name: 'a multi-byte delimiter', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', DELIMITER = '||')`, message: 'COPY delimiter must be a single one-byte character' },
    { name: 'delimiter equal to quote', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', DELIMITER = '"')`, message: 'COPY delimiter and quote must be different' },
    { name: 'a repeated option', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', FORMAT = 'csv')`, message: 'COPY option FORMAT specified more than once' },
    // names are resolved before anything is planned
    { name: 'an unknown connection before a missing FORMAT', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = nope)`, message: "unknown catalog item 'nope'", code: '42704' },
    { name: 'an unknown relation before a missing FORMAT', sql: () => `COPY no_such_table TO '${target()}' WITH (AWS CONNECTION = ${s.connection})`, message: "unknown catalog item 'no_such_table'", code: '42704' },
    { name: 'an unknown relation in a query before ORDER BY', sql: () => `COPY (SELECT * FROM no_such_table ORDER BY 1) TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: "unknown catalog item 'no_such_table'", code: '42704' },
    { name: 'an unknown schema', sql: () => `COPY nope_schema.val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: "unknown schema 'nope_schema'", code: '42704' },
    { name: 'an unknown database', sql: () => `COPY otherdb.public.val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: "unknown database 'otherdb'", code: '42704' },
    { name: 'an AWS CONNECTION that is not a connection', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = val_t, FORMAT = 'csv')`, message: 'connection "materialize.public.val_t" does not exist', code: '42704' },
    // then the options, each converted to its type
    { name: 'a HEADER that is not a boolean', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', HEADER = 'yes')`, message: 'invalid HEADER: cannot use value as boolean' },
    { name: 'a DELIMITER that is not text', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', DELIMITER = 1)`, message: 'invalid DELIMITER: cannot use value as string' },
    { name: 'a FORMAT without a value', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT)`, message: 'invalid FORMAT: must provide a string value' },
    { name: 'a repeated option before a bad value', sql: () => `COPY val_t TO '${target()}' WITH (HEADER = 'x', FORMAT = 'csv', HEADER = true)`, message: 'invalid HEADER: cannot use value as boolean' },
    { name: 'an unknown FORMAT before a missing connection', sql: () => `COPY val_t TO '${target()}' WITH (FORMAT = 'xml')`, message: 'unknown FORMAT: xml' },
    { name: 'a multi-byte quote (checked before the delimiter)', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', QUOTE = 'ab', DELIMITER = '||')`, message: 'COPY quote must be a single one-byte character' },
    { name: 'an empty escape', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', ESCAPE = '')`, message: 'COPY escape must be a single one-byte character' },
    { name: 'a multi-byte UTF-8 delimiter', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', DELIMITER = 'é')`, message: 'COPY delimiter must be a single one-byte character' },
    { name: 'a quote equal to the default delimiter', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', QUOTE = ',')`, message: 'COPY delimiter and quote must be different' },
    { name: 'MAX FILE SIZE one byte under 16MB', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', MAX FILE SIZE = 16777215)`, message: 'MAX FILE SIZE cannot be less than 16MB' },
    { name: 'MAX FILE SIZE one kB over 4GB', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', MAX FILE SIZE = '4194305kB')`, message: 'MAX FILE SIZE cannot be greater than 4GB' },
    { name: 'a boolean MAX FILE SIZE', sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', MAX FILE SIZE = true)`, message: 'invalid MAX FILE SIZE: cannot use value as bytes' },
    { name: 'a non-text target before MAX FILE SIZE', sql: () => `COPY val_t TO 42 WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', MAX FILE SIZE = '1kB')`, message: 'COPY TO target must have type text, not type integer' },
    { name: 'a CSV option error before the target type', sql: () => `COPY val_t TO 42 WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', DELIMITER = '"')`, message: 'COPY delimiter and quote must be different' },
    { name: 'MAX FILE SIZE before the NULL target', sql: () => `COPY val_t TO NULL WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', MAX FILE SIZE = '1kB')`, message: 'MAX FILE SIZE cannot be less than 16MB' },
    { name: 'mz_now() before a NULL value', sql: () => `COPY val_t TO CASE WHEN mz_now() IS NULL THEN 'x' END WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`, message: /^cannot call mz_now in this/ },
    {
      name: 'interval and numeric(39,39) in Parquet',
      sql: () => `COPY val_t TO '${target()}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`,
      message: 'Cannot encode the following columns/types: ["i: Interval", "n39: Numeric { max_scale: Some(NumericMaxScale(39)) }"]',
    },
  ];

  for (const tc of cases) {
    it(`rejects ${tc.name}`, async () => {
      const e = await expectPgError(() => c.query(tc.sql()));
      if (typeof tc.message === 'string') assert.equal(e.message, tc.message);
      else assert.match(e.message, tc.message);
      assert.equal(e.code, tc.code ?? '58000');
    });
  }

  it('wrote nothing to S3 for any of them', async () => {
    assert.deepEqual(await listKeys(stack.moto, s.bucket, `${s.prefix}/val-`), []);
    assert.equal((await c.query('SELECT count(*)::int AS n FROM val_t')).rows[0].n, 0, 'the INSERT inside COPY did not run');
  });

  it('evaluates the target expression with the engine (now() allowed)', async () => {
    const r = await c.query(
      `COPY (SELECT 1 AS one) TO 's3://${s.bucket}/${s.prefix}/expr/' || to_char(now(), 'YYYY-MM-DD') WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`,
    );
    assert.equal(r.rowCount, 1);
    const day = (await c.query(`SELECT to_char(now(), 'YYYY-MM-DD') AS d`)).rows[0].d;
    const keys = await listKeys(stack.moto, s.bucket, `${s.prefix}/expr/${day}/`);
    assert.equal(keys.length, 1);
    assert.match(keys[0], new RegExp(`^${s.prefix}/expr/${day}/mz-t\\d+-batch-0000-0001\\.csv$`));
  });

  it('accepts MAX FILE SIZE at its bounds in any form, a three-part name, and ignores COPY FROM options', async () => {
    const sizes = [`16777216`, `'16MB'`, `"4GB"`, `'4096 MB'`, `'16384.0kB'`];
    for (const [i, size] of sizes.entries()) {
      const r = await c.query(`COPY materialize.public.val_t TO 's3://${s.bucket}/${s.prefix}/bounds-${i}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv', MAX FILE SIZE = ${size})`);
      assert.equal(r.command, 'COPY', size);
    }
    const r = await c.query(
      `COPY (SELECT 1 AS one) TO 's3://${s.bucket}/${s.prefix}/from-opts' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet', FILES = ['a.csv', 'b.csv'], PATTERN = '*.csv', HEADER = true, DELIMITER = ';')`,
    );
    assert.equal(r.rowCount, 1, 'FILES and PATTERN ignored; CSV options ignored for Parquet');
  });

  it('refuses a non-empty path, matching it as a bare prefix (run1 is not empty when run10/ exists)', async () => {
    await putObject(stack.moto, s.bucket, `${s.prefix}/prefix/run10/existing.csv`);
    await putObject(stack.moto, s.bucket, `${s.prefix}/prefix/run10/other.csv`);
    const e = await expectPgError(() => c.query(`COPY val_t TO 's3://${s.bucket}/${s.prefix}/prefix/run1/' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`));
    assert.equal(e.message, 'S3 bucket path is not empty, contains 2 objects');
    assert.equal(e.code, '58000');
    assert.deepEqual(await listKeys(stack.moto, s.bucket, `${s.prefix}/prefix/run1/`), [], 'no sentinel was written');
    const ok = await c.query(`COPY val_t TO 's3://${s.bucket}/${s.prefix}/prefix/run2/' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`);
    assert.equal(ok.command, 'COPY');
  });

  it('a path used once can never be used again', async () => {
    const t = `s3://${s.bucket}/${s.prefix}/once`;
    await c.query(`COPY (SELECT 1) TO '${t}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`);
    const e = await expectPgError(() => c.query(`COPY (SELECT 1) TO '${t}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`));
    assert.equal(e.message, 'S3 bucket path is not empty, contains 1 objects');
  });
});

describe('mz-local COPY TO a bucket-only target (src/storage-types/src/sinks/s3_oneshot_sink.rs S3KeyManager with an empty path)', function () {
  let stack: SharedStack;
  let c: Client;
  let bucket: string;
  let conn: string;
  useSuite({}, (t) => ({ stack, clients: [c] } = t));
  before(async () => {
    const wholeBucket = (b: string) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: `arn:aws:s3:::${b}/*` },
          { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${b}` },
        ],
      });
    const user = await setupKeyUser(stack.moto, wholeBucket);
    bucket = user.bucket;
    conn = `bucket_only_${bucket.replace(/-/g, '_')}`;
    await c.query(`CREATE SECRET ${conn}_key AS '${user.secretAccessKey}'`);
    await c.query(`CREATE CONNECTION ${conn} TO AWS (ACCESS KEY ID = '${user.accessKeyId}', SECRET ACCESS KEY = SECRET ${conn}_key, ENDPOINT = '${stack.moto.endpoint}')`);
  });

  it('writes keys under "/" and then refuses the bucket: the emptiness check covers the whole bucket', async () => {
    const r = await c.query(`COPY (SELECT 1 AS one) TO 's3://${bucket}' WITH (AWS CONNECTION = ${conn}, FORMAT = 'csv')`);
    assert.equal(r.rowCount, 1);
    const keys = await listKeys(stack.moto, bucket, '');
    assert.ok(keys.length >= 1);
    for (const k of keys) assert.match(k, /^\/mz-t\d+-batch-\d{4}-0001\.csv$/);
    const e = await expectPgError(() => c.query(`COPY (SELECT 1 AS one) TO 's3://${bucket}/' WITH (AWS CONNECTION = ${conn}, FORMAT = 'csv')`));
    assert.equal(e.message, `S3 bucket path is not empty, contains ${keys.length} objects`);
  });
});
