/**
 * Materialize's byte sizes (the value of COPY ... TO's MAX FILE SIZE), read as Materialize reads them:
 * src/repr/src/bytes.rs, `impl FromStr for ByteSize` and `impl FromStr for BytesUnit` (MaterializeInc/
 * materialize at 892cf626bc4317d237f566c2defaa5a6556d9e5b), reached through `TryFromValue<Value> for
 * ByteSize` in src/sql/src/plan/with_options.rs. A number, then optionally white space and one of the
 * case-sensitive units B, kB, MB, GB, TB (1024-based); no unit means bytes. A fraction is rounded into the next
 * smaller unit (1.5kB = 1536B). We accept that grammar without the forms from_str reads in surprising ways
 * (leading or trailing white space, which it rejects; digits after the white space, which it skips).
 * Pure: workflows and activities both use it.
 */

export const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;
export type ByteUnit = (typeof BYTE_UNITS)[number];
const UNIT_BYTES: Record<ByteUnit, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** from_str's number: digits and at most one '.', as f64 parses them ("5.", ".5"); then spaces and letters. */
const BYTE_SIZE = /^(\d+(?:\.\d*)?|\.\d+)( *)([A-Za-z]*)$/;

/** Bytes, or why Materialize would not read the value (with what to write instead). */
export function parseByteSize(value: unknown): { bytes: number } | { problem: string } {
  const units = `units ${BYTE_UNITS.join(', ')} (1024-based)`;
  const m = typeof value === 'string' ? BYTE_SIZE.exec(value) : null;
  if (!m) return { problem: `${JSON.stringify(value)} is not a size; write a number and a unit, e.g. "256MB" (${units})` };
  const [, number, , suffix] = m;
  const unit = (suffix === '' ? 'B' : suffix) as ByteUnit;
  if (!BYTE_UNITS.includes(unit)) {
    const sameLetters = BYTE_UNITS.find((u) => u.toLowerCase() === suffix.toLowerCase());
    return {
      problem: sameLetters
        ? `"${value}": Materialize's units are case-sensitive; write "${number}${sameLetters}" (${units})`
        : `"${value}": "${suffix}" is not a unit Materialize knows; use one of the ${units}, e.g. "256MB"`,
    };
  }
  const n = Number(number);
  if (Number.isInteger(n)) return { bytes: n * UNIT_BYTES[unit] };
  // A fraction: from_str rounds n * 1024 into the next smaller unit, bytes being the smallest.
  if (unit === 'B') return { bytes: Math.round(n) };
  const smaller = BYTE_UNITS[BYTE_UNITS.indexOf(unit) - 1];
  return { bytes: Math.round(n * 1024) * UNIT_BYTES[smaller] };
}

/** Materialize's own rendering (`ByteSize::format_string`): the largest unit that divides the size exactly. */
export function formatByteSize(bytes: number): string {
  if (bytes === 0) return '0';
  for (const unit of [...BYTE_UNITS].reverse()) {
    if (bytes % UNIT_BYTES[unit] === 0) return `${bytes / UNIT_BYTES[unit]}${unit}`;
  }
  return `${bytes}B`;
}
