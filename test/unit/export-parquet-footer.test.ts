/**
 * The footer reader against Parquet files written by parquet-rs (the writer family Materialize uses, here via
 * parquet-wasm), cross-checked with hyparquet, reading only the file's tail.
 */
import { strict as assert } from 'node:assert';
import { tableFromArrays, tableToIPC, Table as ArrowTable, vectorFromArray, List, Field, Int64, TimestampMicrosecond, Utf8 } from 'apache-arrow';
import * as pw from 'parquet-wasm/node';
import { parquetMetadata } from 'hyparquet';
import { parseParquetFooter, readParquetFooter, ParquetFooterError } from '../../lib/parquet-footer';

function writeParquet(table: ArrowTable, rowGroupSize: number): Uint8Array {
  const props = new pw.WriterPropertiesBuilder().setMaxRowGroupSize(rowGroupSize).build();
  return pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, 'stream')), props);
}

function hyparquetRows(bytes: Uint8Array): number {
  return Number(parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer).num_rows);
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
    const reads: [number, number][] = [];
    const footer = await readParquetFooter(bytes.length, async (start, end) => {
      reads.push([start, end]);
      return bytes.slice(start, end + 1);
    }, 64);
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
    const oneRead: number[] = [];
    await readParquetFooter(bytes.length, async (s, e) => (oneRead.push(s), bytes.slice(s, e + 1)));
    assert.equal(oneRead.length, 1);
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
  });
});
