/**
 * One canonical string per value, so rows read back from Parquet (hyparquet, with raw timestamp and date
 * parsers) compare with the source's rows in the server's text form, type by type (pg type OIDs).
 */
const OID = { bool: 16, int8: 20, int2: 21, int4: 23, text: 25, float4: 700, float8: 701, date: 1082, timestamp: 1114, timestamptz: 1184, numeric: 1700, uuid: 2950, jsonb: 3802, json: 114, textArray: 1009, varchar: 1043 };

/** hyparquet parsers that keep full precision: timestamps as microseconds, dates as days. */
export const RAW_PARQUET_PARSERS = {
  timestampFromMicroseconds: (us: bigint) => ({ micros: us.toString() }),
  timestampFromMilliseconds: (ms: bigint) => ({ micros: (BigInt(ms) * 1000n).toString() }),
  dateFromDays: (days: number) => ({ days }),
};

const num = (v: unknown) => Number(v).toFixed(6);

function uuidText(b: Uint8Array): string {
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** '2024-01-01 00:37:11.123456+00' -> microseconds since the epoch. */
function timestampTextToMicros(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(?:([+-]\d{2})(?::?(\d{2}))?)?$/.exec(text);
  if (!m) throw new Error(`unexpected timestamp text ${text}`);
  const zone = m[4] ? `${m[4]}:${m[5] ?? '00'}` : 'Z';
  const seconds = BigInt(Date.parse(`${m[1]}T${m[2]}${zone}`)) * 1000n;
  return (seconds + BigInt((m[3] ?? '').padEnd(6, '0') || '0')).toString();
}

/** '{tag-1,batch-1}' -> ["tag-1","batch-1"] (plain elements only, as in the sample data). */
function textArray(text: string): string[] {
  const inner = text.replace(/^\{|\}$/g, '');
  return inner === '' ? [] : inner.split(',').map((s) => s.replace(/^"(.*)"$/, '$1'));
}

export function canonicalTextRow(types: number[]) {
  return (row: (string | null)[]): (string | null)[] =>
    row.map((v, i) => {
      if (v === null) return null;
      switch (types[i]) {
        case OID.bool: return String(v === 't' || v === 'true');
        case OID.int2: case OID.int4: case OID.int8: return BigInt(v).toString();
        case OID.float4: case OID.float8: case OID.numeric: return num(v);
        case OID.date: return v;
        case OID.timestamp: case OID.timestamptz: return timestampTextToMicros(v);
        case OID.uuid: return v.toLowerCase();
        case OID.json: case OID.jsonb: return JSON.stringify(sortKeys(JSON.parse(v)));
        case OID.textArray: return JSON.stringify(textArray(v));
        default: return v;
      }
    });
}

export function canonicalParquetRow(row: Record<string, unknown>, columns: string[], types: number[]): (string | null)[] {
  return columns.map((c, i) => {
    const v = row[c];
    if (v === null || v === undefined) return null;
    switch (types[i]) {
      case OID.bool: return String(v);
      case OID.int2: case OID.int4: case OID.int8: return BigInt(v as number | bigint).toString();
      case OID.float4: case OID.float8: case OID.numeric: return num(v);
      case OID.date: return new Date((v as { days: number }).days * 86_400_000).toISOString().slice(0, 10);
      case OID.timestamp: case OID.timestamptz: return (v as { micros: string }).micros;
      // uuid may come as 16 raw bytes (FIXED_LEN_BYTE_ARRAY without the UUID annotation).
      case OID.uuid: return v instanceof Uint8Array ? uuidText(v) : String(v).toLowerCase();
      case OID.json: case OID.jsonb: return JSON.stringify(sortKeys(typeof v === 'string' ? JSON.parse(v) : v));
      // Materialize writes arrays as a struct {items: list, dimensions}.
      case OID.textArray: return JSON.stringify(Array.isArray(v) ? v : (v as { items: unknown[] }).items);
      default: return String(v);
    }
  });
}
