/**
 * The schedule definitions file (YAML or JSON; see examples/schedules.yaml and docs/schedules.md): one entry
 * per export, validated in full so every problem is reported at once, each naming the line, the entry and the
 * field. Defaults are filled in here and nowhere else. Pure: no Node imports.
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import { InvalidInputError } from '../../common/failures';
import { resolveExportInput } from '../../common/export/input';
import { resolveSnapshotSetInput, type SnapshotSetInput } from '../../common/export/snapshot-set';
import type { BulkExportInput } from '../../common/export/types';
import { checkRetentionRule, resolveExpireInput } from '../../common/retention/input';
import type { ExpireInput, RetentionRule } from '../../common/retention/types';
import { Problems } from '../../common/failures';
import { cronProblem } from './cron';
import { parseDuration } from './duration';

export const OVERLAP_POLICIES = ['skip', 'bufferOne', 'bufferAll', 'cancelOther', 'terminateOther', 'allowAll'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** The export's input as a schedule starts it: no logicalTime, the workflow takes the fire's scheduled time. */
export type ScheduledExportInput = Omit<BulkExportInput, 'logicalTime'>;
/** A snapshot set's input as a schedule starts it (an entry with `members`). */
export type ScheduledSetInput = Omit<SnapshotSetInput, 'logicalTime'>;

/** When and how a schedule fires: what every entry has, whatever workflow it starts. */
interface ScheduleEntryBase {
  /** The export name (or, for the expiry schedule, `expire:<scheduleSet>`); also names the Temporal Schedule. */
  name: string;
  /** Cron expressions (the schedule fires at their union)... */
  cron?: string[];
  /** ...or a fixed interval since the Unix epoch, shifted by offset. Exactly one of the two. */
  interval?: { everyMs: number; offsetMs: number };
  timezone: string;
  jitterMs: number;
  catchupWindowMs: number;
  overlap: OverlapPolicy;
  pauseOnFailure: boolean;
  paused: boolean;
  note?: string;
  /** Task queue of the worker that runs the exports; undefined means the client's TEMPORAL_TASK_QUEUE. */
  taskQueue?: string;
}

/**
 * One validated export entry with every default filled in: its schedule starts bulkExport, or snapshotSet for an
 * entry with `members` (several objects AS OF one timestamp, published together).
 */
export type ExportScheduleEntry = SingleExportScheduleEntry | SetScheduleEntry;

export interface SingleExportScheduleEntry extends ScheduleEntryBase {
  kind: 'export';
  input: ScheduledExportInput;
  /** Which of its logical times the file's expiry schedule keeps (docs/retention.md). */
  retention?: RetentionRule;
  expire?: undefined;
}

export interface SetScheduleEntry extends ScheduleEntryBase {
  kind: 'set';
  input: ScheduledSetInput;
  /** Which of its logical times the file's expiry schedule keeps (docs/retention.md). */
  retention?: RetentionRule;
  expire?: undefined;
}

/** The file's expiry schedule (top-level `expiry`): it starts expireExports over every entry with a retention rule. */
export interface ExpiryScheduleEntry extends ScheduleEntryBase {
  kind: 'expiry';
  expire: ExpireInput;
  input?: undefined;
  retention?: undefined;
}

export type ScheduleEntry = ExportScheduleEntry | ExpiryScheduleEntry;

/** The expiry schedule's name (and so its id, `mz-s3-export:expire:<set>`): ':' is in no export name, so it never collides. */
export function expiryEntryName(scheduleSet: string): string {
  return `expire:${scheduleSet}`;
}

export interface ScheduleFile {
  /** Groups the schedules of one file: apply deletes only schedules of this set that the file no longer has. */
  scheduleSet: string;
  /** The exports, then the expiry schedule when the file has one. */
  entries: ScheduleEntry[];
}

export const SCHEDULE_DEFAULTS = {
  scheduleSet: 'default',
  timezone: 'UTC',
  jitter: '0s',
  // Temporal's own default is a year; after an outage, an export a day late is still wanted, a month late rarely.
  catchupWindow: '1d',
  overlap: 'skip' as OverlapPolicy,
  pauseOnFailure: false,
  paused: false,
} as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const NAME_RULE = '1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit';

const INPUT_KEYS = [
  'connectionName',
  'object',
  'query',
  'bucket',
  'prefix',
  'format',
  'maxFileSize',
  'csvHeader',
  'materializeProfile',
  'storageProfile',
  'maxAttempts',
  'publishLatest',
  'notify',
  'tuning',
  'cluster',
] as const;
/** A snapshot set's fields (its members carry object/query, format and options). */
const SET_INPUT_KEYS = [
  'connectionName', 'bucket', 'prefix', 'members', 'cluster', 'materializeProfile', 'storageProfile', 'maxParallel', 'maxSetAttempts', 'maxAttempts',
  'publishLatest', 'notify', 'tuning',
] as const;
const SET_ONLY_KEYS: readonly string[] = ['members', 'maxParallel', 'maxSetAttempts'];
const MEMBER_KEYS: readonly string[] = ['object', 'query', 'format', 'maxFileSize', 'csvHeader'];
const TIMING_KEYS = ['cron', 'interval', 'timezone', 'jitter', 'catchupWindow', 'overlap', 'pauseOnFailure', 'paused', 'note', 'taskQueue'] as const;
const ENTRY_KEYS: readonly string[] = ['name', ...INPUT_KEYS, ...SET_ONLY_KEYS, ...TIMING_KEYS, 'retention'];
const EXPIRY_KEYS: readonly string[] = [...TIMING_KEYS, 'recentWriteSeconds'];
const TOP_KEYS = ['version', 'scheduleSet', 'defaults', 'exports', 'expiry'];

type Path = (string | number)[];
type Raw = Record<string, unknown>;

class FileProblems {
  private readonly items: { line?: number; text: string }[] = [];
  constructor(
    private readonly fileName: string,
    private readonly doc?: Document,
    private readonly lines?: LineCounter,
  ) {}

  add(path: Path, where: string, message: string): void {
    this.items.push({ line: this.lineOf(path), text: `${where}${message}` });
  }

  get count(): number {
    return this.items.length;
  }

  throwIfAny(): void {
    if (!this.items.length) return;
    // In file order; sort is stable, so problems of one line keep the order they were found in.
    const sorted = [...this.items].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    const lines = sorted.map((p) => `${this.fileName}${p.line ? `:${p.line}` : ''}: ${p.text}`);
    throw new InvalidInputError(`${this.fileName} is invalid:\n  - ${lines.join('\n  - ')}`);
  }

  private lineOf(path: Path): number | undefined {
    if (!this.doc || !this.lines) return undefined;
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return this.lines.linePos(node.range[0]).line;
    }
    return undefined;
  }
}

/**
 * Parses and validates a schedule file. fileName only labels messages; a name ending in .json is parsed as
 * strict JSON, anything else as YAML.
 */
export function parseScheduleFile(text: string, fileName = 'schedules.yaml'): ScheduleFile {
  if (/\.json$/i.test(fileName)) {
    try {
      JSON.parse(text);
    } catch (e) {
      throw new InvalidInputError(`schedule file ${fileName} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length) {
    throw new InvalidInputError(`schedule file ${fileName} is not valid YAML:\n  - ${doc.errors.map((e) => e.message.trim()).join('\n  - ')}`);
  }
  const problems = new FileProblems(fileName, doc, lines);
  let raw: unknown;
  try {
    // The yaml package refuses to expand excessive aliases (a "billion laughs" file) with a ReferenceError.
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new InvalidInputError(`schedule file ${fileName} cannot be read: ${(e as Error).message}`);
  }
  const result = validate(raw, problems);
  problems.throwIfAny();
  return result;
}

/** Validates an already parsed document (e.g. built in code); messages name entries and fields but no lines. */
export function validateScheduleDocument(raw: unknown, label = 'schedule definitions'): ScheduleFile {
  const problems = new FileProblems(label);
  const result = validate(raw, problems);
  problems.throwIfAny();
  return result;
}

function validate(raw: unknown, problems: FileProblems): ScheduleFile {
  const file: ScheduleFile = { scheduleSet: SCHEDULE_DEFAULTS.scheduleSet, entries: [] };
  if (!isObject(raw)) {
    problems.add([], '', 'must be a mapping with an "exports" list (see examples/schedules.yaml)');
    return file;
  }
  for (const key of Object.keys(raw)) {
    if (!TOP_KEYS.includes(key)) problems.add([key], '', `unknown top-level field "${key}"; expected ${TOP_KEYS.join(', ')}`);
  }
  if (raw.version !== undefined && raw.version !== 1) problems.add(['version'], 'version: ', `${JSON.stringify(raw.version)} is not supported; use 1`);
  if (raw.scheduleSet !== undefined) {
    if (typeof raw.scheduleSet === 'string' && NAME.test(raw.scheduleSet)) file.scheduleSet = raw.scheduleSet;
    else problems.add(['scheduleSet'], 'scheduleSet: ', `${JSON.stringify(raw.scheduleSet)} must be ${NAME_RULE}`);
  }

  let defaults: Raw = {};
  if (raw.defaults !== undefined) {
    if (!isObject(raw.defaults)) problems.add(['defaults'], 'defaults: ', 'must be a mapping of entry fields');
    else {
      defaults = raw.defaults;
      for (const key of Object.keys(defaults)) {
        if (key === 'name') problems.add(['defaults', key], 'defaults: ', 'name cannot have a default; each export names itself');
        else if (!ENTRY_KEYS.includes(key)) problems.add(['defaults', key], 'defaults: ', unknownFieldMessage(key));
      }
    }
  }

  if (!Array.isArray(raw.exports) || raw.exports.length === 0) {
    problems.add(['exports'], 'exports: ', 'must be a non-empty list of export schedules');
    return file;
  }
  const seen = new Map<string, number>();
  raw.exports.forEach((item: unknown, i: number) => {
    const label = isObject(item) && typeof item.name === 'string' ? `exports[${i}] "${item.name}"` : `exports[${i}]`;
    const name = isObject(item) ? item.name : undefined;
    if (typeof name === 'string') {
      const first = seen.get(name);
      if (first !== undefined) problems.add(['exports', i, 'name'], `${label}: name: `, `"${name}" is already used by exports[${first}]; names must be unique`);
      else seen.set(name, i);
    }
    const entry = validateEntry(item, { ...defaults }, i, label, problems);
    if (entry) file.entries.push(entry);
  });
  const expiry = validateExpiry(raw.expiry, file.scheduleSet, file.entries as ExportScheduleEntry[], problems);
  if (expiry) file.entries.push(expiry);
  return file;
}

function validateEntry(item: unknown, defaults: Raw, i: number, label: string, problems: FileProblems): ExportScheduleEntry | undefined {
  const at = (field: string): Path => ['exports', i, field];
  const add = (field: string, message: string) => problems.add(at(field), `${label}: ${field}: `, message);
  if (!isObject(item)) {
    problems.add(['exports', i], `${label}: `, 'must be a mapping with at least name, connectionName, object or query, bucket, prefix, format and cron or interval');
    return undefined;
  }
  for (const key of Object.keys(item)) {
    if (!ENTRY_KEYS.includes(key)) problems.add(at(key), `${label}: `, unknownFieldMessage(key));
  }
  // An entry that says when it fires replaces the default's timing as a whole (cron and interval exclude each other).
  const timingDefaults = item.cron !== undefined || item.interval !== undefined ? { cron: undefined, interval: undefined } : {};
  const v: Raw = { ...defaults, ...timingDefaults, ...item };
  const before = problems.count;

  const name = v.name;
  if (typeof name !== 'string' || !NAME.test(name)) add('name', `${JSON.stringify(name)} must be ${NAME_RULE}`);

  // The export's (or set's) own input, checked by the same function the workflow runs first.
  const kind = v.members !== undefined ? 'set' : 'export';
  const input = (kind === 'set' ? { setName: name } : { exportName: name }) as Raw;
  for (const key of kind === 'set' ? SET_INPUT_KEYS : INPUT_KEYS) if (v[key] !== undefined) input[key] = v[key];
  if (kind === 'set') for (const key of MEMBER_KEYS) if (item[key] !== undefined) add(key, 'belongs in each member of a snapshot set (members: [{name, object or query, format}])');
  if (kind === 'export') for (const key of SET_ONLY_KEYS) if (item[key] !== undefined) add(key, 'is for snapshot sets only (an entry with members)');
  // retention works for sets too: expiry deletes a set's expired logical time with its members/ folders.
  try {
    if (kind === 'set') resolveSnapshotSetInput(input);
    else resolveExportInput(input);
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    for (const line of e.message.split('\n').filter((l) => l.startsWith('  - '))) {
      const m = /^ {2}- ([\w./[\]]+): ([\s\S]*)$/.exec(line);
      const field = m ? m[1].split(/[./[]/)[0] : 'input';
      if (field !== 'exportName' && field !== 'setName') add(field, m ? (/[.[]/.test(m[1]) ? `${m[1]}: ${m[2]}` : m[2]) : line.slice(4));
    }
  }

  let retention: RetentionRule | undefined;
  if (v.retention !== undefined) {
    if (!isObject(v.retention)) add('retention', 'must be a mapping such as {keepLast: 30, keepWithin: 90d}');
    else {
      const rule = v.retention as RetentionRule & Raw;
      for (const key of Object.keys(rule)) if (key !== 'keepLast' && key !== 'keepWithin') add('retention', `unknown field "${key}"; use keepLast and keepWithin`);
      const ruleProblems = new Problems();
      checkRetentionRule(rule, 'retention', ruleProblems);
      for (const line of ruleProblems.list) add('retention', line.replace(/^retention(\.\w+)?: /, (_m, sub: string | undefined) => (sub ? `${sub.slice(1)}: ` : '')));
      retention = { ...(rule.keepLast !== undefined ? { keepLast: rule.keepLast } : {}), ...(rule.keepWithin !== undefined ? { keepWithin: rule.keepWithin } : {}) };
    }
  }
  const timing = validateTiming(v, add, () => problems.add(at('paused'), `${label}: note: `, PAUSED_NEEDS_NOTE));

  if (problems.count > before || !timing) return undefined;
  if (kind === 'set') return { name: name as string, kind, input: input as unknown as ScheduledSetInput, ...(retention ? { retention } : {}), ...timing };
  return { name: name as string, kind, input: input as unknown as ScheduledExportInput, ...(retention ? { retention } : {}), ...timing };
}

const PAUSED_NEEDS_NOTE = 'is required when paused: true; say why and until when, e.g. note: "waiting for the orders backfill"';

/** When and how an entry fires (exports and the expiry schedule alike); undefined when a problem was added. */
function validateTiming(v: Raw, add: (field: string, message: string) => void, pausedWithoutNote: () => void): Omit<ScheduleEntryBase, 'name'> | undefined {
  let failed = false;
  const problem = (field: string, message: string) => {
    failed = true;
    add(field, message);
  };
  let cron: string[] | undefined;
  let interval: ScheduleEntryBase['interval'];
  if ((v.cron === undefined) === (v.interval === undefined)) {
    problem(v.cron === undefined ? 'cron' : 'interval', 'give exactly one of cron (e.g. "0 3 * * *") and interval (e.g. 15m)');
  }
  if (v.cron !== undefined) {
    const list = typeof v.cron === 'string' ? [v.cron] : v.cron;
    if (!Array.isArray(list) || list.length === 0) problem('cron', 'must be a cron expression or a non-empty list of them');
    else {
      for (const expr of list) {
        const p = cronProblem(expr);
        if (p) problem('cron', p);
      }
      cron = (list as string[]).map((s) => String(s).trim());
    }
  }
  if (v.interval !== undefined) interval = parseInterval(v.interval, (m) => problem('interval', m));
  const timezone = v.timezone ?? SCHEDULE_DEFAULTS.timezone;
  if (typeof timezone !== 'string' || !isTimeZone(timezone))
    problem('timezone', `${JSON.stringify(timezone)} is not an IANA time zone such as UTC, Europe/Berlin or America/New_York`);
  const jitterMs = durationField(v.jitter ?? SCHEDULE_DEFAULTS.jitter, (m) => problem('jitter', m));
  const catchupWindowMs = durationField(v.catchupWindow ?? SCHEDULE_DEFAULTS.catchupWindow, (m) => problem('catchupWindow', m));
  // Temporal refuses catch-up windows under 10 seconds.
  if (catchupWindowMs !== undefined && catchupWindowMs < 10_000) problem('catchupWindow', 'must be at least 10s');
  const overlap = parseOverlap(v.overlap ?? SCHEDULE_DEFAULTS.overlap);
  if (!overlap) problem('overlap', `${JSON.stringify(v.overlap)} must be one of ${OVERLAP_POLICIES.join(', ')}`);
  const pauseOnFailure = v.pauseOnFailure ?? SCHEDULE_DEFAULTS.pauseOnFailure;
  if (typeof pauseOnFailure !== 'boolean') problem('pauseOnFailure', 'must be true or false');
  const paused = v.paused ?? SCHEDULE_DEFAULTS.paused;
  if (typeof paused !== 'boolean') problem('paused', 'must be true or false');
  if (v.note !== undefined && (typeof v.note !== 'string' || v.note.trim() === '')) problem('note', 'must be a non-empty text');
  if (paused === true && v.note === undefined) {
    failed = true;
    pausedWithoutNote();
  }
  if (v.taskQueue !== undefined && (typeof v.taskQueue !== 'string' || v.taskQueue.trim() === '')) problem('taskQueue', 'must be a non-empty task queue name');
  if (failed) return undefined;
  return {
    ...(cron ? { cron } : { interval }),
    timezone: timezone as string,
    jitterMs: jitterMs!,
    catchupWindowMs: catchupWindowMs!,
    overlap: overlap!,
    pauseOnFailure: pauseOnFailure as boolean,
    paused: paused as boolean,
    ...(v.note !== undefined ? { note: (v.note as string).trim() } : {}),
    ...(v.taskQueue !== undefined ? { taskQueue: v.taskQueue as string } : {}),
  };
}

/**
 * The top-level `expiry` block: when the expiry schedule fires, over every entry with a `retention` rule (its
 * bucket, prefix and name). Each needs the other: retention without an expiry schedule would never run.
 */
function validateExpiry(raw: unknown, scheduleSet: string, entries: ExportScheduleEntry[], problems: FileProblems): ExpiryScheduleEntry | undefined {
  const ruled = entries.filter((e) => e.retention);
  if (raw === undefined) {
    if (ruled.length) problems.add(['exports'], 'expiry: ', `${ruled.map((e) => `"${e.name}"`).join(', ')} set retention, but the file has no expiry schedule; add e.g. expiry: {cron: "30 4 * * *"}`);
    return undefined;
  }
  const add = (field: string, message: string) => problems.add(['expiry', field], `expiry: ${field}: `, message);
  if (!isObject(raw)) {
    problems.add(['expiry'], 'expiry: ', 'must be a mapping with cron or interval (when retention runs), e.g. {cron: "30 4 * * *"}');
    return undefined;
  }
  const before = problems.count;
  for (const key of Object.keys(raw)) if (!EXPIRY_KEYS.includes(key)) add(key, `unknown field; expected ${EXPIRY_KEYS.join(', ')}`);
  if (!ruled.length) problems.add(['expiry'], 'expiry: ', 'no export sets retention; add retention: {keepLast: N} and/or {keepWithin: 30d} to the exports to expire, or remove expiry');
  const timing = validateTiming(raw, add, () => problems.add(['expiry', 'paused'], 'expiry: note: ', PAUSED_NEEDS_NOTE));
  const expire: ExpireInput = {
    // Each in its entry's store: retention of an export to an S3-compatible store lists and deletes there.
    targets: ruled.map((e) => ({
      bucket: e.input.bucket,
      prefix: e.input.prefix,
      ...(e.input.storageProfile !== undefined ? { storageProfile: e.input.storageProfile } : {}),
      name: e.name,
      ...e.retention,
    })),
    apply: true,
    ...(raw.recentWriteSeconds !== undefined ? { recentWriteSeconds: raw.recentWriteSeconds as number } : {}),
  };
  try {
    resolveExpireInput(expire); // the workflow's own check: prefixes, names, recentWriteSeconds
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    for (const line of e.message.split('\n').filter((l) => l.startsWith('  - '))) add('recentWriteSeconds', line.slice(4));
  }
  if (problems.count > before || !timing) return undefined;
  return { name: expiryEntryName(scheduleSet), kind: 'expiry', expire, ...timing };
}

function unknownFieldMessage(key: string): string {
  if (key === 'logicalTime') return 'logicalTime cannot be set in a schedule: each fire takes its scheduled time as its logical time';
  const close = ENTRY_KEYS.find((k) => k.toLowerCase() === key.toLowerCase() || editDistance(k, key) <= 2);
  return `unknown field "${key}"${close ? `; did you mean ${close}?` : ''}`;
}

function parseInterval(raw: unknown, problem: (m: string) => void): ScheduleEntry['interval'] {
  const obj = typeof raw === 'string' ? { every: raw } : raw;
  if (!isObject(obj)) {
    problem('must be a duration such as 15m, or {every: 1h, offset: 5m}');
    return undefined;
  }
  for (const k of Object.keys(obj)) if (k !== 'every' && k !== 'offset') problem(`unknown field "${k}"; use every and offset`);
  const everyMs = durationField(obj.every, (m) => problem(`every: ${m}`));
  const offsetMs = durationField(obj.offset ?? '0s', (m) => problem(`offset: ${m}`));
  if (everyMs === undefined || offsetMs === undefined) return undefined;
  // Temporal rounds to whole seconds; demand them so what fires is what the file says.
  if (everyMs < 1000 || everyMs % 1000 !== 0) problem('every must be a whole number of seconds, at least 1s');
  else if (offsetMs % 1000 !== 0 || offsetMs >= everyMs) problem('offset must be whole seconds and shorter than every');
  return { everyMs, offsetMs };
}

function durationField(raw: unknown, problem: (m: string) => void): number | undefined {
  const d = parseDuration(raw);
  if ('problem' in d) {
    problem(d.problem);
    return undefined;
  }
  return d.ms;
}

/** Accepts skip, bufferOne, buffer_one, BUFFER_ONE, buffer-one... */
export function parseOverlap(raw: unknown): OverlapPolicy | undefined {
  if (typeof raw !== 'string') return undefined;
  const flat = raw.replace(/[-_\s]/g, '').toLowerCase();
  return OVERLAP_POLICIES.find((p) => p.toLowerCase() === flat);
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}
