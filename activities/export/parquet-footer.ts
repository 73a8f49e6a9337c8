/**
 * Reads a Parquet file's footer (row count, row groups, schema) from the end of the file only: the last 8
 * bytes are the footer length and "PAR1", the footer before them is a Thrift FileMetaData. The caller supplies
 * range reads (S3 GetObject with Range), so verifying an export never downloads its data.
 * hyparquet, a maintained pure-JS Parquet reader, decodes the FileMetaData: we keep no Thrift decoder of our own.
 * What stays here is what the verifier needs beyond it: the read plan (hyparquet's parquetMetadataAsync makes the
 * same two reads, but parses the result without the bounds check parseParquetFooter adds), a corrupt file as a
 * ParquetFooterError while a failed or short read is not one (a fresh listing may help), int64s as safe numbers,
 * and the schema spelled as the manifest documents it.
 */
import { parquetMetadata, type FileMetaData, type SchemaElement } from 'hyparquet';
import { deserializeTCompactProtocol } from 'hyparquet/src/thrift.js';
import type { ParquetColumn } from '../../common/export/manifest';

export interface ParquetFooter {
  numRows: number;
  /** Sum of the row groups' row counts; equals numRows in a well-formed file. */
  rowGroupRows: number;
  rowGroups: number;
  version: number;
  createdBy?: string;
  schema: ParquetColumn[];
  /** Bytes of the Thrift footer (excluding the 8-byte trailer). */
  footerLength: number;
}

export class ParquetFooterError extends Error {
  override name = 'ParquetFooterError';
}

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"

/** Reads bytes `start`..`endInclusive` of the file (an S3 GetObject with a Range header, say). */
export type RangeReader = (start: number, endInclusive: number) => Promise<Uint8Array>;

/**
 * The first read's size: the file's last 4 KiB (or the whole file when it is smaller). Reading the 8-byte trailer
 * first costs two requests for every file; an export file's footer is a few hundred bytes per column (parquet-rs
 * also stores the Arrow schema there; 3.8 KiB for mz-local's sample orders table), so with this guess most files
 * cost one request. When the footer is longer, the second read fetches only the rest of it: the same two requests
 * and the same bytes as reading the trailer first. The price is at most 4 KiB a file the footer did not need.
 */
export const FOOTER_GUESS_BYTES = 4 * 1024;

/**
 * Reads the footer with at most two range reads and never more bytes than max(guess, footer + 8): the file's last
 * `guessBytes` (at least the 8-byte trailer: footer length and PAR1), then, only if the footer begins before that,
 * exactly the part of it not read yet. `guessBytes = 8` reads the trailer first and then exactly the footer.
 * `readRange` must return exactly the bytes asked for.
 */
export async function readParquetFooter(
  fileSize: number,
  readRange: RangeReader,
  guessBytes: number = FOOTER_GUESS_BYTES,
): Promise<ParquetFooter> {
  if (fileSize < 12) throw new ParquetFooterError(`${fileSize} bytes is too small for a Parquet file`);
  const tail = await readExactly(readRange, fileSize - Math.min(fileSize, Math.max(8, guessBytes)), fileSize - 1);
  const footerLength = footerLengthOf(tail);
  // The file also starts with PAR1: a footer that reaches into those 4 bytes is corrupt.
  if (footerLength + 8 > fileSize - 4) {
    throw new ParquetFooterError(`footer length ${footerLength} does not fit in a ${fileSize}-byte file`);
  }
  const needed = footerLength + 8;
  if (needed <= tail.length) return parseParquetFooter(tail);
  const head = await readExactly(readRange, fileSize - needed, fileSize - tail.length - 1);
  const whole = new Uint8Array(needed);
  whole.set(head, 0);
  whole.set(tail, head.length);
  return parseParquetFooter(whole);
}

async function readExactly(readRange: RangeReader, start: number, endInclusive: number): Promise<Uint8Array> {
  const bytes = await readRange(start, endInclusive);
  if (bytes.length !== endInclusive - start + 1) {
    // Not a ParquetFooterError: the object changed under us or the read was cut short; a fresh listing may do.
    throw new Error(`asked for bytes ${start}-${endInclusive} and got ${bytes.length} bytes`);
  }
  return bytes;
}

/** The footer length from the file's last 8 bytes (the end of `tail`), after checking the magic. */
export function footerLengthOf(tail: Uint8Array): number {
  const n = tail.length;
  if (n < 8) throw new ParquetFooterError('need the last 8 bytes of the file');
  for (let k = 0; k < 4; k++) {
    if (tail[n - 4 + k] !== MAGIC[k]) throw new ParquetFooterError('not a Parquet file: it does not end with PAR1');
  }
  return (tail[n - 8] | (tail[n - 7] << 8) | (tail[n - 6] << 16) | (tail[n - 5] << 24)) >>> 0;
}

/** Parses the footer from bytes that end with the file's end and contain the whole footer. */
export function parseParquetFooter(tail: Uint8Array): ParquetFooter {
  const footerLength = footerLengthOf(tail);
  if (footerLength + 8 > tail.length) throw new ParquetFooterError('the bytes given do not contain the whole footer');
  try {
    // hyparquet's parse is not bounded by the footer's length: Thrift cut short would read on into the trailer
    // (as if the footer length and PAR1 were fields) instead of failing. Decoding it within bounds first fails.
    const footer = new DataView(tail.buffer, tail.byteOffset + tail.length - 8 - footerLength, footerLength);
    deserializeTCompactProtocol({ view: footer, offset: 0 });
    return footerOf(parquetMetadata(tail, { geoparquet: false }));
  } catch (e) {
    throw asFooterError(e);
  }
}

/** hyparquet throws plain Errors (and a RangeError when the Thrift runs past the footer's end). */
function asFooterError(e: unknown): ParquetFooterError {
  if (e instanceof ParquetFooterError) return e;
  const reason = e instanceof Error ? e.message : String(e);
  return new ParquetFooterError(`the footer does not decode (corrupt or truncated): ${reason}`, { cause: e });
}

function footerOf(meta: FileMetaData): ParquetFooter {
  if (meta.schema.length === 0) throw new ParquetFooterError('footer has no schema');
  return {
    numRows: safeNumber(meta.num_rows),
    rowGroupRows: meta.row_groups.reduce((sum, rg) => sum + safeNumber(rg.num_rows), 0),
    rowGroups: meta.row_groups.length,
    version: safeNumber(meta.version),
    createdBy: typeof meta.created_by === 'string' ? meta.created_by : undefined,
    schema: columnsOf(meta.schema),
    footerLength: meta.metadata_length,
  };
}

/**
 * hyparquet gives Thrift's i64 as bigint (a count beyond 2^53 would silently lose digits as a number), and passes a
 * corrupt footer's values through whatever their Thrift type.
 */
function safeNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'bigint') throw new ParquetFooterError('footer lacks a required number');
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ParquetFooterError(`footer value ${v} is beyond 2^53`);
  }
  return Number(v);
}

/** The flat, depth-first schema list as a tree: each group is followed by its `num_children` subtrees. */
function columnsOf(elements: SchemaElement[]): ParquetColumn[] {
  let next = 1; // element 0 is the root
  const build = (count: number): ParquetColumn[] => {
    const out: ParquetColumn[] = [];
    for (let k = 0; k < count; k++) {
      const el = elements[next++];
      if (!el) throw new ParquetFooterError('schema ends early');
      // hyparquet passes a corrupt footer's values through: a name may be a number, so check it is text.
      if (typeof el.name !== 'string') throw new ParquetFooterError(`schema element ${next - 1} has no name`);
      const col: ParquetColumn = { name: el.name, repetition: el.repetition_type ?? 'REQUIRED' };
      if (el.type) col.physicalType = el.type;
      const annotation = annotationOf(el);
      if (annotation) col.logicalType = annotation;
      const children = el.num_children === undefined ? 0 : safeNumber(el.num_children);
      if (children > 0) col.children = build(children);
      out.push(col);
    }
    return out;
  };
  const root = elements[0];
  return build(root.num_children === undefined ? elements.length - 1 : safeNumber(root.num_children));
}

/** The logical type (else the converted type) as the manifest spells it: STRING, DECIMAL(10,2), TIMESTAMP(MICROS,UTC). */
function annotationOf(el: SchemaElement): string | undefined {
  const logical = el.logical_type;
  if (logical) {
    // A logical type hyparquet does not know stays its raw Thrift union, { field_<id>: ... }.
    if (typeof (logical as { type?: unknown }).type !== 'string') {
      const id = Object.keys(logical)[0]?.replace(/^field_/, '');
      if (id !== undefined) return `LOGICAL_${id}`;
    } else {
      switch (logical.type) {
        case 'DECIMAL':
          return `DECIMAL(${safeNumber(logical.precision)},${safeNumber(logical.scale)})`;
        case 'TIME':
        case 'TIMESTAMP':
          return `${logical.type}(${logical.unit}${logical.isAdjustedToUTC === true ? ',UTC' : ''})`;
        case 'INTEGER':
          return `INTEGER(${safeNumber(logical.bitWidth)},${logical.isSigned === false ? 'unsigned' : 'signed'})`;
        default:
          return logical.type;
      }
    }
  }
  if (el.converted_type === 'DECIMAL') return `DECIMAL(${safeNumber(el.precision)},${safeNumber(el.scale)})`;
  return el.converted_type;
}
