/**
 * Follows the engine's raw backend output across chunk boundaries: finds ReadyForQuery (to learn the
 * transaction status), notices ErrorResponses, and can drop ReadyForQuery messages when several engine
 * round-trips make up one client response. It learns the columns of each RowDescription and, when a
 * result has columns whose values Materialize prints differently (jsonb, numeric, floats), rewrites its
 * DataRows (../values/mz-text.ts). Everything else is forwarded byte for byte.
 */
import type { ErrorFields } from '../errors';
import { mzTextRewrite, type MzScalar } from '../copy/type-mapping';
import { valueRewrite, type ValueRewrite } from '../values/mz-text';

/** Materialize's types of the engine types mz-local defines itself (lists and maps), by type OID. */
export type DefinedTypes = (typeOid: number) => MzScalar | undefined;
import { Reader } from './wire';

export class BackendStreamScanner {
  /** Transaction status of the last ReadyForQuery seen. */
  status: 'I' | 'T' | 'E' | null = null;
  /** The first error seen, if any. */
  error: ErrorFields | null = null;
  /** Message types seen, in order (for tests and diagnostics). */
  readonly types: string[] = [];
  /** The columns of the last RowDescription seen. */
  lastDescription: ColumnDescription[] | null = null;
  /** Whether a NoData was seen. */
  sawNoData = false;
  /**
   * The rewrite applied to DataRows: set from each RowDescription, or by the caller before an Execute
   * (whose rows come without a description).
   */
  rows: RowRewriter | null;

  private header = Buffer.alloc(5);
  private headerLen = 0;
  private remaining = 0;
  private dropping = false;
  private holding = false;
  private capture: Buffer[] | null = null;
  private type = '';

  constructor(private readonly opts: { dropReadyForQuery?: boolean; recordTypes?: boolean; rows?: RowRewriter | null; definedTypes?: DefinedTypes } = {}) {
    this.rows = opts.rows ?? null;
  }

  /** Returns the parts of `chunk` to forward to the client. */
  feed(chunk: Uint8Array): Buffer[] {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Buffer[] = [];
    let i = 0;
    let fwdStart = 0;
    const flushForward = (end: number) => {
      if (end > fwdStart) out.push(buf.subarray(fwdStart, end));
      fwdStart = end;
    };
    while (i < buf.length) {
      if (this.remaining === 0 && this.headerLen < 5) {
        // reading a header
        if (this.headerLen === 0) {
          this.type = String.fromCharCode(buf[i]);
          this.dropping = this.type === 'Z' && !!this.opts.dropReadyForQuery;
          // a DataRow to rewrite is held back until it is complete
          this.holding = this.type === 'D' && this.rows !== null;
          if (this.dropping || this.holding) flushForward(i);
        }
        const take = Math.min(5 - this.headerLen, buf.length - i);
        buf.copy(this.header, this.headerLen, i, i + take);
        this.headerLen += take;
        i += take;
        if (this.dropping || this.holding) fwdStart = i;
        if (this.headerLen === 5) {
          this.remaining = this.header.readInt32BE(1) - 4;
          if (this.opts.recordTypes !== false) this.types.push(this.type);
          this.capture = this.holding || this.type === 'Z' || this.type === 'E' || this.type === 'T' ? [] : null;
          if (this.remaining === 0) this.finishMessage(out);
        }
        continue;
      }
      // reading a body
      const take = Math.min(this.remaining, buf.length - i);
      if (this.capture) {
        // a body wholly inside this chunk is used in place (it is consumed before feed returns); parts of
        // a body spread over chunks are copied, since the engine may reuse a chunk's memory
        const whole = this.capture.length === 0 && take === this.remaining;
        this.capture.push(whole ? buf.subarray(i, i + take) : Buffer.from(buf.subarray(i, i + take)));
      }
      i += take;
      this.remaining -= take;
      if (this.dropping || this.holding) fwdStart = i;
      if (this.remaining === 0) this.finishMessage(out);
    }
    flushForward(buf.length);
    return out;
  }

  private finishMessage(out: Buffer[]): void {
    const body = this.capture ? (this.capture.length === 1 ? this.capture[0] : Buffer.concat(this.capture)) : null;
    if (this.type === 'Z' && body && body.length > 0) this.status = String.fromCharCode(body[0]) as 'I' | 'T' | 'E';
    if (this.type === 'E' && body && !this.error) this.error = parseErrorFields(body);
    if (this.type === 'T' && body) {
      this.lastDescription = readRowDescription(body);
      this.rows = RowRewriter.forColumns(this.lastDescription, this.opts.definedTypes);
    }
    if (this.type === 'n') this.sawNoData = true;
    if (this.holding && body) out.push(this.rows!.rewrite(body));
    this.headerLen = 0;
    this.remaining = 0;
    this.capture = null;
    this.dropping = false;
    this.holding = false;
  }
}

/** Rewrites the values of DataRows whose columns Materialize prints differently from the engine. */
export class RowRewriter {
  private constructor(private readonly rewrites: (ValueRewrite | null)[]) {}

  /** A rewriter for columns of these types and formats (0 text, 1 binary), or null when none need one. */
  static forColumns(columns: { typeOid: number; format: number }[], definedTypes?: DefinedTypes): RowRewriter | null {
    const rewrites = columns.map((c) => {
      const defined = c.format === 0 ? definedTypes?.(c.typeOid) : undefined;
      return defined ? mzTextRewrite(defined) : valueRewrite(c.typeOid, c.format);
    });
    return rewrites.some((r) => r !== null) ? new RowRewriter(rewrites) : null;
  }

  /** The whole DataRow message (header included) for a DataRow body. */
  rewrite(body: Buffer): Buffer {
    const n = body.readInt16BE(0);
    const values: (Buffer | null)[] = new Array(n);
    let size = 2;
    let p = 2;
    for (let k = 0; k < n; k++) {
      const len = body.readInt32BE(p);
      p += 4;
      size += 4;
      if (len < 0) {
        values[k] = null;
        continue;
      }
      let v = body.subarray(p, p + len);
      p += len;
      const rewrite = this.rewrites[k];
      if (rewrite) v = rewrite(v);
      values[k] = v;
      size += v.length;
    }
    const out = Buffer.allocUnsafe(5 + size);
    out[0] = 0x44; // 'D'
    out.writeInt32BE(size + 4, 1);
    out.writeInt16BE(n, 5);
    let q = 7;
    for (const v of values) {
      if (v === null) {
        out.writeInt32BE(-1, q);
        q += 4;
      } else {
        out.writeInt32BE(v.length, q);
        v.copy(out, q + 4);
        q += 4 + v.length;
      }
    }
    return out;
  }
}

/** Decodes the fields of an ErrorResponse/NoticeResponse body. */
export function parseErrorFields(body: Buffer): ErrorFields {
  const r = new Reader(body);
  const f: Record<string, string> = {};
  while (r.pos < body.length) {
    const code = r.byte();
    if (code === '\0') break;
    f[code] = r.cstring();
  }
  return {
    severity: (f.S as ErrorFields['severity']) ?? 'ERROR',
    code: f.C ?? 'XX000',
    message: f.M ?? '',
    detail: f.D,
    hint: f.H,
  };
}

export interface ColumnDescription {
  name: string;
  tableOid: number;
  columnAttr: number;
  typeOid: number;
  typeSize: number;
  typeMod: number;
  /** 0 text, 1 binary (always 0 in a statement's description). */
  format: number;
}

export interface ParsedMessages {
  columns: ColumnDescription[] | null;
  /** Each row as the raw bodies of its DataRow message (decode with readDataRow). */
  rows: Buffer[];
  tags: string[];
  error: ErrorFields | null;
  notices: ErrorFields[];
  status: 'I' | 'T' | 'E' | null;
  paramTypes: number[] | null;
}

/** Parses a complete backend output (used for mz-local's own queries against the engine). */
export function parseBackendMessages(chunks: Uint8Array[]): ParsedMessages {
  const buf = Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
  const res: ParsedMessages = { columns: null, rows: [], tags: [], error: null, notices: [], status: null, paramTypes: null };
  let i = 0;
  while (i + 5 <= buf.length) {
    const type = String.fromCharCode(buf[i]);
    const len = buf.readInt32BE(i + 1);
    const body = buf.subarray(i + 5, i + 1 + len);
    i += 1 + len;
    switch (type) {
      case 'T':
        res.columns = readRowDescription(body);
        break;
      case 'D':
        res.rows.push(body);
        break;
      case 'C':
        res.tags.push(body.toString('utf8', 0, body.length - 1));
        break;
      case 'E':
        if (!res.error) res.error = parseErrorFields(body);
        break;
      case 'N':
        res.notices.push(parseErrorFields(body));
        break;
      case 'Z':
        res.status = String.fromCharCode(body[0]) as 'I' | 'T' | 'E';
        break;
      case 't': {
        const r = new Reader(body);
        const n = r.int16();
        res.paramTypes = [];
        for (let k = 0; k < n; k++) res.paramTypes.push(r.int32());
        break;
      }
      default:
        break;
    }
  }
  return res;
}

export function readRowDescription(body: Buffer): ColumnDescription[] {
  const r = new Reader(body);
  const n = r.int16();
  const cols: ColumnDescription[] = [];
  for (let k = 0; k < n; k++) {
    const name = r.cstring();
    const tableOid = r.int32();
    const columnAttr = r.int16();
    const typeOid = r.int32();
    const typeSize = r.int16();
    const typeMod = r.int32();
    const format = r.int16();
    cols.push({ name, tableOid, columnAttr, typeOid, typeSize, typeMod, format });
  }
  return cols;
}

/** Splits a DataRow body into its column values as byte slices (null for SQL NULL). */
export function readDataRow(body: Buffer): (Buffer | null)[] {
  const n = body.readInt16BE(0);
  const out: (Buffer | null)[] = new Array(n);
  let p = 2;
  for (let k = 0; k < n; k++) {
    const len = body.readInt32BE(p);
    p += 4;
    if (len < 0) out[k] = null;
    else {
      out[k] = body.subarray(p, p + len);
      p += len;
    }
  }
  return out;
}
