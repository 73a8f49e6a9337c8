/**
 * Column types: from the engine's (Postgres) type OIDs to Materialize's scalar types, and from those to
 * Arrow/Parquet the way Materialize maps them (src/arrow-util/src/builder.rs, scalar_to_arrow_datatype):
 *
 *   bool → Boolean; smallint/integer/bigint → Int16/Int32/Int64; real/double → Float32/Float64;
 *   numeric(p,s) → Decimal128(38, s), unconstrained numeric → Decimal128(38, 10) (Arrow's default scale);
 *   date → Date32; time → Time64(µs); timestamp → Timestamp(µs); timestamptz → Timestamp(µs, "+00:00");
 *   bytea → LargeBinary; text → LargeUtf8; char(n)/varchar(n) → Utf8 (LargeUtf8 without a length);
 *   uuid → FixedSizeBinary(16); jsonb → LargeUtf8 (JSON text); arrays → Struct{items: List, dimensions: UInt8};
 *   records (composite types, anonymous ROW(...)) → Struct with one field per record field (extension `record`);
 *   lists → List<item> (extension `list`); maps → Map<entries: Struct{keys: Utf8, values}> (extension `map`).
 *   Everything else (interval, numeric with scale > 38, ...) cannot be encoded.
 *
 * Every field carries the extension name `materialize.v1.<type>` in its metadata, as Materialize writes it.
 */
import type { ColumnDescription } from '../protocol/backend-stream';
import { mzFloatText, mzJsonText, mzNumericText, textRewrite, TYPE_OID, type ValueRewrite } from '../values/mz-text';
import { formatArrayText, formatListText, formatMapText, formatRecordText, parseRecordLiteral, type ElementFormat } from '../values/nested-text';
import { LIST_ITEMS_FIELD, MAP_KEYS_FIELD, MAP_VALUES_FIELD } from './collection-fields';

export type MzScalar =
  | { kind: 'bool' | 'int16' | 'int32' | 'int64' | 'float32' | 'float64' | 'date' | 'time' | 'timestamp' | 'timestamptz' }
  | { kind: 'bytes' | 'string' | 'jsonb' | 'uuid' }
  | { kind: 'numeric'; maxScale: number | null }
  | { kind: 'char'; length: number | null }
  | { kind: 'varchar'; maxLength: number | null }
  | { kind: 'array'; element: MzScalar }
  | { kind: 'list'; element: MzScalar }
  | { kind: 'map'; value: MzScalar }
  | { kind: 'record'; fields: { name: string; scalar: MzScalar }[]; typeName: string }
  | { kind: 'unsupported'; debug: string };

export interface PgTypeRow {
  oid: number;
  name: string;
  /** Element type for arrays (0 otherwise). */
  elem: number;
  /** 'b' base, 'd' domain, 'e' enum, 'c' composite, 'r' range, 'p' pseudo, 'm' multirange. */
  typtype: string;
  /** Base type of a domain (0 otherwise). */
  basetype: number;
  category: string;
  /** A composite type's attributes, in order. */
  fields?: { name: string; oid: number; typmod: number }[];
}

/** Well-known OIDs; others are looked up in pg_type. */
const BASE: Record<number, (typmod: number) => MzScalar> = {
  16: () => ({ kind: 'bool' }),
  17: () => ({ kind: 'bytes' }),
  18: () => ({ kind: 'unsupported', debug: 'PgLegacyChar' }),
  19: () => ({ kind: 'unsupported', debug: 'PgLegacyName' }),
  20: () => ({ kind: 'int64' }),
  21: () => ({ kind: 'int16' }),
  22: () => ({ kind: 'unsupported', debug: 'Int2Vector' }),
  23: () => ({ kind: 'int32' }),
  24: () => ({ kind: 'unsupported', debug: 'RegProc' }),
  25: () => ({ kind: 'string' }),
  26: () => ({ kind: 'unsupported', debug: 'Oid' }),
  114: () => ({ kind: 'jsonb' }),
  700: () => ({ kind: 'float32' }),
  701: () => ({ kind: 'float64' }),
  705: () => ({ kind: 'string' }),
  1042: (t) => ({ kind: 'char', length: t >= 4 ? t - 4 : null }),
  1043: (t) => ({ kind: 'varchar', maxLength: t >= 4 ? t - 4 : null }),
  1082: () => ({ kind: 'date' }),
  1083: () => ({ kind: 'time' }),
  1114: () => ({ kind: 'timestamp' }),
  1184: () => ({ kind: 'timestamptz' }),
  1186: () => ({ kind: 'unsupported', debug: 'Interval' }),
  1700: (t) => ({ kind: 'numeric', maxScale: t >= 4 ? (t - 4) & 0xffff : null }),
  2205: () => ({ kind: 'unsupported', debug: 'RegClass' }),
  2206: () => ({ kind: 'unsupported', debug: 'RegType' }),
  2249: () => ({ kind: 'unsupported', debug: 'Record { fields: [], custom_id: None }' }),
  2950: () => ({ kind: 'uuid' }),
  3802: () => ({ kind: 'jsonb' }),
};

/** Materialize's range types, by their element's Debug form (src/repr/src/scalar.rs SqlScalarType::Range). */
const RANGE_ELEMENTS: Record<string, string> = {
  int4range: 'Int32',
  int8range: 'Int64',
  numrange: 'Numeric { max_scale: None }',
  daterange: 'Date',
  tsrange: 'Timestamp { precision: None }',
  tstzrange: 'TimestampTz { precision: None }',
};

/** The type OIDs (and element OIDs) that need a pg_type lookup. */
export function unknownOids(oids: number[]): number[] {
  return [...new Set(oids.filter((o) => !(o in BASE)))];
}

/** Maps a Postgres type to Materialize's scalar type; `types` holds pg_type rows for non-builtin OIDs. */
export function toMzScalar(oid: number, typmod: number, types: Map<number, PgTypeRow>): MzScalar {
  const base = BASE[oid];
  if (base) return base(typmod);
  const t = types.get(oid);
  if (!t) return { kind: 'unsupported', debug: `Unsupported(oid ${oid})` };
  if (t.typtype === 'd') return toMzScalar(t.basetype, typmod, types);
  if (t.category === 'A' && t.elem) return { kind: 'array', element: toMzScalar(t.elem, typmod, types) };
  if (t.typtype === 'c' && t.fields) {
    // mz-local's stand-ins for Materialize's list and map types (catalog/collection-types.ts)
    const [first, second] = t.fields;
    if (t.fields.length === 1 && first.name === LIST_ITEMS_FIELD) return { kind: 'list', element: elementOf(toMzScalar(first.oid, first.typmod, types)) };
    if (t.fields.length === 2 && first.name === MAP_KEYS_FIELD && second.name === MAP_VALUES_FIELD) {
      return { kind: 'map', value: elementOf(toMzScalar(second.oid, second.typmod, types)) };
    }
    return { kind: 'record', typeName: t.name, fields: t.fields.map((f) => ({ name: f.name, scalar: toMzScalar(f.oid, f.typmod, types) })) };
  }
  if (t.typtype === 'c') return { kind: 'unsupported', debug: 'Record { fields: [..], custom_id: None }' };
  if (t.typtype === 'r') return { kind: 'unsupported', debug: `Range { element_type: ${RANGE_ELEMENTS[t.name] ?? t.name} }` };
  return { kind: 'unsupported', debug: `Unsupported(${JSON.stringify(t.name)})` };
}

const elementOf = (s: MzScalar): MzScalar => (s.kind === 'array' ? s.element : { kind: 'unsupported', debug: mzDebug(s) });

/**
 * How a value of this type prints inside a nested value: its rewrite from the engine's text (null: the
 * same) and whether Materialize may quote it (the `Nestable` of its format function in strconv.rs).
 */
export function mzElementFormat(s: MzScalar): ElementFormat {
  switch (s.kind) {
    case 'jsonb':
      return { format: mzJsonText, mayNeedEscaping: true };
    case 'numeric':
      return { format: mzNumericText, mayNeedEscaping: false };
    case 'float32':
      return { format: (x) => mzFloatText(x, 32), mayNeedEscaping: false };
    case 'float64':
      return { format: (x) => mzFloatText(x, 64), mayNeedEscaping: false };
    case 'bool':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'date':
    case 'time':
    case 'uuid':
      return { format: null, mayNeedEscaping: false };
    case 'array': {
      const el = mzElementFormat(s.element);
      return { format: (x) => formatArrayText(x, el), mayNeedEscaping: false };
    }
    case 'list': {
      const el = mzElementFormat(s.element);
      return { format: (x) => formatListText(parseRecordLiteral(x)[0] ?? '{}', el), mayNeedEscaping: false };
    }
    case 'map': {
      const el = mzElementFormat(s.value);
      return {
        format: (x) => {
          const [keys, values] = parseRecordLiteral(x);
          return formatMapText(keys ?? '{}', values ?? '{}', el);
        },
        mayNeedEscaping: false,
      };
    }
    case 'record': {
      const fields = s.fields.map((f) => mzElementFormat(f.scalar));
      return { format: (x) => formatRecordText(x, fields), mayNeedEscaping: true };
    }
    default:
      return { format: null, mayNeedEscaping: true };
  }
}

/** Whether the engine's text of an array of these elements differs from Materialize's. */
function arrayNeedsRewrite(element: MzScalar): boolean {
  return mzElementFormat(element).format !== null;
}

/** The rewrite from the engine's text of a value of this type to Materialize's (CSV), if they differ. */
export function mzTextRewrite(s: MzScalar): ValueRewrite | null {
  switch (s.kind) {
    case 'array':
    case 'list':
    case 'map':
    case 'record': {
      if (s.kind === 'array' && !arrayNeedsRewrite(s.element)) return null;
      const format = mzElementFormat(s).format!;
      return (v) => Buffer.from(format(v.toString('utf8')), 'utf8');
    }
    case 'jsonb':
      return textRewrite(TYPE_OID.jsonb);
    case 'numeric':
      return textRewrite(TYPE_OID.numeric);
    case 'float32':
      return textRewrite(TYPE_OID.float4);
    case 'float64':
      return textRewrite(TYPE_OID.float8);
    default:
      return null;
  }
}

/** Materialize's Debug rendering of a scalar type, as its "Cannot encode" error shows it. */
export function mzDebug(s: MzScalar): string {
  switch (s.kind) {
    case 'bool':
      return 'Bool';
    case 'int16':
      return 'Int16';
    case 'int32':
      return 'Int32';
    case 'int64':
      return 'Int64';
    case 'float32':
      return 'Float32';
    case 'float64':
      return 'Float64';
    case 'date':
      return 'Date';
    case 'time':
      return 'Time';
    case 'timestamp':
      return 'Timestamp { precision: None }';
    case 'timestamptz':
      return 'TimestampTz { precision: None }';
    case 'bytes':
      return 'Bytes';
    case 'string':
      return 'String';
    case 'jsonb':
      return 'Jsonb';
    case 'uuid':
      return 'Uuid';
    case 'numeric':
      return `Numeric { max_scale: ${s.maxScale === null ? 'None' : `Some(NumericMaxScale(${s.maxScale}))`} }`;
    case 'char':
      return `Char { length: ${s.length === null ? 'None' : `Some(CharLength(${s.length}))`} }`;
    case 'varchar':
      return `VarChar { max_length: ${s.maxLength === null ? 'None' : `Some(VarCharMaxLength(${s.maxLength}))`} }`;
    case 'array':
      return `Array(${mzDebug(s.element)})`;
    case 'list':
      return `List { element_type: ${mzDebug(s.element)}, custom_id: None }`;
    case 'map':
      return `Map { value_type: ${mzDebug(s.value)}, custom_id: None }`;
    case 'record':
      return `Record { fields: [${s.fields.map((f) => `(ColumnName(${JSON.stringify(f.name)}), SqlColumnType { scalar_type: ${mzDebug(f.scalar)}, nullable: true })`).join(', ')}], custom_id: None }`;
    case 'unsupported':
      return s.debug;
  }
}

/** The Arrow type Materialize writes for a scalar type; null when it cannot be encoded. */
export type ArrowKind =
  | { t: 'bool' }
  | { t: 'int16' }
  | { t: 'int32' }
  | { t: 'int64' }
  | { t: 'float32' }
  | { t: 'float64' }
  | { t: 'date32' }
  | { t: 'time64us' }
  | { t: 'timestampus'; tz: string | null }
  | { t: 'largebinary' }
  | { t: 'utf8' }
  | { t: 'largeutf8'; json: boolean }
  | { t: 'fixedbinary16' }
  | { t: 'decimal128'; precision: number; scale: number }
  | { t: 'array'; item: ArrowColumnType }
  | { t: 'list'; item: ArrowColumnType }
  | { t: 'map'; value: ArrowColumnType }
  | { t: 'struct'; fields: { name: string; type: ArrowColumnType }[] };

export interface ArrowColumnType {
  kind: ArrowKind;
  /** The Materialize extension type name (materialize.v1.<name>). */
  extension: string;
  scalar: MzScalar;
}

export const DECIMAL128_MAX_PRECISION = 38;
export const DECIMAL128_MAX_SCALE = 38;
export const DECIMAL_DEFAULT_SCALE = 10;

export function toArrowType(s: MzScalar): ArrowColumnType | null {
  const a = (kind: ArrowKind, extension: string): ArrowColumnType => ({ kind, extension, scalar: s });
  switch (s.kind) {
    case 'bool':
      return a({ t: 'bool' }, 'boolean');
    case 'int16':
      return a({ t: 'int16' }, 'smallint');
    case 'int32':
      return a({ t: 'int32' }, 'integer');
    case 'int64':
      return a({ t: 'int64' }, 'bigint');
    case 'float32':
      return a({ t: 'float32' }, 'real');
    case 'float64':
      return a({ t: 'float64' }, 'double');
    case 'date':
      return a({ t: 'date32' }, 'date');
    case 'time':
      return a({ t: 'time64us' }, 'time');
    case 'timestamp':
      return a({ t: 'timestampus', tz: null }, 'timestamp');
    case 'timestamptz':
      return a({ t: 'timestampus', tz: '+00:00' }, 'timestamptz');
    case 'bytes':
      return a({ t: 'largebinary' }, 'bytea');
    case 'string':
      return a({ t: 'largeutf8', json: false }, 'text');
    case 'char':
      return a(s.length !== null ? { t: 'utf8' } : { t: 'largeutf8', json: false }, 'text');
    case 'varchar':
      return a(s.maxLength !== null ? { t: 'utf8' } : { t: 'largeutf8', json: false }, 'text');
    case 'uuid':
      return a({ t: 'fixedbinary16' }, 'uuid');
    case 'jsonb':
      return a({ t: 'largeutf8', json: true }, 'jsonb');
    case 'numeric': {
      const scale = s.maxScale ?? DECIMAL_DEFAULT_SCALE;
      if (scale > DECIMAL128_MAX_SCALE) return null;
      return a({ t: 'decimal128', precision: DECIMAL128_MAX_PRECISION, scale }, 'numeric');
    }
    case 'array': {
      const item = toArrowType(s.element);
      return item ? a({ t: 'array', item }, 'array') : null;
    }
    case 'list': {
      const item = toArrowType(s.element);
      return item ? a({ t: 'list', item }, 'list') : null;
    }
    case 'map': {
      const value = toArrowType(s.value);
      return value ? a({ t: 'map', value }, 'map') : null;
    }
    case 'record': {
      const fields = s.fields.map((f) => ({ name: f.name, type: toArrowType(f.scalar) }));
      if (fields.some((f) => !f.type)) return null;
      return a({ t: 'struct', fields: fields as { name: string; type: ArrowColumnType }[] }, 'record');
    }
    case 'unsupported':
      return null;
  }
}

export interface CopyColumn {
  /** Output name (duplicates renamed a, a2, a3... as Materialize does for Parquet). */
  name: string;
  description: ColumnDescription;
  scalar: MzScalar;
  nullable: boolean;
}

/**
 * Materialize's duplicate-name handling for Arrow schemas (src/arrow-util/src/builder.rs desc_to_schema): a
 * repeated name gets the first suffix 2, 3, ... that no column (earlier, later or already renamed) has.
 */
export function dedupeNames(names: string[]): string[] {
  const seen = new Set<string>();
  const all = new Set(names);
  return names.map((original) => {
    let name = original;
    if (seen.has(name)) {
      let e = 2;
      while (all.has(name)) name = `${original}${e++}`;
    }
    seen.add(name);
    all.add(name);
    return name;
  });
}
