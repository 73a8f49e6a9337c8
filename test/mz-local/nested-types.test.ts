/**
 * Nested values: records (composite types) encoded to Parquet as structs with extension `materialize.v1.record`
 * (src/arrow-util/src/builder.rs scalar_to_arrow_datatype, SqlScalarType::Record), the text of elements inside
 * arrays and records as Materialize prints them (src/repr/src/strconv.rs format_array / format_record with
 * format_numeric, format_float), and duplicate column names (builder.rs desc_to_schema).
 */
import * as assert from 'node:assert/strict';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import type { Client } from 'pg';
import { dedupeNames } from '../../local/mz-local/copy/type-mapping';
import { parseRecordLiteral, rewriteArrayText, rewriteRecordText } from '../../local/mz-local/values/nested-text';
import { getObject, listKeys, readArrowSchema, useSuite, type ExportSetup, type SharedStack, type SuiteContext } from './helpers';

describe('mz-local nested values (src/arrow-util/src/builder.rs, src/repr/src/strconv.rs)', function () {
  let stack: SharedStack;
  let c: Client;
  let s: ExportSetup;
  useSuite({ exportSetup: true }, (t) => ({ stack, clients: [c], setup: s } = t as Required<SuiteContext>));

  before(async () => {
    await c.query(`CREATE TYPE nested_pair AS (n numeric, f float8, label text)`);
    await c.query(`CREATE TABLE nested_t (id int, p nested_pair, nums numeric[], fl float8[], js jsonb[])`);
    await c.query(`INSERT INTO nested_t VALUES
      (1, ROW(1.50, 1e16, 'a b')::nested_pair, ARRAY[1.50, 2.000, NULL], ARRAY[1e16, 0.1], ARRAY['{"b": 1, "a": 2.50}'::jsonb]),
      (2, NULL, NULL, NULL, NULL)`);
  });

  it('dedupes column names with the first free suffix, never colliding with later columns (desc_to_schema)', () => {
    assert.deepEqual(dedupeNames(['a', 'a', 'a2']), ['a', 'a3', 'a2']);
    assert.deepEqual(dedupeNames(['x', 'x', 'x']), ['x', 'x2', 'x3']);
    assert.deepEqual(dedupeNames(['a', 'a2', 'a', 'a']), ['a', 'a2', 'a3', 'a4']);
  });

  it('parses and re-quotes record and array literals', () => {
    assert.deepEqual(parseRecordLiteral('(1,"a b",,"x""y")'), ['1', 'a b', null, 'x"y']);
    assert.equal(rewriteRecordText('(1.50,"a b",)', [(x) => x.replace(/0+$/, ''), null, null]), '(1.5,"a b",)');
    assert.equal(rewriteArrayText('{{1.50,NULL},{"2.0","x"}}', (x) => x.replace(/\.?0+$/, '')), '{{1.5,NULL},{2,x}}');
  });

  it('a SELECT prints numeric, float and jsonb elements of arrays as Materialize does', async () => {
    const r = await c.query(`SELECT nums, fl, js FROM nested_t WHERE id = 1`, []);
    // node-pg parses arrays; compare the raw text through ::text-free access
    const raw = await c.query({ text: `SELECT nums, fl, js FROM nested_t WHERE id = 1`, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
    assert.deepEqual(raw.rows[0], ['{1.5,2,NULL}', '{1e+16,0.1}', '{"{\\"a\\":2.5,\\"b\\":1}"}']);
    assert.equal(r.rows.length, 1);
  });

  it('CSV writes records and arrays with Materialize\'s element forms', async () => {
    const path = `${s.prefix}/nested-csv`;
    await c.query(`COPY (SELECT id, p, nums, fl FROM nested_t) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`);
    const keys = await listKeys(stack.moto, s.bucket, path + '/');
    const text = (await Promise.all(keys.map((k) => getObject(stack.moto, s.bucket, k)))).map((b) => b.toString('utf8')).join('');
    const lines = text.split('\n').filter(Boolean).sort();
    assert.deepEqual(lines, ['1,"(1.5,1e+16,""a b"")","{1.5,2,NULL}","{1e+16,0.1}"', '2,,,']);
  });

  it('Parquet encodes a record as a struct of its fields, extension materialize.v1.record', async () => {
    const path = `${s.prefix}/nested-parquet`;
    await c.query(`COPY (SELECT id, p FROM nested_t) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`);
    const keys = await listKeys(stack.moto, s.bucket, path + '/');
    const rows: Record<string, unknown>[] = [];
    let schemaB64: string | undefined;
    for (const k of keys) {
      const f = await getObject(stack.moto, s.bucket, k);
      const ab = f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) as ArrayBuffer;
      rows.push(...((await parquetReadObjects({ file: ab })) as Record<string, unknown>[]));
      schemaB64 ??= parquetMetadata(ab).key_value_metadata?.find((kv) => kv.key === 'ARROW:schema')?.value;
    }
    rows.sort((a, b) => (a.id as number) - (b.id as number));
    const p = rows[0].p as { n: unknown; f: number; label: string };
    assert.equal(Number(p.n), 1.5);
    assert.equal(p.f, 1e16);
    assert.equal(p.label, 'a b');
    assert.ok(rows[1].p == null, 'a NULL record is a null struct');
    const schema = readArrowSchema(Buffer.from(schemaB64!, 'base64'));
    const field = schema.fields.find((fl) => fl.name === 'p')!;
    assert.equal(field.metadata.get('ARROW:extension:name'), 'materialize.v1.record');
    assert.deepEqual(
      (field.type as unknown as { children: { name: string; metadata: Map<string, string> }[] }).children.map((ch) => [ch.name, ch.metadata.get('ARROW:extension:name')]),
      [
        ['n', 'materialize.v1.numeric'],
        ['f', 'materialize.v1.double'],
        ['label', 'materialize.v1.text'],
      ],
    );
  });
});
