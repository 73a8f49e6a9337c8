/**
 * Checks cron expressions the way Temporal Schedules read them, so a typo is reported with the file's entry and
 * field before anything is sent: 5 fields (minute hour day-of-month month day-of-week), 6 (+ year) or 7
 * (second first, + year), or @yearly/@monthly/@weekly/@daily/@hourly. Each field is `*`, a value, a range
 * `a-b`, a step `*\/n`, `a/n` or `a-b/n`, or a comma list of those; months and weekdays also by name (JAN, MON).
 * Time zones belong in the entry's `timezone`, intervals in `interval`. Pure: no Node imports.
 */
interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Index of names[0]; months count from 1. */
  nameBase?: number;
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

const SECOND: FieldRule = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldRule = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldRule = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: FieldRule = { name: 'day of month', min: 1, max: 31 };
const MONTH: FieldRule = { name: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 };
// 7 is Sunday too, as in most crons.
const DAY_OF_WEEK: FieldRule = { name: 'day of week', min: 0, max: 7, names: DAY_NAMES, nameBase: 0 };
const YEAR: FieldRule = { name: 'year', min: 1970, max: 2999 };

const LAYOUTS: Record<number, FieldRule[]> = {
  5: [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK],
  6: [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
  7: [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR],
};

const SHORTHANDS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly'];

/** Undefined when the expression is valid, else what is wrong with it. */
export function cronProblem(expr: unknown): string | undefined {
  if (typeof expr !== 'string' || expr.trim() === '') return `${JSON.stringify(expr)} is not a cron expression such as "0 3 * * *"`;
  const text = expr.replace(/#.*$/, '').trim();
  if (/^(CRON_)?TZ=/i.test(text)) return `"${expr}": put the time zone in the entry's timezone field, not in the cron expression`;
  if (text.startsWith('@')) {
    if (/^@every\b/i.test(text)) return `"${expr}": use the entry's interval field (e.g. interval: 15m) instead of @every`;
    if (!SHORTHANDS.includes(text.toLowerCase())) return `"${expr}" is not one of ${SHORTHANDS.join(', ')}`;
    return undefined;
  }
  const fields = text.split(/\s+/);
  const layout = LAYOUTS[fields.length];
  if (!layout) {
    return `"${expr}" has ${fields.length} fields; write 5 (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"`;
  }
  for (let i = 0; i < fields.length; i++) {
    const problem = fieldProblem(fields[i], layout[i]);
    if (problem) return `"${expr}": ${layout[i].name} field "${fields[i]}" ${problem}`;
  }
  return undefined;
}

function fieldProblem(field: string, rule: FieldRule): string | undefined {
  for (const item of field.split(',')) {
    const m = /^(\*|[^-/]+(?:-[^-/]+)?)(?:\/(\d+))?$/.exec(item);
    if (!m) return `has an item "${item}" that is not *, a value, a range a-b or a step x/n`;
    if (m[2] !== undefined && Number(m[2]) < 1) return 'has a step of 0';
    if (m[1] === '*') continue;
    for (const v of m[1].split('-')) {
      const n = valueOf(v, rule);
      if (n === undefined) {
        const names = rule.names ? ` or ${rule.names[0]}..${rule.names[rule.names.length - 1]}` : '';
        return `has "${v}", not a value in ${rule.min}..${rule.max}${names}`;
      }
    }
  }
  return undefined;
}

function valueOf(v: string, rule: FieldRule): number | undefined {
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    return n >= rule.min && n <= rule.max ? n : undefined;
  }
  const i = rule.names?.indexOf(v.toUpperCase() as never) ?? -1;
  return i >= 0 ? i + (rule.nameBase ?? 0) : undefined;
}
