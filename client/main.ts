/**
 * The client script `mz-s3-export`. Each command lives in client/commands/<name>.ts and exports `usage` and
 * `run(args)`; this file only dispatches.
 */
import { InvalidInputError } from '../common/failures';
import { parseArgs, UsageError, type ParsedArgs } from './args';

interface Command {
  usage: string;
  run(args: ParsedArgs): Promise<void>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  stack: () => import('./commands/stack'),
  worker: () => import('./commands/worker'),
  doctor: () => import('./commands/doctor'),
  schedules: () => import('./commands/schedules'),
  runs: () => import('./commands/runs'),
  status: () => import('./commands/status'),
  demo: () => import('./commands/demo'),
  onboard: () => import('./commands/onboard'),
  offboard: () => import('./commands/offboard'),
  export: () => import('./commands/export'),
  setup: () => import('./commands/setup'),
};

const BOOLEAN_FLAGS = ['json', 'plan', 'keep', 'random-ports', 'persist', 'no-sample-data', 'no-wait', 'help', 'delete-data', 'yes', 'wait', 'check'];

async function printHelp(): Promise<void> {
  const usages = await Promise.all(Object.values(COMMANDS).map(async (load) => (await load()).usage));
  console.log(`usage: mz-s3-export <command> [options]\n\n${usages.join('\n')}\n\nSee README.md for the environment variables.`);
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv, BOOLEAN_FLAGS);
  const name = args.positionals[0];
  if (!name || name === 'help' || args.flags.help) return printHelp();
  const load = COMMANDS[name];
  if (!load) throw new UsageError(`unknown command "${name}"; run 'mz-s3-export help'`);
  await (await load()).run(args);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    const known = e instanceof UsageError || e instanceof InvalidInputError;
    console.error(`mz-s3-export: ${known ? e.message : (e.stack ?? e.message)}`);
    process.exit(known ? 2 : 1);
  });
}
