/**
 * Command-line parsing: node:util parseArgs in strict mode, with the options each command declares. An unknown
 * or misspelled option is an error naming it (with the closest known option), never silently ignored: an
 * ignored `--hedaer` would run a different export than the one asked for. Typed flag readers follow.
 */
import * as fs from 'node:fs';
import { parseArgs as nodeParseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** One line for `<command> --help`. */
  help: string;
  /** The placeholder shown after a string option in help (default VALUE). */
  value?: string;
}
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | boolean | undefined>;
}

/** Every command takes --help. */
export const HELP_OPTION: OptionSpecs = { help: { type: 'boolean', short: 'h', help: "print this command's usage and options" } };

/** Shared option specs, so the same flag reads the same everywhere. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean', help: 'print the result as JSON on stdout (progress goes to stderr)' },
  noWait: { type: 'boolean', help: 'only start the run and print its ids' },
  workflowId: { type: 'string', value: 'ID', help: 'the workflow id to use (default: derived from the input)' },
  waitForWorker: { type: 'boolean', help: 'start and wait even when no worker polls the task queue yet' },
  profile: { type: 'string', value: 'NAME', help: "the worker's Materialize profile (MZ_URL_<NAME>; default MZ_URL)" },
  storageProfile: { type: 'string', value: 'NAME', help: "an S3-compatible store: the worker's storage profile (MZ_S3_EXPORT_STORAGE_<NAME>_*; default: AWS S3)" },
} as const satisfies OptionSpecs;

/** What every command that starts a workflow and waits for it takes (client/follow.ts and client/worker-check.ts read them). */
export const START_OPTIONS = {
  'workflow-id': COMMON_OPTIONS.workflowId,
  'no-wait': COMMON_OPTIONS.noWait,
  'wait-for-worker': COMMON_OPTIONS.waitForWorker,
  json: COMMON_OPTIONS.json,
} as const satisfies OptionSpecs;

/**
 * Parses argv (the command name first) against the command's options. Throws a UsageError naming every unknown
 * option, with a suggestion, or the first malformed one (a string option without a value, a value given to a
 * boolean option).
 */
export function parseArgs(argv: string[], specs: OptionSpecs, command = argv[0] ?? ''): ParsedArgs {
  const all: OptionSpecs = { ...HELP_OPTION, ...specs };
  const options = Object.fromEntries(
    Object.entries(all).map(([name, s]) => [name, s.short ? { type: s.type, short: s.short } : { type: s.type }]),
  );
  // A lenient pass first: strict mode stops at the first unknown option, and a user with two typos should
  // learn of both at once.
  const { tokens } = nodeParseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const unknown = tokens.filter((t) => t.kind === 'option' && !Object.hasOwn(all, t.name)) as { rawName: string; name: string }[];
  if (unknown.length) {
    const named = unknown.map((t) => {
      const guess = closest(t.name, Object.keys(all));
      return `${t.rawName}${guess ? ` (did you mean --${guess}?)` : ''}`;
    });
    throw new UsageError(
      `unknown option${named.length > 1 ? 's' : ''} ${named.join(', ')} for '${command}'; 'mz-s3-export ${command} --help' lists its options`,
    );
  }
  try {
    const { values, positionals } = nodeParseArgs({ args: argv, options, strict: true, allowPositionals: true });
    return { positionals, flags: { ...values } as ParsedArgs['flags'] };
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code?.startsWith('ERR_PARSE_ARGS_')) throw new UsageError(`${command}: ${err.message}`);
    throw e;
  }
}

/** The known name nearest to a misspelled one (edit distance at most 2, or one is a prefix of the other). */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = k.startsWith(name) || name.startsWith(k) ? 1 : editDistance(name, k);
    if (d <= 2 && (!best || d < best.d)) best = { name: k, d };
  }
  return best?.name;
}

/** Damerau-Levenshtein (optimal string alignment): a swapped pair of letters, as in --hedaer, counts once. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The option list `<command> --help` prints under the usage. */
export function formatOptions(specs: OptionSpecs): string {
  const rows = Object.entries({ ...specs, ...HELP_OPTION }).map(([name, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${name}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}`;
    return [flag, s.help];
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`).join('\n');
}

/** Refuses positionals beyond the command's own (the command name and its subcommand or id). */
export function expectPositionals(args: ParsedArgs, max: number, what: string): void {
  const extra = args.positionals.slice(max);
  if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}; ${what}`);
}

/** A string flag's value, or an error naming the flag when it is required and absent. */
export function stringFlag(args: ParsedArgs, name: string, required: true): string;
export function stringFlag(args: ParsedArgs, name: string, required?: false): string | undefined;
export function stringFlag(args: ParsedArgs, name: string, required = false): string | undefined {
  const v = args.flags[name];
  if (v === undefined) {
    if (required) throw new UsageError(`--${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new UsageError(`--${name} needs a value`);
  return v;
}

export function numberFlag(args: ParsedArgs, name: string): number | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, not "${v}"`);
  return n;
}

/** A string option that holds true or false (for fields whose default is true, such as --create-bucket). */
export function booleanValueFlag(args: ParsedArgs, name: string): boolean | undefined {
  const v = args.flags[name];
  if (v === undefined) return undefined;
  if (v === true || v === 'true') return true;
  if (v === 'false') return false;
  throw new UsageError(`--${name} must be true or false, not "${v}"`);
}

/** The JSON object of --file (the same JSON the Temporal Web UI takes), or {} without --file. */
function readInputFile(args: ParsedArgs): Record<string, unknown> {
  const file = stringFlag(args, 'file');
  if (!file) return {};
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--file ${file}: ${(e as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed;
  } catch (e) {
    throw new UsageError(`--file ${file} must hold one JSON object: ${(e as Error).message}`);
  }
}

/** A workflow input: the --file object with string flags laid over it (flag name -> input field). */
export function inputFromFileAndFlags(args: ParsedArgs, fields: Record<string, string>): Record<string, unknown> {
  const input: Record<string, unknown> = { ...readInputFile(args) };
  for (const [flag, field] of Object.entries(fields)) {
    const v = stringFlag(args, flag);
    if (v !== undefined) input[field] = v;
  }
  return input;
}

/** An error the CLI reports as its message alone (no stack) with its own exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The command line itself is wrong: exit code 2. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, 2);
  }
}
