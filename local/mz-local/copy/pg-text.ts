/**
 * Parsing of Postgres text-format values (what the engine returns) into the typed values the Parquet
 * writer needs. Materialize's text forms where they differ from Postgres's are in ../values/mz-text.ts.
 */

/** Days since 1970-01-01 for a proleptic Gregorian date (year 0 = 1 BC). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** 'YYYY-MM-DD[ BC]' → days since the epoch. */
export function parseDate(s: string): number {
  const m = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/.exec(s);
  if (!m) throw new Error(`date out of range: "${s}"`);
  let y = Number(m[1]);
  if (m[4]) y = 1 - y;
  return daysFromCivil(y, Number(m[2]), Number(m[3]));
}

/** 'HH:MM:SS[.ffffff]' → microseconds since midnight. */
export function parseTime(s: string): bigint {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(s);
  if (!m) throw new Error(`invalid time: "${s}"`);
  const frac = (m[4] ?? '').padEnd(6, '0');
  return (BigInt(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000000n) + BigInt(frac || '0');
}

/** 'YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM[:SS]]][ BC]' → microseconds since the epoch (UTC). */
export function parseTimestamp(s: string, withZone: boolean): bigint {
  const m = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?)?( BC)?$/.exec(s);
  if (!m) throw new Error(`timestamp out of range: "${s}"`);
  let y = Number(m[1]);
  if (m[12]) y = 1 - y;
  const days = BigInt(daysFromCivil(y, Number(m[2]), Number(m[3])));
  const secs = BigInt(Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]));
  let micros = days * 86400000000n + secs * 1000000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0');
  if (withZone && m[8]) {
    const off = Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0);
    micros -= BigInt(m[8] === '-' ? -off : off) * 1000000n;
  }
  return micros;
}

/** '\x0a0b' → bytes. */
export function parseBytea(s: string): Buffer {
  if (s.startsWith('\\x')) return Buffer.from(s.slice(2), 'hex');
  // escape format (bytea_output = escape)
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') {
      if (s[i + 1] === '\\') {
        out.push(0x5c);
        i++;
      } else {
        out.push(parseInt(s.slice(i + 1, i + 4), 8));
        i += 3;
      }
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

export function parseUuid(s: string): Buffer {
  return Buffer.from(s.replace(/-/g, ''), 'hex');
}

export interface ParsedDecimal {
  negative: boolean;
  /** Significant digits without leading or trailing zeros ('0' for zero). */
  coefficient: string;
  /** value = coefficient × 10^exponent */
  exponent: number;
  special: string | null;
}

/** Parses numeric text into Materialize's reduced form (trailing zeros dropped). */
export function parseDecimal(s: string): ParsedDecimal {
  if (s === 'NaN' || s === 'Infinity' || s === '-Infinity') return { negative: s.startsWith('-'), coefficient: '0', exponent: 0, special: s };
  const m = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m) throw new Error(`invalid numeric: "${s}"`);
  const negative = m[1] === '-';
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let exponent = -(m[3] ?? '').length + Number(m[4] ?? 0);
  digits = digits.replace(/^0+/, '');
  if (digits === '') return { negative: false, coefficient: '0', exponent: 0, special: null };
  const trimmed = digits.replace(/0+$/, '');
  exponent += digits.length - trimmed.length;
  return { negative, coefficient: trimmed, exponent, special: null };
}

/** The decimal as Materialize prints it (reduced). */
export function decimalToString(d: ParsedDecimal): string {
  if (d.special) return d.special;
  let s: string;
  if (d.exponent >= 0) s = d.coefficient + '0'.repeat(d.exponent);
  else {
    const frac = -d.exponent;
    const padded = d.coefficient.padStart(frac + 1, '0');
    s = padded.slice(0, padded.length - frac) + '.' + padded.slice(padded.length - frac);
  }
  return (d.negative ? '-' : '') + s;
}

const I128_MAX = (1n << 127n) - 1n;

/**
 * The unscaled 128-bit value of `text` in a Decimal128(precision, scale) column, with Materialize's errors
 * (src/arrow-util/src/builder.rs): special values, too many digits, too many fractional digits, overflow.
 */
export function decimalToUnscaled(text: string, precision: number, scale: number): bigint {
  const d = parseDecimal(text);
  if (d.special) throw new Error(`Cannot represent special numeric value ${d.special} in parquet`);
  const shown = decimalToString(d);
  const digits = d.coefficient === '0' ? 1 : d.coefficient.length;
  if (digits > precision) throw new Error(`Decimal value ${shown} out of range for column with precision ${precision}`);
  const scaleDiff = scale + d.exponent;
  if (scaleDiff < 0) throw new Error(`cannot represent decimal value ${shown} in column with scale ${scale}`);
  let v = BigInt(d.coefficient) * 10n ** BigInt(scaleDiff);
  if (v > I128_MAX) throw new Error(`Decimal value ${shown} out of range for parquet`);
  if (d.negative) v = -v;
  return v;
}

export interface ParsedArray {
  /** Elements in row-major order; null for SQL NULL. */
  elements: (string | null)[];
  dimensions: number;
}

/** Parses a Postgres array literal ('{1,2}', '{{a,"b c"},{NULL,d}}', '[0:1]={1,2}'). */
/**
 * A double-quoted element of an array literal in Postgres's text form, starting at the quote at `i`: its value
 * with backslash escapes undone, and the index after the closing quote. `n` bounds the scan.
 */
export function readQuotedArrayElement(s: string, i: number, n: number): [string, number] {
  let v = '';
  i++;
  while (i < n && s[i] !== '"') {
    if (s[i] === '\\') i++;
    v += s[i++];
  }
  return [v, i + 1];
}

export function parseArrayLiteral(s: string, delimiter = ','): ParsedArray {
  let i = 0;
  if (s[0] === '[') {
    const eq = s.indexOf('=');
    i = eq + 1;
  }
  const elements: (string | null)[] = [];
  let depth = 0;
  let maxDepth = 0;
  const n = s.length;
  while (i < n) {
    const c = s[i];
    if (c === '{') {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      i++;
    } else if (c === '}') {
      depth--;
      i++;
    } else if (c === delimiter || c === ' ') {
      i++;
    } else if (c === '"') {
      let v: string;
      [v, i] = readQuotedArrayElement(s, i, n);
      elements.push(v);
    } else {
      let j = i;
      while (j < n && s[j] !== delimiter && s[j] !== '}') j++;
      const raw = s.slice(i, j).trim();
      elements.push(raw === 'NULL' ? null : raw);
      i = j;
    }
  }
  return { elements, dimensions: elements.length === 0 ? 0 : maxDepth };
}
