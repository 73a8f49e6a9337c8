/**
 * Reads a Parquet file's footer (row count, row groups, schema) from the end of the file only: the last 8
 * bytes are the footer length and "PAR1", the footer before them is a Thrift compact-protocol FileMetaData.
 * The caller supplies range reads (S3 GetObject with Range), so verifying an export never downloads its data.
 * Pure TypeScript, no Node imports.
 */
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
  const start = tail.length - 8 - footerLength;
  const reader = new CompactReader(tail.subarray(start, tail.length - 8));
  const meta = reader.readStruct();
  const version = num(meta.get(1));
  const schemaElements = (meta.get(2) as Struct[] | undefined) ?? [];
  const numRows = num(meta.get(3));
  const rowGroups = (meta.get(4) as Struct[] | undefined) ?? [];
  const createdBy = meta.get(6) instanceof Uint8Array ? utf8(meta.get(6) as Uint8Array) : undefined;
  if (schemaElements.length === 0) throw new ParquetFooterError('footer has no schema');
  return {
    numRows,
    rowGroupRows: rowGroups.reduce((sum, rg) => sum + num(rg.get(3)), 0),
    rowGroups: rowGroups.length,
    version,
    createdBy,
    schema: buildSchema(schemaElements),
    footerLength,
  };
}

// ---- schema -------------------------------------------------------------------------------------------

const PHYSICAL = ['BOOLEAN', 'INT32', 'INT64', 'INT96', 'FLOAT', 'DOUBLE', 'BYTE_ARRAY', 'FIXED_LEN_BYTE_ARRAY'];
const REPETITION = ['REQUIRED', 'OPTIONAL', 'REPEATED'] as const;
const CONVERTED = [
  'UTF8', 'MAP', 'MAP_KEY_VALUE', 'LIST', 'ENUM', 'DECIMAL', 'DATE', 'TIME_MILLIS', 'TIME_MICROS',
  'TIMESTAMP_MILLIS', 'TIMESTAMP_MICROS', 'UINT_8', 'UINT_16', 'UINT_32', 'UINT_64', 'INT_8', 'INT_16',
  'INT_32', 'INT_64', 'JSON', 'BSON', 'INTERVAL',
];
const TIME_UNITS: Record<number, string> = { 1: 'MILLIS', 2: 'MICROS', 3: 'NANOS' };

function buildSchema(elements: Struct[]): ParquetColumn[] {
  let next = 1; // element 0 is the root
  const build = (count: number): ParquetColumn[] => {
    const out: ParquetColumn[] = [];
    for (let k = 0; k < count; k++) {
      const el = elements[next++];
      if (!el) throw new ParquetFooterError('schema ends early');
      const children = el.has(5) ? num(el.get(5)) : 0;
      const type = el.get(1);
      const col: ParquetColumn = {
        name: el.get(4) instanceof Uint8Array ? utf8(el.get(4) as Uint8Array) : '',
        repetition: REPETITION[el.has(3) ? num(el.get(3)) : 0] ?? 'REQUIRED',
      };
      if (type !== undefined) col.physicalType = PHYSICAL[num(type)] ?? `TYPE_${num(type)}`;
      const logical = logicalTypeName(el);
      if (logical) col.logicalType = logical;
      if (children > 0) col.children = build(children);
      out.push(col);
    }
    return out;
  };
  const root = elements[0];
  return build(root.has(5) ? num(root.get(5)) : elements.length - 1);
}

function logicalTypeName(el: Struct): string | undefined {
  const lt = el.get(10);
  if (lt instanceof Map) {
    const [[id, v]] = [...(lt as Struct).entries()];
    const inner = v instanceof Map ? (v as Struct) : new Map();
    switch (id) {
      case 1: return 'STRING';
      case 2: return 'MAP';
      case 3: return 'LIST';
      case 4: return 'ENUM';
      case 5: return `DECIMAL(${num(inner.get(2))},${num(inner.get(1))})`;
      case 6: return 'DATE';
      case 7:
      case 8: {
        const unitStruct = inner.get(2) as Struct | undefined;
        const unit = unitStruct instanceof Map ? TIME_UNITS[[...unitStruct.keys()][0]] : '?';
        return `${id === 7 ? 'TIME' : 'TIMESTAMP'}(${unit}${inner.get(1) === true ? ',UTC' : ''})`;
      }
      case 10: return `INTEGER(${num(inner.get(1))},${inner.get(2) === false ? 'unsigned' : 'signed'})`;
      case 11: return 'NULL';
      case 12: return 'JSON';
      case 13: return 'BSON';
      case 14: return 'UUID';
      case 15: return 'FLOAT16';
      default: return `LOGICAL_${id}`;
    }
  }
  if (el.has(6)) {
    const c = CONVERTED[num(el.get(6))] ?? `CONVERTED_${num(el.get(6))}`;
    return c === 'DECIMAL' ? `DECIMAL(${num(el.get(8))},${num(el.get(7))})` : c;
  }
  return undefined;
}

// ---- Thrift compact protocol ----------------------------------------------------------------------------

type Value = boolean | number | bigint | Uint8Array | Value[] | Struct | Map<Value, Value>;
type Struct = Map<number, Value>;

const T = { STOP: 0, TRUE: 1, FALSE: 2, BYTE: 3, I16: 4, I32: 5, I64: 6, DOUBLE: 7, BINARY: 8, LIST: 9, SET: 10, MAP: 11, STRUCT: 12 };

class CompactReader {
  private pos = 0;
  private depth = 0;
  constructor(private readonly buf: Uint8Array) {}

  readStruct(): Struct {
    if (++this.depth > 64) throw new ParquetFooterError('footer nests too deeply');
    const out: Struct = new Map();
    let lastId = 0;
    for (;;) {
      const header = this.byte();
      const type = header & 0x0f;
      if (type === T.STOP) break;
      const delta = header >> 4;
      const id = delta === 0 ? this.zigzag32() : lastId + delta;
      lastId = id;
      out.set(id, type === T.TRUE ? true : type === T.FALSE ? false : this.readValue(type));
    }
    this.depth--;
    return out;
  }

  private readValue(type: number): Value {
    switch (type) {
      case T.TRUE:
      case T.FALSE:
        // Inside lists and maps a bool is one byte: 1 true, anything else false.
        return this.byte() === 1;
      case T.BYTE: {
        const b = this.byte();
        return b > 127 ? b - 256 : b;
      }
      case T.I16:
      case T.I32:
        return this.zigzag32();
      case T.I64:
        return this.zigzag64();
      case T.DOUBLE: {
        this.need(8);
        const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
        this.pos += 8;
        return v;
      }
      case T.BINARY: {
        const len = this.varint();
        this.need(len);
        const v = this.buf.subarray(this.pos, this.pos + len);
        this.pos += len;
        return v;
      }
      case T.LIST:
      case T.SET: {
        const header = this.byte();
        const size = header >> 4 === 15 ? this.varint() : header >> 4;
        const elemType = header & 0x0f;
        const out: Value[] = [];
        for (let k = 0; k < size; k++) out.push(this.readValue(elemType));
        return out;
      }
      case T.MAP: {
        const size = this.varint();
        const out = new Map<Value, Value>();
        if (size === 0) return out;
        const types = this.byte();
        for (let k = 0; k < size; k++) out.set(this.readValue(types >> 4), this.readValue(types & 0x0f));
        return out;
      }
      case T.STRUCT:
        return this.readStruct();
      default:
        throw new ParquetFooterError(`footer has an unknown Thrift type ${type} at byte ${this.pos}`);
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new ParquetFooterError('footer is truncated');
  }

  private byte(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  private varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 49) throw new ParquetFooterError('footer has a varint that is too long');
    }
  }

  private zigzag32(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  private zigzag64(): number | bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new ParquetFooterError('footer has a varint that is too long');
    }
    const v = (result >> 1n) ^ -(result & 1n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
}

function num(v: Value | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') throw new ParquetFooterError(`footer value ${v} is beyond 2^53`);
  throw new ParquetFooterError('footer lacks a required number');
}

function utf8(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
