/**
 * Postgres wire protocol (v3) encoding and decoding: the backend messages mz-local writes itself and the
 * frontend messages it needs to read. Messages that are only forwarded to the engine are never decoded.
 */
import type { ErrorFields } from '../errors';

export const PROTOCOL_V3 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

const utf8 = new TextEncoder();

/** Builds one backend message: a type byte, an int32 length, then the body. */
export class MessageBuilder {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly type: string) {}

  int16(n: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(n);
    return this.push(b);
  }

  int32(n: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(n);
    return this.push(b);
  }

  cstring(s: string): this {
    this.push(Buffer.from(utf8.encode(s)));
    return this.push(Buffer.from([0]));
  }

  bytes(b: Uint8Array): this {
    return this.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }

  private push(b: Buffer): this {
    this.chunks.push(b);
    this.size += b.length;
    return this;
  }

  build(): Buffer {
    const header = Buffer.allocUnsafe(5);
    header.write(this.type, 0, 'latin1');
    header.writeInt32BE(this.size + 4, 1);
    return Buffer.concat([header, ...this.chunks], 5 + this.size);
  }
}

export const backend = {
  authenticationOk: () => new MessageBuilder('R').int32(0).build(),
  authenticationCleartextPassword: () => new MessageBuilder('R').int32(3).build(),
  authenticationMd5Password: (salt: Uint8Array) => new MessageBuilder('R').int32(5).bytes(salt).build(),
  parameterStatus: (name: string, value: string) => new MessageBuilder('S').cstring(name).cstring(value).build(),
  backendKeyData: (pid: number, key: number) => new MessageBuilder('K').int32(pid).int32(key).build(),
  readyForQuery: (status: 'I' | 'T' | 'E') => new MessageBuilder('Z').bytes(Buffer.from(status, 'latin1')).build(),
  parseComplete: () => new MessageBuilder('1').build(),
  bindComplete: () => new MessageBuilder('2').build(),
  closeComplete: () => new MessageBuilder('3').build(),
  noData: () => new MessageBuilder('n').build(),
  emptyQueryResponse: () => new MessageBuilder('I').build(),
  portalSuspended: () => new MessageBuilder('s').build(),
  commandComplete: (tag: string) => new MessageBuilder('C').cstring(tag).build(),
  parameterDescription: (oids: number[]) => {
    const m = new MessageBuilder('t').int16(oids.length);
    for (const o of oids) m.int32(o);
    return m.build();
  },
  rowDescription: (columns: { name: string; typeOid: number; typeSize?: number; typeMod?: number }[]) => {
    const m = new MessageBuilder('T').int16(columns.length);
    for (const c of columns) {
      m.cstring(c.name).int32(0).int16(0).int32(c.typeOid).int16(c.typeSize ?? -1).int32(c.typeMod ?? -1).int16(0);
    }
    return m.build();
  },
  dataRow: (values: (string | null)[]) => {
    const m = new MessageBuilder('D').int16(values.length);
    for (const v of values) {
      if (v === null) m.int32(-1);
      else {
        const b = Buffer.from(v, 'utf8');
        m.int32(b.length).bytes(b);
      }
    }
    return m.build();
  },
  errorResponse: (f: ErrorFields) => noticeOrError('E', f),
  noticeResponse: (f: ErrorFields) => noticeOrError('N', { ...f, severity: f.severity ?? 'NOTICE' }),
};

function noticeOrError(type: 'E' | 'N', f: ErrorFields): Buffer {
  const severity = f.severity ?? 'ERROR';
  const m = new MessageBuilder(type);
  m.bytes(Buffer.from('S')).cstring(severity);
  m.bytes(Buffer.from('V')).cstring(severity);
  m.bytes(Buffer.from('C')).cstring(f.code);
  m.bytes(Buffer.from('M')).cstring(f.message);
  if (f.detail !== undefined) m.bytes(Buffer.from('D')).cstring(f.detail);
  if (f.hint !== undefined) m.bytes(Buffer.from('H')).cstring(f.hint);
  m.bytes(Buffer.from([0]));
  return m.build();
}

/** Reads fields out of a message body. */
export class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  byte(): string {
    return String.fromCharCode(this.buf[this.pos++]);
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new Error('malformed message: unterminated string');
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** A frontend message as framed on the wire: its type byte and the whole message (header included). */
export interface FrontendMessage {
  type: string;
  /** The full message including type byte and length, ready to forward. */
  raw: Buffer;
  /** The body after the length. */
  body: Buffer;
}

export interface ParseMessage {
  name: string;
  query: string;
  paramTypes: number[];
}
export function readParse(body: Buffer): ParseMessage {
  const r = new Reader(body);
  const name = r.cstring();
  const query = r.cstring();
  const n = r.int16();
  const paramTypes: number[] = [];
  for (let i = 0; i < n; i++) paramTypes.push(r.int32());
  return { name, query, paramTypes };
}

export interface BindMessage {
  portal: string;
  statement: string;
  params: (Buffer | null)[];
  resultFormats: number[];
}
export function readBind(body: Buffer): BindMessage {
  const r = new Reader(body);
  const portal = r.cstring();
  const statement = r.cstring();
  const nf = r.int16();
  for (let i = 0; i < nf; i++) r.int16();
  const np = r.int16();
  const params: (Buffer | null)[] = [];
  for (let i = 0; i < np; i++) {
    const len = r.int32();
    params.push(len < 0 ? null : r.bytes(len));
  }
  const nr = r.int16();
  const resultFormats: number[] = [];
  for (let i = 0; i < nr; i++) resultFormats.push(r.int16());
  return { portal, statement, params, resultFormats };
}

export function readDescribeOrClose(body: Buffer): { kind: 'S' | 'P'; name: string } {
  const r = new Reader(body);
  const kind = r.byte() as 'S' | 'P';
  return { kind, name: r.cstring() };
}

export function readExecute(body: Buffer): { portal: string; maxRows: number } {
  const r = new Reader(body);
  return { portal: r.cstring(), maxRows: r.int32() };
}

// Rewriting names of statements and portals so sessions sharing one engine do not collide.

export function frontendMessage(type: string, body: Buffer): Buffer {
  const header = Buffer.allocUnsafe(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** Replaces the leading cstring(s) of a body: used to rename statements/portals in Parse/Bind/Describe/Close/Execute. */
export function renameLeadingStrings(body: Buffer, count: number, rename: (s: string, index: number) => string): Buffer {
  const r = new Reader(body);
  const parts: Buffer[] = [];
  let prefix: Buffer = Buffer.alloc(0);
  if (count < 0) {
    // Describe/Close: a kind byte, then one name
    prefix = body.subarray(0, 1);
    r.pos = 1;
    count = 1;
  }
  for (let i = 0; i < count; i++) parts.push(Buffer.from(rename(r.cstring(), i) + '\0', 'utf8'));
  return Buffer.concat([prefix, ...parts, body.subarray(r.pos)]);
}
