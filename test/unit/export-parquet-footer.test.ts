/**
 * The footer reader against Parquet files written by parquet-rs (the writer family Materialize uses, here via
 * parquet-wasm), cross-checked with hyparquet, reading only the file's tail.
 */
import { strict as assert } from 'node:assert';
import { tableFromArrays, tableToIPC, Table as ArrowTable, vectorFromArray, List, Field, Int64, TimestampMicrosecond, Utf8 } from 'apache-arrow';
import * as pw from 'parquet-wasm/node';
import { parquetMetadata } from 'hyparquet';
import { FOOTER_GUESS_BYTES, parseParquetFooter, readParquetFooter, ParquetFooterError } from '../../activities/export/parquet-footer';

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
  });
});
