/**
 * The logical time of an export, read strictly: it names the export's folder (paths), so a value JavaScript's
 * Date would quietly roll over (2024-02-30 -> March 1, 24:00 -> next day) or truncate (.0009 -> .000) must be
 * refused, not land in another folder. Pure: workflows, activities and the CLI all use it.
 */

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))$/i;

const EXAMPLE = 'such as 2024-05-01T00:00:00Z';

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Milliseconds since the epoch, or why the value is not an exact ISO 8601 instant with a zone. */
export function parseLogicalTime(value: unknown): { ms: number } | { problem: string } {
  const m = typeof value === 'string' ? ISO_INSTANT.exec(value) : null;
  if (!m) return { problem: `${JSON.stringify(value)} is not an ISO 8601 time with a zone, ${EXAMPLE}` };
  const [, ys, mos, ds, hs, mis, ss = '00', frac = '', z, sign, ohs, omis] = m;
  const [y, mo, d, h, mi, s] = [ys, mos, ds, hs, mis, ss].map(Number);
  const v = JSON.stringify(value);
  if (mo < 1 || mo > 12) return { problem: `${v} has month ${mos}; months are 01 to 12` };
  if (d < 1 || d > daysInMonth(y, mo)) return { problem: `${v} has day ${ds}, but ${ys}-${mos} has ${daysInMonth(y, mo)} days` };
  if (h > 23) return { problem: `${v} has hour ${hs}; hours are 00 to 23 (write the next day's 00:00 instead of 24:00)` };
  if (mi > 59) return { problem: `${v} has minute ${mis}; minutes are 00 to 59` };
  if (s > 59) return { problem: `${v} has second ${ss}; seconds are 00 to 59` };
  if (/[1-9]/.test(frac.slice(3)))
    return { problem: `${v} is more precise than a millisecond, and export folders name milliseconds; give at most 3 fractional digits` };
  let offsetMinutes = 0;
  if (!z) {
    const [oh, omi] = [Number(ohs), Number(omis)];
    if (oh > 23 || omi > 59) return { problem: `${v} has the zone offset ${sign}${ohs}:${omis}, which does not exist` };
    offsetMinutes = (sign === '-' ? -1 : 1) * (oh * 60 + omi);
  }
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // setUTCFullYear, unlike Date.UTC, keeps years below 100 as written
  date.setUTCHours(h, mi, s, Number(frac.slice(0, 3).padEnd(3, '0')));
  const ms = date.getTime() - offsetMinutes * 60_000;
  const year = new Date(ms).getUTCFullYear();
  if (year < 1000 || year > 9999) return { problem: `${v} is outside the years 1000 to 9999` };
  return { ms };
}

/** Undefined when valid; otherwise what to change. */
export function logicalTimeProblem(value: unknown): string | undefined {
  const parsed = parseLogicalTime(value);
  return 'problem' in parsed ? parsed.problem : undefined;
}
