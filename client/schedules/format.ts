/** Text forms of plans and schedules for the terminal. */
import { describeRule } from '../../common/retention/input';
import type { ScheduleEntry } from './file';
import { formatDuration } from './duration';
import type { Plan } from './reconcile';

const MARK = { create: '+', update: '~', delete: '-', unchanged: '=', conflict: '!' } as const;

export function formatPlan(plan: Plan): string {
  const lines = [`Schedule set "${plan.scheduleSet}" in namespace ${plan.namespace}:`];
  if (!plan.items.length) lines.push('  (no schedules)');
  for (const item of plan.items) {
    const head = `  ${MARK[item.action]} ${item.action.padEnd(9)} ${item.scheduleId}`;
    switch (item.action) {
      case 'create':
      case 'unchanged':
        lines.push(`${head}  ${describeEntry(item.entry)}`);
        break;
      case 'update':
        lines.push(head);
        for (const c of item.changes) lines.push(`        ${c.field}: ${show(c.from)} → ${show(c.to)}`);
        break;
      case 'delete':
        lines.push(`${head}  (no longer in the file; past runs and exported data stay)`);
        break;
      case 'conflict':
        lines.push(`${head}  ${item.reason}`);
        break;
    }
  }
  const count = (a: string) => plan.items.filter((i) => i.action === a).length;
  lines.push(
    `Plan: ${count('create')} to create, ${count('update')} to update, ${count('delete')} to delete, ${count('unchanged')} unchanged` +
      (count('conflict') ? `, ${count('conflict')} in conflict (apply will refuse)` : '') +
      '.',
  );
  return lines.join('\n');
}

/** One line: when it fires and what it exports where. */
export function describeEntry(e: ScheduleEntry): string {
  const when = e.cron
    ? `cron ${e.cron.map((c) => `"${c}"`).join(' + ')}`
    : `every ${formatDuration(e.interval!.everyMs)}${e.interval!.offsetMs ? ` offset ${formatDuration(e.interval!.offsetMs)}` : ''}`;
  const paused = e.paused ? `, PAUSED: ${e.note}` : '';
  if (e.expire) return `${when} ${e.timezone}, expire old logical times of ${e.expire.targets.map((t) => `${t.name} (${describeRule(t)})`).join(', ')}${paused}`;
  const where = `s3://${e.input.bucket}/${e.input.prefix.replace(/\/$/, '')}/${e.name}/`;
  if (e.kind === 'set') return `${when} ${e.timezone}, snapshot set of ${e.input.members.map((m) => m.name).join(', ')} → ${where}${paused}`;
  return `${when} ${e.timezone}, ${e.input.format} of ${e.input.object ?? '(query)'} → ${where}${paused}`;
}

function show(v: unknown): string {
  return v === undefined ? '(none)' : JSON.stringify(v);
}
