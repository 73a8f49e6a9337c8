/**
 * Nested values: records (composite types) encoded to Parquet as structs with extension `materialize.v1.record`
 * (src/arrow-util/src/builder.rs scalar_to_arrow_datatype, SqlScalarType::Record), the text of elements inside
 * arrays and records as Materialize prints them (src/repr/src/strconv.rs format_array / format_record with
 * format_numeric, format_float), and duplicate column names (builder.rs desc_to_schema).
 */
import * as assert from 'node:assert/strict';
import type { Client } from 'pg';
import { dedupeNames } from '../../local/mz-local/copy/type-mapping';
import { formatArrayText, formatRecordText, parseRecordLiteral } from '../../local/mz-local/values/nested-text';
import { childExtensions, exportQueryCsvLines, exportQueryParquet, useSuite, type ExportSetup, type SharedStack, type SuiteContext } from './helpers';

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

  const exportParquet = (name: string, query: string) => exportQueryParquet(stack, c, s, name, query);
  const exportCsvLines = (name: string, query: string) => exportQueryCsvLines(stack, c, s, name, query);

  it('dedupes column names with the first free suffix, never colliding with later columns (desc_to_schema)', () => {
    assert.deepEqual(dedupeNames(['a', 'a', 'a2']), ['a', 'a3', 'a2']);
    assert.deepEqual(dedupeNames(['x', 'x', 'x']), ['x', 'x2', 'x3']);
    assert.deepEqual(dedupeNames(['a', 'a2', 'a', 'a']), ['a', 'a2', 'a3', 'a4']);
  });

  it('parses and re-quotes record and array literals', () => {
    assert.deepEqual(parseRecordLiteral('(1,"a b",,"x""y")'), ['1', 'a b', null, 'x"y']);
    const reduce = { format: (x: string) => x.replace(/\.?0+$/, ''), mayNeedEscaping: false };
    const text = { format: null, mayNeedEscaping: true };
    assert.equal(formatRecordText('(1.50,"a b",)', [reduce, text, text]), '(1.5,"a b",)');
    assert.equal(formatArrayText('{{1.50,NULL},{"2.0","x"}}', reduce), '{{1.5,NULL},{2,x}}');
    // ListElementEscaper: only `NULL` itself is quoted (Postgres also quotes `null`); ASCII whitespace only
    assert.equal(formatArrayText('{"null","NULL","a\\\\b","\u000b"}', text), '{null,"NULL","a\\\\b",\u000b}');
    // RecordElementEscaper doubles quotes; an array or a number inside a record is never quoted
    assert.equal(formatRecordText('("{1,2}","x""y")', [{ format: null, mayNeedEscaping: false }, text]), '({1,2},"x""y")');
  });

  it('a SELECT prints numeric, float and jsonb elements of arrays as Materialize does', async () => {
    const r = await c.query(`SELECT nums, fl, js FROM nested_t WHERE id = 1`, []);
    // node-pg parses arrays; compare the raw text through ::text-free access
    const raw = await c.query({ text: `SELECT nums, fl, js FROM nested_t WHERE id = 1`, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
    assert.deepEqual(raw.rows[0], ['{1.5,2,NULL}', '{1e+16,0.1}', '{"{\\"a\\":2.5,\\"b\\":1}"}']);
    assert.equal(r.rows.length, 1);
  });

  it('CSV writes records and arrays with Materialize\'s element forms', async () => {
    const lines = await exportCsvLines('nested-csv', 'SELECT id, p, nums, fl FROM nested_t');
    assert.deepEqual(lines, ['1,"(1.5,1e+16,""a b"")","{1.5,2,NULL}","{1e+16,0.1}"', '2,,,']);
  });

  it('Parquet encodes a record as a struct of its fields, extension materialize.v1.record', async () => {
    const { rows, schema } = await exportParquet('nested-parquet', 'SELECT id, p FROM nested_t');
    const p = rows[0].p as { n: unknown; f: number; label: string };
    assert.equal(Number(p.n), 1.5);
    assert.equal(p.f, 1e16);
    assert.equal(p.label, 'a b');
    assert.ok(rows[1].p == null, 'a NULL record is a null struct');
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

  it('an anonymous ROW(...) is a record with fields f1, f2, ... in Parquet (builder.rs, Record)', async () => {
    const { rows, schema } = await exportParquet('anon-row', `SELECT 1 AS id, ROW(7, 'a b', ARRAY[1.50]) AS r, ROW(2::int2, ROW(1, 2, 'x')::nested_pair) AS rr`);
    const r = schema.fields.find((f) => f.name === 'r')!;
    assert.equal(r.metadata.get('ARROW:extension:name'), 'materialize.v1.record');
    assert.deepEqual(childExtensions(r.type), [
      ['f1', 'materialize.v1.integer'],
      ['f2', 'materialize.v1.text'],
      ['f3', 'materialize.v1.array'],
    ]);
    const rr = schema.fields.find((f) => f.name === 'rr')!;
    assert.deepEqual(childExtensions(rr.type), [
      ['f1', 'materialize.v1.smallint'],
      ['f2', 'materialize.v1.record'],
    ]);
    const row = rows[0] as { r: { f1: number; f2: string }; rr: { f1: number; f2: { f: number; label: string } } };
    assert.equal(row.r.f1, 7);
    assert.equal(row.r.f2, 'a b');
    assert.equal(row.rr.f1, 2);
    assert.equal(row.rr.f2.label, 'x');
  });

  it('CSV prints records as format_record does: arrays and numbers inside unquoted, strings quoted (strconv.rs)', async () => {
    const lines = await exportCsvLines('anon-row-csv', `SELECT ROW(7, 'a b', ARRAY[1.50, 2], ARRAY['x y'], ROW(1.0, 2, 'q"r')::nested_pair, NULL::text) AS r`);
    assert.deepEqual(lines, ['"(7,""a b"",{1.5,2},{""x y""},""(1,2,""""q""""""""r"""")"",)"']);
  });
});
