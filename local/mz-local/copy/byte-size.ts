/**
 * Materialize's byte sizes (mz_repr::bytes::ByteSize): Postgres-style units B, kB, MB, GB, TB with a 1024
 * multiplier, case-sensitive, an optional space, a bare number meaning bytes, and fractions rounded down
 * to the next smaller unit.
 */

const UNITS: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const LOWER: Record<string, string> = { kB: 'B', MB: 'kB', GB: 'MB', TB: 'GB' };

export function parseByteSize(text: string): number {
  const m = /^([0-9.]*)\s*(.*)$/.exec(text);
  const number = m?.[1] ?? '';
  const suffix = m?.[2] ?? '';
  let unit = 'B';
  if (suffix !== '') {
    if (!(suffix in UNITS)) {
      throw new Error(
        `couldn't parse ${JSON.stringify(suffix)} into a known SI unit, invalid BytesUnit: ${suffix}. Valid units are B, kB, MB, GB, and TB. Valid units are B, kB, MB, GB, and TB`,
      );
    }
    unit = suffix;
  }
  if (number === '' || !/^\d*\.?\d*$/.test(number)) throw new Error(`couldn't parse ${number} as a number, invalid float literal`);
  const n = Number(number);
  if (!Number.isFinite(n)) throw new Error(`couldn't parse ${number} as a number, invalid float literal`);
  if (Math.trunc(n) === n) return n * UNITS[unit];
  if (unit === 'B') return Math.round(n);
  return Math.round(n * 1024) * UNITS[LOWER[unit]];
}

/** Formats like Materialize's Display: the largest unit that divides exactly, e.g. 16MB, 4GB, 1536B. */
export function formatByteSize(bytes: number): string {
  if (bytes === 0) return '0';
  for (const unit of ['TB', 'GB', 'MB', 'kB']) {
    if (bytes % UNITS[unit] === 0) return `${bytes / UNITS[unit]}${unit}`;
  }
  return `${bytes}B`;
}

export const MIN_FILE_SIZE = 16 * 1024 ** 2;
export const MAX_FILE_SIZE = 4 * 1024 ** 3;
export const DEFAULT_MAX_FILE_SIZE = 256 * 1024 ** 2;
