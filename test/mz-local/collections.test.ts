/**
 * Materialize's list and map types: their SQL (src/sql-parser/src/parser.rs parse_data_type, parse_list,
 * parse_map), text forms in results and CSV (src/repr/src/strconv.rs format_list, format_map, parse_list,
 * parse_map; cases from test/sqllogictest/list.slt and map.slt), and Parquet encoding
 * (src/arrow-util/src/builder.rs: List<item>, Map<entries{keys, values}>, extension names `list`/`map`;
 * test/testdrive/copy-to-s3-minio.td "Tests for nested types").
 */
import * as assert from 'node:assert/strict';
import type { Client } from 'pg';
import { parseListText, parseMapText } from '../../local/mz-local/sql/collection-literals';
import { childExtensions, exportQueryCsvLines, exportQueryParquet, useSuite, type ExportSetup, type SharedStack, type SuiteContext } from './helpers';

const asText = { getTypeParser: () => (v: string) => v };

describe('mz-local list and map types (src/repr/src/strconv.rs, src/arrow-util/src/builder.rs)', function () {
  let stack: SharedStack;
  let c: Client;
  let s: ExportSetup;
  useSuite({ exportSetup: true }, (t) => ({ stack, clients: [c], setup: s } = t as Required<SuiteContext>));

  /** The text of the single value a query returns, as the server sent it. */
  async function value(sql: string): Promise<string | null> {
    const r = await c.query({ text: sql, rowMode: 'array', types: asText });
    return r.rows[0][0] as string | null;
  }

  async function failure(sql: string): Promise<string> {
    const e = await c.query(sql).then(
      () => null,
      (err: Error) => err,
    );
    assert.ok(e, `${sql} should fail`);
    return e.message;
  }

  before(async () => {
    // test/testdrive/copy-to-s3-minio.td, "Tests for nested types"
    await c.query(`CREATE TABLE t3 (c1 real list list, c2 varchar list, c3 MAP[text=>MAP[text=>double]], c4 int[][])`);
    await c.query(`INSERT INTO t3 VALUES (LIST[[1.25, 2.5],[223.3333]], LIST['a', 'b'], '{a=>{b=>2.5}}', ARRAY[[1, 2],[3, 5]])`);
    await c.query(`INSERT INTO t3 VALUES (LIST[[0.0], NULL], NULL, NULL, NULL)`);
    await c.query(`INSERT INTO t3 VALUES (NULL, LIST[NULL], '{a=>NULL}', ARRAY[[1, 2], [NULL, NULL]]::int[][])`);
  });

  it('LIST constructors print as format_list does (test/sqllogictest/list.slt)', async () => {
    assert.equal(await value(`SELECT LIST[1,2,3]`), '{1,2,3}');
    assert.equal(await value(`SELECT LIST[[1],[2,3]]`), '{{1},{2,3}}');
    assert.equal(await value(`SELECT LIST[] :: INT LIST`), '{}');
    assert.equal(await value(`SELECT LIST[null]`), '{NULL}');
    assert.equal(await value(`SELECT LIST[1, null] :: TEXT LIST`), '{1,NULL}');
    assert.equal(await value(`SELECT LIST[[1, null], []] :: INT LIST LIST`), '{{1,NULL},{}}');
    assert.equal(await value(`SELECT LIST[[[[1], [2]]], [[[3]]]]`), '{{{{1},{2}}},{{{3}}}}');
    assert.equal(await value(`SELECT LIST['foo', 'f}o', '"\\', null, 'null', 'NULL']`), '{foo,"f}o","\\"\\\\",NULL,null,"NULL"}');
    assert.equal(await value(`SELECT list[list[list['"']]]`), '{{{"\\""}}}');
    assert.equal(await value(`SELECT LIST[LIST[]::text list, LIST['a', 'b'], LIST['z']]`), '{{},{a,b},{z}}');
    // elements in Materialize's forms: numeric reduced, integers and decimals unified to numeric
    assert.equal(await value(`SELECT LIST[1.50, 2]`), '{1.5,2}');
    assert.equal(await value(`SELECT LIST[1e16::float8, 0.5::float8]`), '{1e+16,0.5}');
    assert.equal(await value(`SELECT LIST[a::int, b::int] FROM (VALUES (1, 2)) AS v(a, b)`), '{1,2}');
    // elements naming columns: typed by the engine over the SELECT's FROM clause (not run)
    assert.equal(await value(`SELECT LIST[a, b * 2] FROM (VALUES (1, 2.50)) AS v(a, b) WHERE a > 0 ORDER BY 1`), '{1,5}');
    assert.equal(await value(`SELECT LIST[c2, LIST['z']] FROM t3 JOIN (VALUES (1)) AS o(x) ON true WHERE c2 IS NOT NULL AND c1 IS NULL`), '{{NULL},{z}}');
    assert.equal(await value(`SELECT (SELECT MAP[k => v] FROM (VALUES ('B', 2)) AS e(k, v))`), '{B=>2}');
  });

  it('::text prints lists and maps in Materialize\'s form (list.slt, map.slt)', async () => {
    assert.equal(await value(`SELECT (LIST[1,2,3])::text`), '{1,2,3}');
    assert.equal(await value(`SELECT (LIST[[1],[2,3]])::text`), '{{1},{2,3}}');
    assert.equal(await value(`SELECT (LIST['foo', 'f}o', '"\\', null, 'null', 'NULL'])::text`), '{foo,"f}o","\\"\\\\",NULL,null,"NULL"}');
    assert.equal(await value(`SELECT (LIST[1.50, NULL])::text`), '{1.5,NULL}');
    assert.equal(await value(`SELECT ('{a\\=\\>=>2}'::map[text=>int])::text`), '{"a=>"=>2}');
    assert.equal(await value(`SELECT MAP['a' => MAP['b' => 'c d']]::text`), '{a=>{b=>"c d"}}');
    assert.equal(await value(`SELECT ('{hello=>{world=>"2020-11-23"}}'::map[text=>map[text=>timestamp]])::text`), '{hello=>{world=>"2020-11-23 00:00:00"}}');
  });

  it('LIST errors are Materialize\'s (src/sql/src/plan/query.rs)', async () => {
    assert.match(await failure(`SELECT LIST[1,LIST[2,3]]`), /^LIST types integer and integer list cannot be matched$/);
    assert.match(await failure(`SELECT LIST[]`), /^cannot determine type of empty list$/);
    assert.match(await failure(`SELECT '{1}'::map[int=>bool]`), /^map key type must be text, got integer$/);
  });

  it('list and map text literals parse as parse_list / parse_map do (test/sqllogictest/map.slt)', async () => {
    assert.equal(await value(`SELECT '{a=>1}'::map[text=>int]`), '{a=>1}');
    assert.equal(await value(`SELECT '{  c  =>3, a=>     2, a => 1 }'::map[text=>int]`), '{a=>1,c=>3}');
    assert.equal(await value(`SELECT '{1=>true}'::map[text=>bool]`), '{1=>t}');
    assert.equal(await value(`SELECT '{}'::map[text=>int]`), '{}');
    assert.equal(await value(`SELECT '{a\\=\\>=>2}'::map[text=>int]`), '{"a=>"=>2}');
    assert.equal(await value(`SELECT '{13=>hello \\[\\=\\>     value\\], 31=>  normal  }'::map[text=>text]`), '{13=>"hello [=>     value]",31=>normal}');
    assert.equal(await value(`SELECT '{"a"=>"hello there!", b=>"129387123"}'::map[text=>text]`), '{a=>"hello there!",b=>129387123}');
    assert.equal(await value(`SELECT '{31=> normal \\ }'::map[text=>text]`), '{31=>"normal  "}');
    assert.equal(await value(`SELECT '{hello=>{world=>nested}}'::map[text=>map[text=>text]]`), '{hello=>{world=>nested}}');
    assert.equal(await value(`SELECT '{hello=>{world=>"2020-11-23"}}'::map[text=>map[text=>timestamp]]`), '{hello=>{world=>"2020-11-23 00:00:00"}}');
    assert.equal(await value(`SELECT '{hello=>{\\{\\}=>\\"\\"}}'::map[text=>map[text=>text]]`), '{hello=>{"{}"=>"\\"\\""}}');
    assert.equal(await value(`SELECT CAST('{1, 2}' AS int list)`), '{1,2}');
    assert.equal(await value(`SELECT '{{1},{2,3}}'::int list list`), '{{1},{2,3}}');
    assert.match(await failure(`SELECT 'a=>1'::map[text=>int]`), /^invalid input syntax for type map: expected '\{', found a: "a=>1"$/);
    assert.match(await failure(`SELECT '{a=>{a}}'::map[text=>map[text=>text]]`), /expected =>/);
    assert.match(await failure(`SELECT '{"a"=>"hello there!}'::map[text=>text]`), /unterminated quoted string/);
    assert.match(await failure(`SELECT '{hello=>{world=>true}}'::map[text=>bool]`), /unescaped '\{' at beginning of value; perhaps you want a nested map/);
    assert.match(await failure(`SELECT '{a=>1, b=>false, c=>2.0}'::map[text=>bool]`), /invalid input syntax for type boolean: "2.0"/);
    assert.deepEqual(parseListText('{ a , "b c" ,NULL, null ,\\NULL}', false), ['a', 'b c', null, null, 'NULL']);
    assert.deepEqual(parseMapText('{b=>1,a=>2,b=>3}', false), [
      ['a', '2'],
      ['b', '3'],
    ]);
  });

  it('MAP constructors keep the last value of a key and sort keys by their bytes (map_build)', async () => {
    assert.equal(await value(`SELECT MAP['a' => 1]`), '{a=>1}');
    assert.equal(await value(`SELECT MAP['a' => 1, 'b' => 2, 'a' => 3]`), '{a=>3,b=>2}');
    assert.equal(await value(`SELECT MAP['a' || 'b' => 1 + 1]`), '{ab=>2}');
    assert.equal(await value(`SELECT MAP['a' => MAP['b' => 'c']]`), '{a=>{b=>c}}');
    // keys from expressions: sorted and deduplicated when the row is built (byte order: 'B' before 'a')
    assert.equal(await value(`SELECT MAP[k => v, 'a' => 0, 'B' => 3] FROM (VALUES ('B', 2)) AS e(k, v)`), '{B=>3,a=>0}');
    assert.equal(await value(`SELECT MAP[k => v] FROM (VALUES (NULL::text, 2)) AS e(k, v)`), '{}');
  });

  it('list and map columns: CREATE TABLE, INSERT of constructors and text literals, SELECT (copy-to-s3-minio.td)', async () => {
    const r = await c.query({ text: `SELECT c1, c2, c3, c4 FROM t3 ORDER BY c1 NULLS FIRST`, rowMode: 'array', types: asText });
    assert.deepEqual(r.rows, [
      [null, '{NULL}', '{a=>NULL}', '{{1,2},{NULL,NULL}}'],
      ['{{0},NULL}', null, null, null],
      ['{{1.25,2.5},{223.3333}}', '{a,b}', '{a=>{b=>2.5}}', '{{1,2},{3,5}}'],
    ]);
  });

  it('INSERT with a column list and UPDATE ... SET write text literals and constructors to list and map columns', async () => {
    await c.query(`CREATE TABLE lm (id int, m map[text=>int], l text list)`);
    await c.query(`INSERT INTO lm (l, id) VALUES ('{a,"b c"}', 1), (LIST['x'], 2)`);
    await c.query(`UPDATE lm SET m = '{k=>1}' WHERE id = 1`);
    await c.query(`UPDATE lm AS x SET l = LIST['y', NULL], m = MAP['z' => 2] WHERE x.id = 2`);
    const r = await c.query({ text: `SELECT id, m, l FROM lm ORDER BY id`, rowMode: 'array', types: asText });
    assert.deepEqual(r.rows, [
      ['1', '{k=>1}', '{a,"b c"}'],
      ['2', '{z=>2}', '{y,NULL}'],
    ]);
  });

  it('named list and map types: CREATE TYPE ... AS LIST / AS MAP (parser.rs parse_create_type, list.slt)', async () => {
    await c.query(`CREATE TYPE int4_list_c AS LIST (ELEMENT TYPE = int4)`);
    await c.query(`CREATE TYPE int4_list_list_c AS LIST (ELEMENT TYPE = int4_list_c)`);
    await c.query(`CREATE TYPE int4_map_c AS MAP (KEY TYPE = text, VALUE TYPE = int4)`);
    assert.equal(await value(`SELECT '{1,2}'::int4_list_c::text`), '{1,2}');
    assert.equal(await value(`SELECT '{{1,2}}'::int4_list_c list::text`), '{{1,2}}');
    assert.equal(await value(`SELECT '{{1,2}}'::int4_list_list_c::text`), '{{1,2}}');
    assert.equal(await value(`SELECT pg_typeof(NULL::int4_list_c)`), 'int4_list_c');
    assert.match(
      await failure(`CREATE TYPE unnamed_element_list AS LIST (ELEMENT TYPE=int4 list)`),
      /^CREATE TYPE \.\.\. AS LIST option ELEMENT TYPE can only use named data types, but found unnamed data type int4 list\. Use CREATE TYPE to create a named type first$/,
    );
    assert.match(await failure(`CREATE TYPE bad_map AS MAP (KEY TYPE = int4, VALUE TYPE = int4)`), /^map key type must be text, got integer$/);
    await c.query(`CREATE TABLE named_lm (id int, l int4_list_c, m int4_map_c)`);
    await c.query(`INSERT INTO named_lm VALUES (1, '{3,4}', '{b=>1,a=>2}')`);
    assert.deepEqual((await c.query({ text: `SELECT l, m FROM named_lm`, rowMode: 'array', types: asText })).rows, [['{3,4}', '{a=>2,b=>1}']]);
    const { schema } = await exportQueryParquet(stack, c, s, 'named-collections', 'SELECT id, l, m FROM named_lm');
    assert.deepEqual(
      schema.fields.map((f) => f.metadata.get('ARROW:extension:name')),
      ['materialize.v1.integer', 'materialize.v1.list', 'materialize.v1.map'],
    );
  });

  it('CSV prints lists and maps as a SELECT does', async () => {
    const lines = await exportQueryCsvLines(stack, c, s, 'collections-csv', 'SELECT c1, c2, c3 FROM t3');
    // quoted only where pgcopy quotes any value: a delimiter, quote or newline inside
    assert.deepEqual(lines, ['"{{0},NULL}",,', '"{{1.25,2.5},{223.3333}}","{a,b}",{a=>{b=>2.5}}', ',{NULL},{a=>NULL}']);
  });

  it('Parquet: lists as List<item>, maps as Map<entries{keys, values}>, with extension names (builder.rs)', async () => {
    const { rows, arrowRows, schema, parquetNames } = await exportQueryParquet(stack, c, s, 'collections-parquet', 'SELECT c1, c2, c3, c4 FROM t3');
    const field = (name: string) => schema.fields.find((f) => f.name === name)!;
    assert.equal(field('c1').metadata.get('ARROW:extension:name'), 'materialize.v1.list');
    assert.equal(String(field('c1').type), 'List<List<Float32>>');
    assert.deepEqual(childExtensions(field('c1').type), [['item', 'materialize.v1.list']]);
    assert.deepEqual(childExtensions((field('c1').type as unknown as { children: { type: unknown }[] }).children[0].type), [['item', 'materialize.v1.real']]);
    assert.equal(String(field('c2').type), 'List<LargeUtf8>');
    assert.equal(field('c3').metadata.get('ARROW:extension:name'), 'materialize.v1.map');
    const entries = (field('c3').type as unknown as { children: { name: string; nullable: boolean; type: unknown }[] }).children[0];
    assert.equal(entries.name, 'entries');
    assert.equal(entries.nullable, false);
    assert.deepEqual(childExtensions(entries.type).map(([, ext]) => ext), [undefined, 'materialize.v1.map']);
    // MapFieldNames::default(): entries { keys, values } (apache-arrow's reader calls them key/value)
    const c3 = parquetNames.indexOf('c3');
    assert.deepEqual(parquetNames.slice(c3, c3 + 4), ['c3', 'entries', 'keys', 'values']);
    assert.equal(field('c4').metadata.get('ARROW:extension:name'), 'materialize.v1.array');
    // the rows as s3-verify-data shows them: [[1.25, 2.5], [223.3333]] [a, b] {a: {b: 2.5}} ...
    const show = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === 'number' ? Math.round(x * 1e4) / 1e4 : x));
    const mapOf = (r: Record<string, unknown>) => show(arrowRows.find((a) => show(a.c1) === show(r.c1))?.c3);
    const shown = rows.map((r) => [show(r.c1), show(r.c2), mapOf(r), show(r.c4)]).sort();
    assert.deepEqual(shown, [
      ['[[0],null]', 'null', 'null', 'null'],
      ['[[1.25,2.5],[223.3333]]', '["a","b"]', '{"a":{"b":2.5}}', '{"items":[1,2,3,5],"dimensions":2}'],
      ['null', '[null]', '{"a":null}', '{"items":[1,2,null,null],"dimensions":2}'],
    ]);
  });

  it('a list of a type Parquet cannot encode fails as Materialize does', async () => {
    await c.query(`CREATE TABLE iv_list (l interval list)`);
    assert.match(
      await failure(`COPY iv_list TO 's3://${s.bucket}/${s.prefix}/iv-list' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`),
      /^Cannot encode the following columns\/types: \["l: List \{ element_type: Interval, custom_id: None \}"\]$/,
    );
  });
});
