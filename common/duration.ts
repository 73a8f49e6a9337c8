/**
 * Durations in schedule files and retention rules: one or more `<integer><unit>` parts, units d, h, m, s, ms (e.g. `90s`, `1h30m`,
 * `1d`). Strict on purpose: `1 hour` or `5` would be guesses, and a wrong guess fires at the wrong time.
 * Pure: no Node imports.
 */
const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
const PART = /(\d+)(ms|d|h|m|s)/y;

/** Milliseconds, or a message saying what is wrong. */
export function parseDuration(value: unknown): { ms: number } | { problem: string } {
  if (typeof value !== 'string' || value.trim() === '') {
    return { problem: `${JSON.stringify(value)} is not a duration; write e.g. 30s, 15m, 1h30m or 1d` };
  }
  const text = value.trim();
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const m = PART.exec(text);
    if (!m || m.index !== start) {
      return { problem: `"${value}" is not a duration; write e.g. 30s, 15m, 1h30m or 1d (units d, h, m, s, ms)` };
    }
    ms += Number(m[1]) * UNIT_MS[m[2]];
  }
  if (!Number.isSafeInteger(ms)) return { problem: `"${value}" is too long` };
  return { ms };
}

/** The shortest exact form, e.g. 5400000 → `1h30m`; 0 → `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
