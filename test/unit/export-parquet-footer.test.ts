/**
 * The footer reader (hyparquet's decoder behind our read plan, errors and schema spelling) against Parquet files
 * written by parquet-rs (the writer family Materialize uses, here via parquet-wasm), reading only the file's tail,
 * and against hand-built footers no writer makes (counts beyond 2^53, no schema, converted types only).
 */
import { strict as assert } from 'node:assert';
import {
  tableFromArrays, tableToIPC, makeData, makeVector, Table as ArrowTable, vectorFromArray, List, Field, Int64,
  TimestampMicrosecond, Utf8, Int8, Uint16, Uint64, Float16, DateDay, TimeMillisecond, TimeMicrosecond,
  TimestampMillisecond, Decimal, FixedSizeBinary, LargeUtf8, Dictionary, Int32, Struct, Map_, Null,
} from 'apache-arrow';
import * as pw from 'parquet-wasm/node';
import { parquetMetadata } from 'hyparquet';
import { FOOTER_GUESS_BYTES, parseParquetFooter, readParquetFooter, ParquetFooterError } from '../../activities/export/parquet-footer';
import type { ParquetColumn } from '../../common/export/manifest';

function writeParquet(table: ArrowTable, rowGroupSize: number): Uint8Array {
  const props = new pw.WriterPropertiesBuilder().setMaxRowGroupSize(rowGroupSize).build();
  return pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, 'stream')), props);
}

/** A range reader over a file's bytes that records every range asked for. */
function recordingReader(bytes: Uint8Array) {
  const reads: [number, number][] = [];
  const read = async (start: number, end: number) => {
    reads.push([start, end]);
    return bytes.slice(start, end + 1);
  };
  return { reads, read, bytesRead: () => reads.reduce((s, [a, b]) => s + (b - a + 1), 0) };
}

/** The footer length from the file's last 8 bytes. */
function footerLength(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 4).getUint32(0, true);
}

function wideTable(rows: number, columns: number): ArrowTable {
  const cols: Record<string, BigInt64Array> = {};
  for (let c = 0; c < columns; c++) cols[`column_with_a_long_name_${c}`] = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i * c));
  return tableFromArrays(cols);
}

function hyparquetRows(bytes: Uint8Array): number {
  return Number(parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer).num_rows);
}

// A Thrift compact-protocol encoder for the few shapes a hand-built FileMetaData needs: a field header is
// (id delta << 4 | type), or the type then the zigzag id when the delta is over 15; ints are zigzag varints.
const I32 = 5, I64 = 6, BINARY = 8, LIST = 9, STRUCT = 12;
const varint = (n: bigint): number[] => (n < 0x80n ? [Number(n)] : [Number(n & 0x7fn) | 0x80, ...varint(n >> 7n)]);
const int = (v: number | bigint) => varint((BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
const text = (s: string) => [...varint(BigInt(s.length)), ...new TextEncoder().encode(s)];
const list = (structs: number[][]) => [(structs.length << 4) | STRUCT, ...structs.flat()];
function struct(fields: [id: number, type: number, payload: number[]][]): number[] {
  let last = 0;
  const out: number[] = [];
  for (const [id, type, payload] of fields) {
    out.push(...(id - last > 0 && id - last <= 15 ? [((id - last) << 4) | type] : [type, ...int(id)]), ...payload);
    last = id;
  }
  return [...out, 0];
}

/** A file whose footer is a FileMetaData with these schema elements (after the root) and row-group row counts. */
function handBuiltFile(columns: number[][], numRows: bigint = 3n, rowGroupRows: bigint[] = [numRows]): Uint8Array {
  const root = struct([[4, BINARY, text('schema')], [5, I32, int(columns.length)]]);
  const rowGroups = rowGroupRows.map((n) => struct([[1, LIST, list([])], [2, I64, int(0)], [3, I64, int(n)]]));
  const footer = struct([
    [1, I32, int(1)],
    [2, LIST, list(columns.length ? [root, ...columns] : [])],
    [3, I64, int(numRows)],
    [4, LIST, list(rowGroups)],
  ]);
  const length = new Uint8Array(new Uint32Array([footer.length]).buffer);
  return Uint8Array.from([...PAR1, ...footer, ...length, ...PAR1]);
}
const PAR1 = [0x50, 0x41, 0x52, 0x31];
const INT32_COLUMN = struct([[1, I32, int(1)], [3, I32, int(0)], [4, BINARY, text('n')]]);

/** `bytes` with its footer cut short by `cut` bytes (and the trailer's length saying so): Thrift that ends early. */
function withTruncatedFooter(bytes: Uint8Array, cut: number): Uint8Array {
  const length = footerLength(bytes);
  const out = Uint8Array.from([...bytes.subarray(0, bytes.length - 8 - cut), 0, 0, 0, 0, ...PAR1]);
  new DataView(out.buffer).setUint32(out.length - 8, length - cut, true);
  return out;
}

describe('parquet footer reader', () => {
  it('reads row count, row groups and a flat schema with two range reads at most', async () => {
    const n = 10_000;
    const table = tableFromArrays({
      id: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
      name: Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : `row ${i}`)) as string[],
      score: Float64Array.from({ length: n }, (_, i) => i / 3),
    });
    const bytes = writeParquet(table, 999);
    const { reads, read } = recordingReader(bytes);
    const footer = await readParquetFooter(bytes.length, read, 64);
    assert.equal(footer.numRows, n);
    assert.equal(footer.numRows, hyparquetRows(bytes));
    assert.equal(footer.rowGroupRows, n);
    assert.equal(footer.rowGroups, Math.ceil(n / 999));
    assert.deepEqual(footer.schema.map((c) => [c.name, c.physicalType, c.logicalType ?? null, c.repetition]), [
      ['id', 'INT64', null, 'REQUIRED'],
      ['name', 'BYTE_ARRAY', 'STRING', 'OPTIONAL'],
      ['score', 'DOUBLE', null, 'REQUIRED'],
    ]);
    assert.equal(reads.length, 2, 'a short first guess costs exactly one more read');
    assert.ok(reads.every(([s]) => s > bytes.length / 2), 'only the tail is read');
    const big = recordingReader(bytes);
    await readParquetFooter(bytes.length, big.read, footerLength(bytes) + 8);
    assert.equal(big.reads.length, 1, 'a guess that covers the footer costs one read');
  });

  it('reads at most max(guess, footer + 8) bytes of a file, each byte once, in at most two reads', async () => {
    const files = {
      'tiny (smaller than the guess)': writeParquet(tableFromArrays({ id: Int32Array.from([1, 2, 3]) }), 10),
      'small footer, large data': writeParquet(wideTable(200_000, 2), 1_000_000),
      'footer larger than the guess': writeParquet(wideTable(2_000, 40), 100),
    };
    const seen = new Set<string>();
    for (const [what, bytes] of Object.entries(files)) {
      const needed = footerLength(bytes) + 8;
      for (const guess of [8, 1024, FOOTER_GUESS_BYTES]) {
        const r = recordingReader(bytes);
        const footer = await readParquetFooter(bytes.length, r.read, guess);
        assert.equal(footer.numRows, hyparquetRows(bytes), what);
        const limit = Math.max(Math.min(guess, bytes.length), needed);
        assert.ok(r.bytesRead() <= limit, `${what}, guess ${guess}: read ${r.bytesRead()} bytes, more than ${limit}`);
        assert.ok(r.bytesRead() >= Math.min(needed, bytes.length), what);
        assert.ok(r.reads.length <= 2, `${what}, guess ${guess}: ${r.reads.length} reads`);
        // The reads are disjoint and end at the file's end: nothing is read twice.
        const sorted = [...r.reads].sort(([a], [b]) => a - b);
        for (let k = 1; k < sorted.length; k++) assert.equal(sorted[k][0], sorted[k - 1][1] + 1, `${what}: reads overlap or leave a gap`);
        assert.equal(sorted[sorted.length - 1][1], bytes.length - 1);
        if (guess === 8) {
          // Trailer first, then exactly the footer.
          assert.deepEqual(r.reads, [[bytes.length - 8, bytes.length - 1], [bytes.length - needed, bytes.length - 9]], what);
        }
        seen.add(`${what}: ${r.reads.length} read(s) with guess ${guess}`);
      }
    }
    // The cases cover both paths: a guess that covers the footer (one read) and one that does not (two).
    const large = files['small footer, large data'];
    assert.ok(large.length > 100 * FOOTER_GUESS_BYTES, `the large file is only ${large.length} bytes`);
    assert.ok(footerLength(large) + 8 <= FOOTER_GUESS_BYTES, 'a two-column footer fits the default guess');
    assert.ok(footerLength(files['footer larger than the guess']) + 8 > FOOTER_GUESS_BYTES, 'the wide footer exceeds the guess');
    assert.ok(seen.has(`small footer, large data: 1 read(s) with guess ${FOOTER_GUESS_BYTES}`), [...seen].join('\n'));
    assert.ok(seen.has(`footer larger than the guess: 2 read(s) with guess ${FOOTER_GUESS_BYTES}`), [...seen].join('\n'));
  });

  it('fails when a range read returns other bytes than asked for', async () => {
    const bytes = writeParquet(tableFromArrays({ id: Int32Array.from([1, 2, 3]) }), 10);
    await assert.rejects(
      readParquetFooter(bytes.length, async (s, e) => bytes.slice(s, e)),
      (e: Error) => e.name !== 'ParquetFooterError' && /got \d+ bytes/.test(e.message),
    );
  });

  it('describes timestamps and nested lists, and counts an empty file as zero rows', () => {
    const ts = vectorFromArray([1_700_000_000_000, null], new TimestampMicrosecond('UTC'));
    const list = vectorFromArray([[1n, 2n], [], null], new List(new Field('item', new Int64(), true)));
    const t1 = new ArrowTable({ at: ts });
    const t2 = new ArrowTable({ xs: list, s: vectorFromArray(['a', 'b', 'c'], new Utf8()) });
    const f1 = parseParquetFooter(writeParquet(t1, 100));
    assert.equal(f1.numRows, 2);
    assert.equal(f1.schema[0].logicalType, 'TIMESTAMP(MICROS,UTC)');
    const f2 = parseParquetFooter(writeParquet(t2, 100));
    assert.equal(f2.numRows, 3);
    assert.equal(f2.schema[0].logicalType, 'LIST');
    assert.equal(f2.schema[0].children?.[0].children?.[0].physicalType, 'INT64');
    const empty = parseParquetFooter(writeParquet(tableFromArrays({ id: Int32Array.from([]) }), 100));
    assert.equal(empty.numRows, 0);
    assert.equal(empty.rowGroupRows, 0);
  });

  it('rejects files that are not Parquet or are cut short', async () => {
    const bytes = writeParquet(tableFromArrays({ id: Int32Array.from([1, 2, 3]) }), 10);
    assert.throws(() => parseParquetFooter(new TextEncoder().encode('id,name\n1,a\n')), ParquetFooterError);
    assert.throws(() => parseParquetFooter(bytes.slice(bytes.length - 20)), /whole footer/);
    const corrupted = bytes.slice();
    corrupted.fill(0xff, bytes.length - 40, bytes.length - 8);
    assert.throws(() => parseParquetFooter(corrupted), ParquetFooterError);
    await assert.rejects(readParquetFooter(5, async () => new Uint8Array(5)), /too small/);
    const csv = new TextEncoder().encode('id,name\n1,a\n2,b\n');
    await assert.rejects(readParquetFooter(csv.length, recordingReader(csv).read), ParquetFooterError);
  });

  it('spells every annotation parquet-rs writes as the manifest documents it', () => {
    const n = 2;
    const entries = new Field('entries', new Struct([new Field('key', new Utf8(), false), new Field('value', new Int32(), true)]), false);
    const table = new ArrowTable({
      i8: vectorFromArray([1, 2], new Int8()),
      u16: vectorFromArray([1, 2], new Uint16()),
      u64: vectorFromArray([1n, 2n], new Uint64()),
      f16: vectorFromArray([1.5, 2], new Float16()),
      d: vectorFromArray([new Date(0), null], new DateDay()),
      tm_ms: makeVector(makeData({ type: new TimeMillisecond(), length: n, data: new Int32Array(n) })),
      tm_us: makeVector(makeData({ type: new TimeMicrosecond(), length: n, data: new BigInt64Array(n) })),
      ts: vectorFromArray([1, 2], new TimestampMicrosecond()),
      ts_utc: vectorFromArray([1, 2], new TimestampMillisecond('UTC')),
      dec: makeVector(makeData({ type: new Decimal(2, 38, 128), length: n, data: new Uint32Array(4 * n) })),
      dec9: makeVector(makeData({ type: new Decimal(3, 9, 128), length: n, data: new Uint32Array(4 * n) })),
      uuid: makeVector(makeData({ type: new FixedSizeBinary(16), length: n, data: new Uint8Array(16 * n) })),
      t: vectorFromArray(['a', null], new LargeUtf8()),
      dict: vectorFromArray(['a', 'a'], new Dictionary(new Utf8(), new Int32())),
      m: vectorFromArray([new Map([['k', 1]]), null], new Map_(entries)),
      nul: makeVector(makeData({ type: new Null(), length: n })),
    });
    const spelled = (cols: ParquetColumn[]): unknown[] =>
      cols.map((c) => [c.name, c.physicalType ?? null, c.logicalType ?? null, c.repetition, ...(c.children ? [spelled(c.children)] : [])]);
    assert.deepEqual(spelled(parseParquetFooter(writeParquet(table, 100)).schema), [
      ['i8', 'INT32', 'INTEGER(8,signed)', 'OPTIONAL'],
      ['u16', 'INT32', 'INTEGER(16,unsigned)', 'OPTIONAL'],
      ['u64', 'INT64', 'INTEGER(64,unsigned)', 'OPTIONAL'],
      ['f16', 'FIXED_LEN_BYTE_ARRAY', 'FLOAT16', 'OPTIONAL'],
      ['d', 'INT32', 'DATE', 'OPTIONAL'],
      ['tm_ms', 'INT32', 'TIME(MILLIS)', 'OPTIONAL'],
      ['tm_us', 'INT64', 'TIME(MICROS)', 'OPTIONAL'],
      ['ts', 'INT64', 'TIMESTAMP(MICROS)', 'OPTIONAL'],
      ['ts_utc', 'INT64', 'TIMESTAMP(MILLIS,UTC)', 'OPTIONAL'],
      ['dec', 'FIXED_LEN_BYTE_ARRAY', 'DECIMAL(38,2)', 'OPTIONAL'],
      ['dec9', 'INT32', 'DECIMAL(9,3)', 'OPTIONAL'],
      ['uuid', 'FIXED_LEN_BYTE_ARRAY', null, 'OPTIONAL'],
      ['t', 'BYTE_ARRAY', 'STRING', 'OPTIONAL'],
      ['dict', 'BYTE_ARRAY', 'STRING', 'OPTIONAL'],
      ['m', null, 'MAP', 'OPTIONAL', [
        ['entries', null, null, 'REPEATED', [['key', 'BYTE_ARRAY', 'STRING', 'REQUIRED'], ['value', 'INT32', null, 'OPTIONAL']]],
      ]],
      ['nul', 'INT32', 'NULL', 'REQUIRED'],
    ]);
  });

  it('spells converted types of writers without logical types, and logical types newer than hyparquet', () => {
    const decimal = struct([[1, I32, int(1)], [3, I32, int(1)], [4, BINARY, text('amount')], [6, I32, int(5)], [7, I32, int(2)], [8, I32, int(9)]]);
    const utf8 = struct([[1, I32, int(6)], [3, I32, int(1)], [4, BINARY, text('name')], [6, I32, int(0)]]);
    const future = struct([[1, I32, int(6)], [3, I32, int(2)], [4, BINARY, text('x')], [10, STRUCT, struct([[40, STRUCT, struct([])]])]]);
    const footer = parseParquetFooter(handBuiltFile([decimal, utf8, future]));
    assert.deepEqual(footer.schema, [
      { name: 'amount', repetition: 'OPTIONAL', physicalType: 'INT32', logicalType: 'DECIMAL(9,2)' },
      { name: 'name', repetition: 'OPTIONAL', physicalType: 'BYTE_ARRAY', logicalType: 'UTF8' },
      { name: 'x', repetition: 'REPEATED', physicalType: 'BYTE_ARRAY', logicalType: 'LOGICAL_40' },
    ]);
    assert.deepEqual([footer.numRows, footer.rowGroupRows, footer.rowGroups, footer.version], [3, 3, 1, 1]);
  });

  it('rejects counts beyond 2^53 and footers without a schema as corrupt files, whichever way they are read', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [handBuiltFile([INT32_COLUMN], 2n ** 53n), /footer value 9007199254740992 is beyond 2\^53/],
      [handBuiltFile([INT32_COLUMN], 3n, [1n, 2n ** 60n]), /beyond 2\^53/],
      [handBuiltFile([], 0n), /footer has no schema/],
    ];
    for (const [bytes, message] of cases) {
      assert.throws(() => parseParquetFooter(bytes), (e: Error) => e instanceof ParquetFooterError && message.test(e.message));
      for (const guess of [8, FOOTER_GUESS_BYTES]) {
        await assert.rejects(readParquetFooter(bytes.length, recordingReader(bytes).read, guess), (e: Error) => e instanceof ParquetFooterError && message.test(e.message));
      }
    }
  });

  it('rejects Thrift that ends early wherever it is cut, as a ParquetFooterError that keeps the cause', async () => {
    const bytes = writeParquet(tableFromArrays({ id: Int32Array.from([1, 2, 3]), s: ['a', 'b', 'c'] }), 10);
    const length = footerLength(bytes);
    // Cutting the last STOP byte(s): hyparquet's own parse reads on into the trailer and succeeds.
    assert.doesNotThrow(() => parquetMetadata(withTruncatedFooter(bytes, 1)), 'hyparquet alone does not notice');
    for (let cut = 1; cut < length; cut++) {
      const truncated = withTruncatedFooter(bytes, cut);
      assert.throws(() => parseParquetFooter(truncated), (e: Error) => e instanceof ParquetFooterError, `cut ${cut}`);
    }
    const truncated = withTruncatedFooter(bytes, 1);
    for (const guess of [8, FOOTER_GUESS_BYTES]) {
      await assert.rejects(
        readParquetFooter(truncated.length, recordingReader(truncated).read, guess),
        (e: Error) => e instanceof ParquetFooterError && /footer does not decode \(corrupt or truncated\): /.test(e.message) && e.cause instanceof Error,
      );
    }
  });

  it('rejects a footer longer than the file or reaching into its leading PAR1 after the first read', async () => {
    const bytes = writeParquet(tableFromArrays({ id: Int32Array.from([1, 2, 3]) }), 10);
    for (const length of [bytes.length - 8, bytes.length - 11, 2 ** 32 - 1]) {
      const bad = bytes.slice();
      new DataView(bad.buffer).setUint32(bad.length - 8, length, true);
      const r = recordingReader(bad);
      await assert.rejects(readParquetFooter(bad.length, r.read, 8), (e: Error) => e instanceof ParquetFooterError && /does not fit/.test(e.message));
      assert.equal(r.reads.length, 1, `footer length ${length}`);
    }
    const fits = bytes.slice();
    new DataView(fits.buffer).setUint32(fits.length - 8, bytes.length - 12, true);
    await assert.rejects(readParquetFooter(fits.length, recordingReader(fits).read, 8), (e: Error) => !/does not fit/.test(e.message), 'a footer that leaves the leading PAR1 fits');
  });

  it("passes the range reader's own errors through unchanged, on the first read and on the second", async () => {
    const bytes = writeParquet(wideTable(10, 40), 100);
    const failure = Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed' });
    for (const failingRead of [1, 2]) {
      let reads = 0;
      const read = async (start: number, end: number) => {
        if (++reads === failingRead) throw failure;
        return bytes.slice(start, end + 1);
      };
      await assert.rejects(readParquetFooter(bytes.length, read, 8), (e: unknown) => e === failure, `read ${failingRead}`);
      assert.equal(reads, failingRead);
    }
  });
});
