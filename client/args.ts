/** A small argument parser: positionals, `--name value`, `--name=value`, and boolean `--flag`; typed flag readers. */
import * as fs from 'node:fs';

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | boolean>;
}

export function parseArgs(argv: string[], booleanFlags: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    if (eq !== -1) flags[name] = a.slice(eq + 1);
    else if (booleanFlags.includes(name) || i + 1 >= argv.length || argv[i + 1].startsWith('--')) flags[name] = true;
    else flags[name] = argv[++i];
  }
  return { positionals, flags };
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

export class UsageError extends Error {
  override name = 'UsageError';
}
