/** Unit tests: statement splitting/parsing, byte sizes, value conversions, CSV encoding, type mapping. */
import * as assert from 'node:assert/strict';
import { formatByteSize, parseByteSize } from '../../local/mz-local/copy/byte-size';
import { hasTopLevelOrderBy, parseS3Uri } from '../../local/mz-local/copy/copy-plan';
import { CsvEncoder } from '../../local/mz-local/copy/csv-encoder';
import {
  daysFromCivil,
  decimalToUnscaled,
  parseArrayLiteral,
  parseDate,
  parseTime,
  parseTimestamp,
} from '../../local/mz-local/copy/pg-text';
import { S3KeyManager } from '../../local/mz-local/copy/s3-keys';
import { dedupeNames, mzDebug, toArrowType, toMzScalar } from '../../local/mz-local/copy/type-mapping';
import { splitStatements, tokenize } from '../../local/mz-local/sql/lexer';
import { mzFloatText, mzJsonText, mzNumericText, TYPE_OID, valueRewrite } from '../../local/mz-local/values/mz-text';
import { parseSpecial } from '../../local/mz-local/sql/statements';

describe('mz-local SQL parsing', () => {
  it('splits statements at top-level semicolons only', () => {
    const s = splitStatements(`SELECT 'a;b'; SELECT $$x;y$$ ; -- c;\nSELECT "q;" /* ; */ ;;`);
    assert.deepEqual(
      s.map((x) => x.text),
      [`SELECT 'a;b'`, 'SELECT $$x;y$$', 'SELECT "q;"'],
    );
    assert.equal(splitStatements('  ;  ').length, 0);
  });

  it('recognizes Materialize statements and leaves SQL alone', () => {
    assert.equal(parseSpecial('SELECT 1'), null);
    assert.equal(parseSpecial('COPY t FROM STDIN'), null);
    assert.equal(parseSpecial('COPY t TO STDOUT'), null);
    assert.equal(parseSpecial('SET search_path = public'), null);
    assert.equal(parseSpecial('SHOW search_path'), null);
    assert.equal(parseSpecial("SET cluster = 'quickstart'")?.kind, 'set_session_var');
    assert.equal(parseSpecial('SHOW mz_local_fail_after_files')?.kind, 'show_var');
  });

  it('parses CREATE CONNECTION with quoted, qualified names and optional =', () => {
    const s = parseSpecial(
      `CREATE CONNECTION IF NOT EXISTS materialize.public."My Conn" TO AWS (ASSUME ROLE ARN 'arn:x', ASSUME ROLE SESSION NAME = 's', REGION = 'us-east-1') WITH (VALIDATE = false)`,
    );
    assert.ok(s && s.kind === 'create_connection');
    assert.deepEqual(s.name.parts, ['materialize', 'public', 'My Conn']);
    assert.equal(s.ifNotExists, true);
    assert.equal(s.validate, false);
    assert.deepEqual(
      s.options.map((o) => [o.name, o.value.kind === 'string' ? o.value.value : o.value.kind]),
      [
        ['ASSUME ROLE ARN', 'arn:x'],
        ['ASSUME ROLE SESSION NAME', 's'],
        ['REGION', 'us-east-1'],
      ],
    );
  });

  it('rejects unknown connection options like Materialize parser', () => {
    assert.throws(() => parseSpecial(`CREATE CONNECTION c TO AWS (BOGUS = 'x')`), /Expected one of ACCESS or ASSUME .* found identifier "bogus"/);
  });

  it('parses DROP/VALIDATE CONNECTION and ALTER SYSTEM', () => {
    const d = parseSpecial('DROP CONNECTION IF EXISTS a, s."B" CASCADE');
    assert.ok(d && d.kind === 'drop_connection');
    assert.deepEqual(d.names.map((n) => n.parts), [['a'], ['s', 'B']]);
    assert.equal(d.cascade, true);
    const v = parseSpecial('VALIDATE CONNECTION "x y"');
    assert.ok(v && v.kind === 'validate_connection');
    assert.deepEqual(v.name.parts, ['x y']);
    assert.deepEqual(parseSpecial('ALTER SYSTEM SET mz_local_batch_delay_ms = 250'), { kind: 'alter_system_set', name: 'mz_local_batch_delay_ms', value: '250' });
    assert.deepEqual(parseSpecial('ALTER SYSTEM RESET mz_local_batch_delay_ms'), { kind: 'alter_system_set', name: 'mz_local_batch_delay_ms', value: null });
  });

  it('parses COPY ... TO with expressions and options', () => {
    const c = parseSpecial(
      `COPY (SELECT a, (b) FROM t WHERE c IN (1,2)) TO 's3://b/p/' || to_char(now(), 'YYYY-MM-DD') WITH (AWS CONNECTION = s.conn, FORMAT = 'csv', MAX FILE SIZE = "100MB", HEADER)`,
    );
    assert.ok(c && c.kind === 'copy_to');
    assert.equal(c.relation.kind, 'query');
    assert.equal(c.target, `'s3://b/p/' || to_char(now(), 'YYYY-MM-DD')`);
    assert.deepEqual(
      c.options.map((o) => o.name),
      ['AWS CONNECTION', 'FORMAT', 'MAX FILE SIZE', 'HEADER'],
    );
    const named = parseSpecial(`COPY public."Orders" (a, b) TO 's3://x/y' (FORMAT parquet, AWS CONNECTION c)`);
    assert.ok(named && named.kind === 'copy_to' && named.relation.kind === 'named');
    assert.deepEqual(named.relation.columns, ['a', 'b']);
    assert.equal(named.target, `'s3://x/y'`);
  });

  it('finds top-level ORDER BY only', () => {
    assert.ok(hasTopLevelOrderBy(tokenize('SELECT * FROM t ORDER BY 1')));
    assert.ok(!hasTopLevelOrderBy(tokenize('SELECT * FROM (SELECT * FROM t ORDER BY 1) s')));
    assert.ok(!hasTopLevelOrderBy(tokenize('SELECT row_number() OVER (ORDER BY a) FROM t')));
  });

  it('parses S3 URIs like eval_copy_to_uri (src/adapter/src/coord/sequencer.rs, http::Uri) and accepts bucket-only targets', () => {
    assert.deepEqual(parseS3Uri('s3://bucket/a/b/'), { bucket: 'bucket', path: 'a/b' });
    assert.deepEqual(parseS3Uri('s3://bucket'), { bucket: 'bucket', path: '' });
    assert.deepEqual(parseS3Uri('s3://bucket/'), { bucket: 'bucket', path: '' });
    assert.throws(() => parseS3Uri('/path/'), /only 's3:\/\/...' urls are supported as COPY TO target/);
    assert.throws(() => parseS3Uri('gs://bucket/path'), /only 's3:\/\/...' urls are supported/);
    assert.throws(() => parseS3Uri('s3://my bucket/x'), /^Error: could not parse COPY TO target url: invalid uri character$|could not parse COPY TO target url: invalid uri character/);
    assert.throws(() => parseS3Uri('s3:///x'), /could not parse COPY TO target url: invalid format/);
    assert.throws(() => parseS3Uri('s3://bucket:99999/x'), /could not parse COPY TO target url: invalid port number/);
  });
});

describe('mz-local values and formats', () => {
  it('parses byte sizes with Materialize units (1024-based, case-sensitive)', () => {
    assert.equal(parseByteSize('16MB'), 16 * 1024 * 1024);
    assert.equal(parseByteSize('1 kB'), 1024);
    assert.equal(parseByteSize('500'), 500);
    assert.equal(parseByteSize('1.5kB'), 1536);
    assert.equal(parseByteSize('30.1MB'), 30822 * 1024);
    assert.throws(() => parseByteSize('1gb'), /known SI unit/);
    assert.throws(() => parseByteSize('1KB'), /known SI unit/);
    assert.equal(formatByteSize(16 * 1024 * 1024), '16MB');
    assert.equal(formatByteSize(4 * 1024 ** 3), '4GB');
  });

  it('builds object keys like S3KeyManager', () => {
    const k = new S3KeyManager('t7', 'b', '/exports/run1/');
    assert.equal(k.pathPrefix(), 'exports/run1');
    assert.equal(k.incompleteSentinelKey(), 'exports/run1/mz-t7-INCOMPLETE');
    assert.equal(k.dataKey(1, 2, 'csv'), 'exports/run1/mz-t7-batch-0001-0002.csv');
    assert.equal(k.dataKey(0, 0, 'delete_object_test'), 'exports/run1/mz-t7-batch-0000-0000.delete_object_test');
  });

  it('converts dates and times to days and microseconds', () => {
    assert.equal(daysFromCivil(1970, 1, 1), 0);
    assert.equal(parseDate('2024-01-01'), 19723);
    assert.equal(parseDate('0001-01-01 BC'), daysFromCivil(0, 1, 1));
    assert.equal(parseTime('10:10:10.5'), 36610500000n);
    assert.equal(parseTimestamp('1970-01-01 00:00:01.000001', false), 1000001n);
    assert.equal(parseTimestamp('2010-10-10 10:10:10+02', true), parseTimestamp('2010-10-10 08:10:10', false));
    assert.equal(parseTimestamp('2024-01-01 00:37:11.123456+00', true), BigInt(Date.UTC(2024, 0, 1, 0, 37, 11)) * 1000n + 123456n);
  });

  it('converts decimals to 128-bit values with Materialize errors', () => {
    assert.equal(decimalToUnscaled('1234', 38, 10), 12340000000000n);
    assert.equal(decimalToUnscaled('-123456789.12345678912345', 38, 15), -123456789123456789123450n);
    assert.equal(decimalToUnscaled('1.50', 38, 1), 15n, 'trailing zeros do not count against the scale');
    assert.equal(decimalToUnscaled('10000000000000000001', 38, 10), 100000000000000000010000000000n);
    assert.throws(() => decimalToUnscaled('5.4567890123456789', 38, 10), /cannot represent decimal value 5.4567890123456789 in column with scale 10/);
    assert.throws(() => decimalToUnscaled('12345678901234567890123.4567890123456789', 38, 16), /out of range for column with precision 38/);
    assert.throws(() => decimalToUnscaled('NaN', 38, 5), /Cannot represent special numeric value NaN in parquet/);
    assert.throws(() => decimalToUnscaled('99999999999999999999999999999999999999', 38, 10), /out of range for parquet/);
  });

  it('parses array literals with nesting, quoting and NULLs', () => {
    assert.deepEqual(parseArrayLiteral('{1,2,NULL}'), { elements: ['1', '2', null], dimensions: 1 });
    assert.deepEqual(parseArrayLiteral('{{1,2},{NULL,4}}'), { elements: ['1', '2', null, '4'], dimensions: 2 });
    assert.deepEqual(parseArrayLiteral('{"a b","c\\"d",NULL,"NULL"}'), { elements: ['a b', 'c"d', null, 'NULL'], dimensions: 1 });
    assert.deepEqual(parseArrayLiteral('{}'), { elements: [], dimensions: 0 });
    assert.deepEqual(parseArrayLiteral('[0:1]={5,6}'), { elements: ['5', '6'], dimensions: 1 });
  });

  it('prints jsonb like Materialize: compact, keys sorted by bytes, numbers reduced, serde_json escapes', () => {
    assert.equal(mzJsonText('{"s": "abc"}'), '{"s":"abc"}');
    assert.equal(mzJsonText('{"bb": 1, "a": [1, 2.50, {"z": null, "y": "x, y"}]}'), '{"a":[1,2.5,{"y":"x, y","z":null}],"bb":1}');
    assert.equal(mzJsonText('123456789012345678901234567890'), '123456789012345678901234567890');
    // Postgres orders keys by length first; Materialize by bytes
    assert.equal(mzJsonText('{"b": 1, "aa": 2, "B": 3, "é": 4}'), '{"B":3,"aa":2,"b":1,"é":4}');
    assert.equal(mzJsonText('[1.0, 0.00, -0, 1e3, 2.50E-1, 100]'), '[1,0,0,1000,0.25,100]');
    // json (not jsonb) text keeps what was written: duplicates, escapes, whitespace
    assert.equal(mzJsonText('{ "k" : 1 ,\n "k": 2 }'), '{"k":2}');
    assert.equal(mzJsonText(String.raw`"\u0041\/\n\u001f\""`), String.raw`"A/\n\u001f\""`);
    assert.equal(mzJsonText('{}'), '{}');
    assert.equal(mzJsonText('[ ]'), '[]');
    assert.equal(mzJsonText('true'), 'true');
  });

  it('prints numeric reduced and floats like format_float', () => {
    assert.equal(mzNumericText('12.30'), '12.3');
    assert.equal(mzNumericText('7.000'), '7');
    assert.equal(mzNumericText('0.00'), '0');
    assert.equal(mzNumericText('100'), '100');
    assert.equal(mzNumericText('-0.0500'), '-0.05');
    assert.equal(mzNumericText('NaN'), 'NaN');
    const f8 = (s: string) => mzFloatText(s, 64);
    const f4 = (s: string) => mzFloatText(s, 32);
    assert.equal(f8('0.1'), '0.1');
    assert.equal(f8('1e+15'), '1000000000000000');
    assert.equal(f8('1.2345e+15'), '1234500000000000');
    assert.equal(f8('1e+16'), '1e+16');
    assert.equal(f8('1.5e+300'), '1.5e+300');
    assert.equal(f8('5e-05'), '0.00005');
    assert.equal(f8('1e-05'), '0.00001');
    assert.equal(f8('1e-07'), '1e-7');
    assert.equal(f8('-1.2345678912345679e-16'), '-1.2345678912345679e-16');
    assert.equal(f8('Infinity'), 'Infinity');
    assert.equal(f8('-0'), '-0');
    assert.equal(f4('1.234567e+06'), '1234567');
    assert.equal(f4('1.2345679e+08'), '123456792', 'integer floats print their exact value');
    assert.equal(f4('1e+20'), '1e+20');
    assert.equal(f4('1.5e+13'), '15000000266240', 'the float4 nearest 1.5e13');
    assert.equal(f4('1e-06'), '0.000001');
    assert.equal(f4('1e-07'), '1e-7');
  });

  it('rewrites wire values: text and binary jsonb, binary numeric display scale', () => {
    const jsonbBin = valueRewrite(TYPE_OID.jsonb, 1)!;
    assert.deepEqual(jsonbBin(Buffer.concat([Buffer.from([1]), Buffer.from('{"b": 1, "a": 2}')])), Buffer.concat([Buffer.from([1]), Buffer.from('{"a":2,"b":1}')]));
    const numBin = valueRewrite(TYPE_OID.numeric, 1)!;
    // 12.30 as Postgres sends it: ndigits 2, weight 0, sign +, dscale 2, digits 12 3000
    const pg = Buffer.from([0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 0x0b, 0xb8]);
    assert.equal(numBin(pg).readInt16BE(6), 1, '12.3');
    const seven = Buffer.from([0, 1, 0, 0, 0, 0, 0, 3, 0, 7]);
    assert.equal(numBin(seven).readInt16BE(6), 0, '7.000 → 7');
    assert.equal(valueRewrite(25, 0), null);
    assert.equal(valueRewrite(TYPE_OID.float8, 1), null, 'binary floats are exact');
  });

  it('encodes CSV like Materialize', () => {
    const enc = new CsvEncoder({ delimiter: 0x2c, quote: 0x22, escape: 0x22, header: false, null: '' }, [null, null, null, valueRewrite(TYPE_OID.jsonb, 0), valueRewrite(TYPE_OID.numeric, 0)]);
    const row = enc.encodeRow([Buffer.from('1,2,"3"'), null, Buffer.from(''), Buffer.from('{"a": 1}'), Buffer.from('2.50')]);
    assert.equal(row.toString(), '"1,2,""3""",,"","{""a"":1}",2.5\n');
    assert.equal(new CsvEncoder({ delimiter: 0x2c, quote: 0x22, escape: 0x22, header: false, null: '' }, [null]).encodeRow([Buffer.from('\\.')]).toString(), '"\\."\n');
    const custom = new CsvEncoder({ delimiter: 0x3b, quote: 0x60, escape: 0x5c, header: true, null: 'NULL' }, [null, null, null]);
    assert.equal(custom.encodeRow([Buffer.from('a;b'), null, Buffer.from('NULL')]).toString(), '`a;b`;NULL;`NULL`\n');
    assert.equal(custom.encodeRow([Buffer.from('x`y\\z'), Buffer.from('p'), Buffer.from('line\nbreak')]).toString(), '`x\\`y\\\\z`;p;`line\nbreak`\n');
    assert.equal(custom.encodeHeader(['a', 'b;c', 'd']).toString(), 'a;`b;c`;d\n');
  });

  it('maps Postgres types to Materialize types and Arrow', () => {
    const none = new Map();
    assert.equal(mzDebug(toMzScalar(1186, -1, none)), 'Interval');
    assert.equal(toArrowType(toMzScalar(1186, -1, none)), null);
    const num = toMzScalar(1700, ((39 << 16) | 39) + 4, none);
    assert.equal(mzDebug(num), 'Numeric { max_scale: Some(NumericMaxScale(39)) }');
    assert.equal(toArrowType(num), null);
    assert.deepEqual(toArrowType(toMzScalar(1700, -1, none))?.kind, { t: 'decimal128', precision: 38, scale: 10 });
    assert.deepEqual(toArrowType(toMzScalar(1700, ((12 << 16) | 2) + 4, none))?.kind, { t: 'decimal128', precision: 38, scale: 2 });
    assert.deepEqual(toArrowType(toMzScalar(1043, 14, none))?.kind, { t: 'utf8' });
    assert.deepEqual(toArrowType(toMzScalar(25, -1, none))?.kind, { t: 'largeutf8', json: false });
    assert.deepEqual(toArrowType(toMzScalar(1184, -1, none))?.kind, { t: 'timestampus', tz: '+00:00' });
    const intArray = toMzScalar(1007, -1, new Map([[1007, { oid: 1007, name: '_int4', elem: 23, typtype: 'b', basetype: 0, category: 'A' }]]));
    assert.equal(mzDebug(intArray), 'Array(Int32)');
    assert.equal(toArrowType(intArray)?.extension, 'array');
    assert.deepEqual(dedupeNames(['a', 'b', 'a', 'a']), ['a', 'b', 'a2', 'a3']);
  });
});
