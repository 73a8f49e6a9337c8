/**
 * Materialize's text (and binary) forms of values where they differ from the engine's (Postgres's), used
 * for query results sent to clients and for the CSV files of COPY ... TO S3, so both print what
 * Materialize would:
 *
 * - jsonb (and json, which Materialize treats as jsonb): compact (`{"a":1}`), object keys sorted by their
 *   bytes, the last of duplicate keys kept, numbers as reduced decimals (`1.50` → `1.5`), strings escaped
 *   like serde_json (src/repr/src/adt/jsonb.rs: `Display` is `serde_json::to_writer`; numbers are
 *   `Datum::Numeric`, reduced when packed into a row, src/repr/src/row.rs);
 * - numeric: reduced (`1.50` → `1.5`, `7::numeric(39,3)` → `7`; src/repr/src/row.rs packs numerics with
 *   insignificant zeros trimmed; test/sqllogictest/numeric.slt, test/testdrive/copy-to-s3-minio.td);
 * - float4/float8: Materialize's `format_float` (src/repr/src/strconv.rs): ryu's shortest digits, integer
 *   values below 1e15 printed whole, otherwise decimal notation for 1e-5 <= |x| < 1e16 (float8) or
 *   1e-6 <= |x| < 1e13 (float4) and `1.5e+300` / `1e-7` beyond, where Postgres switches to exponents
 *   (zero-padded, `1e-05`) outside 1e-4 <= |x| < 1e15 (float8) or < 1e6 (float4).
 *
 * Elements of arrays of those print the same way (nested-text.ts); lists, maps and records are rewritten
 * from their Materialize types (copy/type-mapping.ts mzTextRewrite).
 */
import { decimalToString, parseDecimal } from '../copy/pg-text';

import { formatArrayText } from './nested-text';

export const TYPE_OID = { json: 114, float4: 700, float8: 701, numeric: 1700, jsonb: 3802 } as const;

/** The array types of those (pg_type typarray). */
const ARRAY_OID = { json: 199, float4: 1021, float8: 1022, numeric: 1231, jsonb: 3807 } as const;

function arrayRewrite(element: (s: string) => string, mayNeedEscaping = false): ValueRewrite {
  return (v) => Buffer.from(formatArrayText(v.toString('utf8'), { format: element, mayNeedEscaping }), 'utf8');
}

/** A value rewrite on the wire: the engine's bytes in, Materialize's bytes out. */
export type ValueRewrite = (value: Buffer) => Buffer;

/** The rewrite for a result column of type `typeOid` in `format` (0 text, 1 binary), or null if none. */
export function valueRewrite(typeOid: number, format: number): ValueRewrite | null {
  if (format === 0) {
    switch (typeOid) {
      case TYPE_OID.json:
      case TYPE_OID.jsonb:
        return rewriteJsonText;
      case TYPE_OID.numeric:
        return rewriteNumericText;
      case TYPE_OID.float4:
        return (v) => rewriteFloatText(v, 32);
      case TYPE_OID.float8:
        return (v) => rewriteFloatText(v, 64);
      // arrays of those: each element in Materialize's form (nested-text.ts)
      case ARRAY_OID.json:
      case ARRAY_OID.jsonb:
        return arrayRewrite(mzJsonText, true);
      case ARRAY_OID.numeric:
        return arrayRewrite(mzNumericText);
      case ARRAY_OID.float4:
        return arrayRewrite((x) => mzFloatText(x, 32));
      case ARRAY_OID.float8:
        return arrayRewrite((x) => mzFloatText(x, 64));
      default:
        return null;
    }
  }
  switch (typeOid) {
    case TYPE_OID.json:
      return rewriteJsonText;
    case TYPE_OID.jsonb:
      return rewriteJsonbBinary;
    case TYPE_OID.numeric:
      return rewriteNumericBinary;
    default:
      return null;
  }
}

/** The text rewrite of a column type (CSV output), or null when the engine's text is Materialize's. */
export function textRewrite(typeOid: number): ValueRewrite | null {
  return valueRewrite(typeOid, 0);
}

function rewriteJsonText(v: Buffer): Buffer {
  return Buffer.from(mzJsonText(v.toString('utf8')), 'utf8');
}

function rewriteJsonbBinary(v: Buffer): Buffer {
  // jsonb's binary form: a version byte (1), then the text
  if (v.length === 0 || v[0] !== 1) return v;
  return Buffer.concat([v.subarray(0, 1), Buffer.from(mzJsonText(v.toString('utf8', 1)), 'utf8')]);
}

const DOT = 0x2e;
const ZERO = 0x30;

function rewriteNumericText(v: Buffer): Buffer {
  if (v.length === 0 || v[v.length - 1] !== ZERO || !v.includes(DOT)) return v;
  return Buffer.from(mzNumericText(v.toString('latin1')), 'latin1');
}

function rewriteFloatText(v: Buffer, bits: 32 | 64): Buffer {
  if (!v.includes(0x65 /* e */)) return v;
  return Buffer.from(mzFloatText(v.toString('latin1'), bits), 'latin1');
}

/** numeric text reduced: trailing fractional zeros (and a bare point) dropped. */
export function mzNumericText(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/**
 * Postgres's float text (shortest round-trip digits) → Materialize's. Only texts with an exponent differ;
 * the digits are the same (both use ryu's shortest representation).
 */
export function mzFloatText(s: string, bits: 32 | 64): string {
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const sign = m[1];
  const digits = (m[2] + (m[3] ?? '')).replace(/0+$/, '') || '0';
  const kk = Number(m[4]) + 1; // value = 0.<digits> × 10^kk
  const integral = kk >= digits.length;
  if (integral && kk <= 15) {
    // format_float's integer path: the exact value of the float, printed whole
    const exact = bits === 32 ? BigInt(Math.fround(Number(s))) : BigInt(Number(s));
    return exact.toString();
  }
  const decimal = bits === 64 ? kk > -5 && kk <= 16 : kk > -6 && kk <= 13;
  if (decimal) {
    if (kk >= digits.length) return sign + digits + '0'.repeat(kk - digits.length);
    if (kk > 0) return `${sign}${digits.slice(0, kk)}.${digits.slice(kk)}`;
    return `${sign}0.${'0'.repeat(-kk)}${digits}`;
  }
  const e = kk - 1;
  return `${sign}${digits[0]}${digits.length > 1 ? '.' + digits.slice(1) : ''}e${e < 0 ? '-' : '+'}${Math.abs(e)}`;
}

/**
 * numeric's binary form (ndigits, weight, sign, dscale, base-10000 digits) with the display scale of the
 * reduced value, as Materialize sends it.
 */
function rewriteNumericBinary(v: Buffer): Buffer {
  if (v.length < 8) return v;
  const ndigits = v.readInt16BE(0);
  const weight = v.readInt16BE(2);
  const sign = v.readUInt16BE(4);
  if (sign !== 0x0000 && sign !== 0x4000) return v; // NaN, infinities
  let dscale = 0;
  if (ndigits > 0) {
    const fractionalGroups = ndigits - 1 - weight;
    if (fractionalGroups > 0) {
      let last = v.readInt16BE(8 + 2 * (ndigits - 1));
      let trailing = 0;
      while (last !== 0 && last % 10 === 0 && trailing < 3) {
        last /= 10;
        trailing++;
      }
      dscale = fractionalGroups * 4 - trailing;
    }
  }
  if (v.readInt16BE(6) === dscale) return v;
  const out = Buffer.from(v);
  out.writeInt16BE(dscale, 6);
  return out;
}

/**
 * jsonb/json text as Materialize prints it: compact, object keys sorted by their UTF-8 bytes (the last of
 * duplicate keys kept, as jsonb does), numbers reduced, strings escaped like serde_json.
 */
export function mzJsonText(s: string): string {
  return new JsonPrinter(s).value();
}

/** A single pass over valid JSON text (the engine's output), printing it the way Materialize does. */
class JsonPrinter {
  private i = 0;
  /** The value of the last string read (for object keys). */
  private lastString = '';

  constructor(private readonly s: string) {}

  value(): string {
    const s = this.s;
    this.ws();
    const c = s.charCodeAt(this.i);
    if (c === 0x7b /* { */) return this.object();
    if (c === 0x5b /* [ */) return this.array();
    if (c === 0x22 /* " */) return this.string();
    const start = this.i;
    let plainInteger = true;
    let i = this.i;
    for (; i < s.length; i++) {
      const d = s.charCodeAt(i);
      if (d === 0x2c || d === 0x5d || d === 0x7d || d === 0x20 || d === 0x0a || d === 0x09 || d === 0x0d) break;
      if (d === 0x2e || d === 0x65 || d === 0x45) plainInteger = false; // . e E
    }
    this.i = i;
    const token = s.slice(start, i);
    if (c === 0x74 || c === 0x66 || c === 0x6e) return token; // true, false, null
    if (plainInteger && token !== '-0') return token;
    return decimalToString(parseDecimal(token));
  }

  private object(): string {
    const members = this.items(0x7d /* } */, () => {
      const k = this.string();
      const key = this.lastString;
      this.ws();
      this.i++; // ':'
      return { key, text: k + ':' + this.value() };
    });
    if (members.length <= 1) return '{' + (members[0]?.text ?? '') + '}';
    members.sort((a, b) => compareUtf8(a.key, b.key)); // stable: duplicates keep their order
    // the last of duplicate keys wins
    const kept = members.filter((m, k) => k + 1 === members.length || members[k + 1].key !== m.key);
    return '{' + kept.map((m) => m.text).join(',') + '}';
  }

  private array(): string {
    return '[' + this.items(0x5d /* ] */, () => this.value()).join(',') + ']';
  }

  /** The comma-separated items of an object or array, each read by `item`, up to the closing bracket. */
  private items<T>(close: number, item: () => T): T[] {
    const s = this.s;
    const out: T[] = [];
    this.i++; // the opening bracket
    this.ws();
    if (s.charCodeAt(this.i) === close) {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(item());
      this.ws();
      if (s.charCodeAt(this.i++) !== 0x2c /* , */) return out; // the closing bracket
    }
  }

  /** A string token as Materialize escapes it; its value is left in lastString. */
  private string(): string {
    const s = this.s;
    const start = this.i;
    let i = start + 1;
    let escaped = false;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        i++;
      }
      i++;
    }
    this.i = i + 1;
    const raw = s.slice(start, this.i);
    if (!escaped) {
      this.lastString = raw.slice(1, -1);
      return raw;
    }
    // serde_json escapes ", \ and control characters only (as JSON.stringify does)
    this.lastString = JSON.parse(raw) as string;
    return JSON.stringify(this.lastString);
  }

  private ws(): void {
    const s = this.s;
    let c = s.charCodeAt(this.i);
    while (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) c = s.charCodeAt(++this.i);
  }
}

/** Compares strings by their UTF-8 bytes (= code points; UTF-16 units differ only around surrogates). */
function compareUtf8(a: string, b: string): number {
  if (SURROGATE.test(a) || SURROGATE.test(b)) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  return a < b ? -1 : a > b ? 1 : 0;
}
const SURROGATE = /[\uD800-\uDFFF]/;
