/**
 * Columnar builders that turn Postgres text values into Arrow arrays (apache-arrow Data), typed as
 * Materialize types them. Building typed arrays directly keeps microsecond precision and avoids per-value
 * objects.
 */
import * as arrow from 'apache-arrow';
import { mzJsonText } from '../values/mz-text';
import { arrayElements, parseRecordLiteral } from '../values/nested-text';
import { decimalToUnscaled, parseArrayLiteral, parseBytea, parseDate, parseTime, parseTimestamp, parseUuid } from './pg-text';
import type { ArrowColumnType } from './type-mapping';

const EXTENSION_PREFIX = 'materialize.v1.';

function meta(extension: string): Map<string, string> {
  return new Map([['ARROW:extension:name', EXTENSION_PREFIX + extension]]);
}

/** The Arrow field for a column (with Materialize's extension-name metadata). */
export function arrowField(name: string, type: ArrowColumnType, nullable: boolean): arrow.Field {
  return new arrow.Field(name, arrowDataType(type), nullable, meta(type.extension));
}

function arrowDataType(type: ArrowColumnType): arrow.DataType {
  const k = type.kind;
  switch (k.t) {
    case 'bool':
      return new arrow.Bool();
    case 'int16':
      return new arrow.Int16();
    case 'int32':
      return new arrow.Int32();
    case 'int64':
      return new arrow.Int64();
    case 'float32':
      return new arrow.Float32();
    case 'float64':
      return new arrow.Float64();
    case 'date32':
      return new arrow.DateDay();
    case 'time64us':
      return new arrow.TimeMicrosecond();
    case 'timestampus':
      return new arrow.TimestampMicrosecond(k.tz);
    case 'largebinary':
      return new arrow.LargeBinary();
    case 'utf8':
      return new arrow.Utf8();
    case 'largeutf8':
      return new arrow.LargeUtf8();
    case 'fixedbinary16':
      return new arrow.FixedSizeBinary(16);
    case 'decimal128':
      return new arrow.Decimal(k.scale, k.precision, 128);
    case 'array': {
      const itemField = new arrow.Field('item', arrowDataType(k.item), true, meta(k.item.extension));
      const items = new arrow.Field('items', new arrow.List(itemField), false, meta('array_items'));
      const dims = new arrow.Field('dimensions', new arrow.Uint8(), false, meta('array_dimensions'));
      return new arrow.Struct([items, dims]);
    }
    case 'struct':
      // a record: one field per record field, each with its own extension name (builder.rs, Record)
      return new arrow.Struct(k.fields.map((f) => new arrow.Field(f.name, arrowDataType(f.type), true, meta(f.type.extension))));
    case 'list':
      return new arrow.List(new arrow.Field('item', arrowDataType(k.item), true, meta(k.item.extension)));
    case 'map': {
      // arrow's MapFieldNames::default(): entries{keys, values}; the keys carry no extension name
      const keys = new arrow.Field('keys', new arrow.Utf8(), false);
      const values = new arrow.Field('values', arrowDataType(k.value), true, meta(k.value.extension));
      const entries = new arrow.Field('entries', new arrow.Struct([keys, values] as arrow.Field[]), false);
      const map = new arrow.Map_(entries as unknown as arrow.Field<arrow.Struct<{ key: arrow.Utf8; value: arrow.DataType }>>, false);
      // apache-arrow renames the entry fields to key/value (ARROW-8716); Materialize's writer names them keys/values
      Object.assign(keys, { name: 'keys' });
      Object.assign(values, { name: 'values' });
      return map;
    }
  }
}

/** A growable byte buffer. */
class Bytes {
  buf = new Uint8Array(1024);
  len = 0;
  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  push(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  view(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Validity bitmap builder. */
class Validity {
  bits = new Uint8Array(64);
  nulls = 0;
  set(i: number, valid: boolean): void {
    const byte = i >> 3;
    if (byte >= this.bits.length) {
      const next = new Uint8Array(Math.max(this.bits.length * 2, byte + 1));
      next.set(this.bits);
      this.bits = next;
    }
    if (valid) this.bits[byte] |= 1 << (i & 7);
    else this.nulls++;
  }
  bitmap(n: number): Uint8Array {
    return this.bits.slice(0, (n + 7) >> 3);
  }
}

/** Appends Postgres text values (as strings or UTF-8 bytes) and finishes into Arrow data. */
export interface ColumnBuilder {
  readonly length: number;
  append(v: Buffer | string | null): void;
  finish(): arrow.Data;
}

const utf8 = new TextEncoder();
const asString = (v: Buffer | string) => (typeof v === 'string' ? v : v.toString('utf8'));
const asBytes = (v: Buffer | string) => (typeof v === 'string' ? utf8.encode(v) : v);

export function columnBuilder(type: ArrowColumnType): ColumnBuilder {
  const k = type.kind;
  const dt = arrowDataType(type);
  switch (k.t) {
    case 'bool':
      return new BoolBuilder(dt);
    case 'int16':
      return new FixedBuilder(dt, Int16Array, (v) => parseInt(asString(v), 10));
    case 'int32':
      return new FixedBuilder(dt, Int32Array, (v) => parseInt(asString(v), 10));
    case 'int64':
      return new FixedBuilder(dt, BigInt64Array, (v) => BigInt(asString(v)));
    case 'float32':
      return new FixedBuilder(dt, Float32Array, (v) => parseFloat(asString(v)));
    case 'float64':
      return new FixedBuilder(dt, Float64Array, (v) => parseFloat(asString(v)));
    case 'date32':
      return new FixedBuilder(dt, Int32Array, (v) => parseDate(asString(v)));
    case 'time64us':
      return new FixedBuilder(dt, BigInt64Array, (v) => parseTime(asString(v)));
    case 'timestampus':
      return new FixedBuilder(dt, BigInt64Array, (v) => parseTimestamp(asString(v), k.tz !== null));
    case 'decimal128':
      return new DecimalBuilder(dt, k.precision, k.scale);
    case 'fixedbinary16':
      return new FixedBinaryBuilder(dt, 16, (v) => parseUuid(asString(v)));
    case 'largebinary':
      return new VarBinaryBuilder(dt, true, (v) => parseBytea(asString(v)));
    case 'utf8':
      return new VarBinaryBuilder(dt, false, asBytes);
    case 'largeutf8':
      return new VarBinaryBuilder(dt, true, k.json ? (v) => utf8.encode(mzJsonText(asString(v))) : asBytes);
    case 'array':
      return new ArrayStructBuilder(dt, k.item);
    case 'struct':
      return new RecordStructBuilder(dt, k.fields.map((f) => f.type));
    case 'list':
      return new ListColumnBuilder(dt, k.item);
    case 'map':
      return new MapColumnBuilder(dt, k.value);
  }
}

type Typed = Int16Array | Int32Array | Float32Array | Float64Array | BigInt64Array;
type TypedCtor<T extends Typed> = { new (n: number): T };

class FixedBuilder<T extends Typed> implements ColumnBuilder {
  length = 0;
  private values: T;
  private validity = new Validity();
  constructor(
    private readonly type: arrow.DataType,
    private readonly ctor: TypedCtor<T>,
    private readonly convert: (v: Buffer | string) => number | bigint,
  ) {
    this.values = new ctor(256);
  }
  append(v: Buffer | string | null): void {
    if (this.length >= this.values.length) {
      const next = new this.ctor(this.values.length * 2);
      (next as unknown as { set(a: T): void }).set(this.values);
      this.values = next;
    }
    if (v !== null) (this.values as unknown as (number | bigint)[])[this.length] = this.convert(v);
    this.validity.set(this.length, v !== null);
    this.length++;
  }
  finish(): arrow.Data {
    const data = this.values.slice(0, this.length);
    return arrow.makeData({
      type: this.type as arrow.Int32,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.nulls ? this.validity.bitmap(this.length) : undefined,
      data: data as unknown as Int32Array,
    });
  }
}

class BoolBuilder implements ColumnBuilder {
  length = 0;
  private values = new Validity();
  private validity = new Validity();
  constructor(private readonly type: arrow.DataType) {}
  append(v: Buffer | string | null): void {
    const b = v !== null && asString(v) === 't';
    this.values.set(this.length, b);
    this.validity.set(this.length, v !== null);
    this.length++;
  }
  finish(): arrow.Data {
    return arrow.makeData({
      type: this.type as arrow.Bool,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.nulls ? this.validity.bitmap(this.length) : undefined,
      data: this.values.bitmap(this.length),
    });
  }
}

class DecimalBuilder implements ColumnBuilder {
  length = 0;
  private words = new Uint32Array(256 * 4);
  private validity = new Validity();
  constructor(
    private readonly type: arrow.DataType,
    private readonly precision: number,
    private readonly scale: number,
  ) {}
  append(v: Buffer | string | null): void {
    if ((this.length + 1) * 4 > this.words.length) {
      const next = new Uint32Array(this.words.length * 2);
      next.set(this.words);
      this.words = next;
    }
    if (v !== null) {
      let x = decimalToUnscaled(asString(v), this.precision, this.scale);
      if (x < 0n) x += 1n << 128n;
      for (let w = 0; w < 4; w++) {
        this.words[this.length * 4 + w] = Number(x & 0xffffffffn);
        x >>= 32n;
      }
    }
    this.validity.set(this.length, v !== null);
    this.length++;
  }
  finish(): arrow.Data {
    return arrow.makeData({
      type: this.type as arrow.Decimal,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.nulls ? this.validity.bitmap(this.length) : undefined,
      data: this.words.slice(0, this.length * 4),
    });
  }
}

class FixedBinaryBuilder implements ColumnBuilder {
  length = 0;
  private bytes = new Bytes();
  private validity = new Validity();
  constructor(
    private readonly type: arrow.DataType,
    private readonly width: number,
    private readonly convert: (v: Buffer | string) => Uint8Array,
  ) {}
  append(v: Buffer | string | null): void {
    this.bytes.push(v === null ? new Uint8Array(this.width) : this.convert(v));
    this.validity.set(this.length, v !== null);
    this.length++;
  }
  finish(): arrow.Data {
    return arrow.makeData({
      type: this.type as arrow.FixedSizeBinary,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.nulls ? this.validity.bitmap(this.length) : undefined,
      data: this.bytes.view(),
    });
  }
}

class VarBinaryBuilder implements ColumnBuilder {
  length = 0;
  private bytes = new Bytes();
  private offsets: number[] = [0];
  private validity = new Validity();
  constructor(
    private readonly type: arrow.DataType,
    private readonly large: boolean,
    private readonly convert: (v: Buffer | string) => Uint8Array,
  ) {}
  append(v: Buffer | string | null): void {
    if (v !== null) this.bytes.push(this.convert(v));
    this.offsets.push(this.bytes.len);
    this.validity.set(this.length, v !== null);
    this.length++;
  }
  finish(): arrow.Data {
    const valueOffsets = this.large ? BigInt64Array.from(this.offsets, (o) => BigInt(o)) : Int32Array.from(this.offsets);
    return arrow.makeData({
      type: this.type as arrow.Utf8,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.nulls ? this.validity.bitmap(this.length) : undefined,
      valueOffsets: valueOffsets as unknown as Int32Array,
      data: this.bytes.view(),
    });
  }
}

/** Materialize's array encoding: Struct{ items: List<item>, dimensions: UInt8 }. */
class ArrayStructBuilder implements ColumnBuilder {
  length = 0;
  private items: ColumnBuilder;
  private offsets: number[] = [0];
  private dims: number[] = [];
  private validity = new Validity();
  constructor(
    private readonly type: arrow.DataType,
    item: ArrowColumnType,
  ) {
    this.items = columnBuilder(item);
  }
  append(v: Buffer | string | null): void {
    if (v === null) {
      this.dims.push(0);
    } else {
      const parsed = parseArrayLiteral(asString(v));
      for (const e of parsed.elements) this.items.append(e);
      this.dims.push(parsed.dimensions);
    }
    this.offsets.push(this.items.length);
    this.validity.set(this.length, v !== null);
    this.length++;
  }
  finish(): arrow.Data {
    const struct = this.type as arrow.Struct;
    const listType = struct.children[0].type as arrow.List;
    const list = arrow.makeData({ type: listType, length: this.length, nullCount: 0, valueOffsets: Int32Array.from(this.offsets), child: this.items.finish() });
    const dims = arrow.makeData({ type: new arrow.Uint8(), length: this.length, nullCount: 0, data: Uint8Array.from(this.dims) });
    return arrow.makeData({
      type: struct,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.nulls ? this.validity.bitmap(this.length) : undefined,
      children: [list, dims],
    });
  }
}

/** A record (composite value, text `(a,"b c",)`) as an Arrow Struct of its fields. */
class RecordStructBuilder implements ColumnBuilder {
  length = 0;
  private readonly fields: ColumnBuilder[];
  private validity = new Validity();
  constructor(
    private readonly type: arrow.DataType,
    fieldTypes: ArrowColumnType[],
  ) {
    this.fields = fieldTypes.map((t) => columnBuilder(t));
  }
  append(v: Buffer | string | null): void {
    const values = v === null ? null : parseRecordLiteral(asString(v));
    this.fields.forEach((f, k) => f.append(values ? (values[k] ?? null) : null));
    this.validity.set(this.length, v !== null);
    this.length++;
  }
  finish(): arrow.Data {
    return arrow.makeData({
      type: this.type as arrow.Struct,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.nulls ? this.validity.bitmap(this.length) : undefined,
      children: this.fields.map((f) => f.finish()),
    });
  }
}

/** A list (the engine's text `("{1,2}")`, the stand-in composite) as an Arrow List of its elements. */
class ListColumnBuilder implements ColumnBuilder {
  length = 0;
  private readonly items: ColumnBuilder;
  private offsets: number[] = [0];
  private validity = new Validity();
  constructor(
    private readonly type: arrow.DataType,
    item: ArrowColumnType,
  ) {
    this.items = columnBuilder(item);
  }
  append(v: Buffer | string | null): void {
    if (v !== null) for (const e of arrayElements(parseRecordLiteral(asString(v))[0] ?? '{}')) this.items.append(e);
    this.offsets.push(this.items.length);
    this.validity.set(this.length, v !== null);
    this.length++;
  }
  finish(): arrow.Data {
    return arrow.makeData({
      type: this.type as arrow.List,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.nulls ? this.validity.bitmap(this.length) : undefined,
      valueOffsets: Int32Array.from(this.offsets),
      child: this.items.finish(),
    });
  }
}

/** A map (the engine's text `("{a,b}","{1,2}")`, keys sorted) as an Arrow Map of key/value entries. */
class MapColumnBuilder implements ColumnBuilder {
  length = 0;
  private readonly keys: ColumnBuilder;
  private readonly values: ColumnBuilder;
  private offsets: number[] = [0];
  private validity = new Validity();
  constructor(
    private readonly type: arrow.DataType,
    value: ArrowColumnType,
  ) {
    this.keys = new VarBinaryBuilder(new arrow.Utf8(), false, asBytes);
    this.values = columnBuilder(value);
  }
  append(v: Buffer | string | null): void {
    if (v !== null) {
      const [keys, values] = parseRecordLiteral(asString(v));
      for (const k of arrayElements(keys ?? '{}')) this.keys.append(k ?? '');
      for (const e of arrayElements(values ?? '{}')) this.values.append(e);
    }
    this.offsets.push(this.keys.length);
    this.validity.set(this.length, v !== null);
    this.length++;
  }
  finish(): arrow.Data {
    const map = this.type as arrow.Map_;
    const entriesType = map.children[0].type as arrow.Struct;
    const n = this.keys.length;
    const entries = arrow.makeData({ type: entriesType, length: n, nullCount: 0, children: [this.keys.finish(), this.values.finish()] });
    return arrow.makeData({
      type: map,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.nulls ? this.validity.bitmap(this.length) : undefined,
      valueOffsets: Int32Array.from(this.offsets),
      child: entries,
    });
  }
}

/** Builds one RecordBatch from per-column builders. */
export function recordBatch(schema: arrow.Schema, builders: ColumnBuilder[], length: number): arrow.RecordBatch {
  const children = builders.map((b) => b.finish());
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length, nullCount: 0, children });
  return new arrow.RecordBatch(schema, data);
}
