/**
 * The client script `mz-s3-export`. Each command lives in client/commands/<name>.ts and exports `usage`, its
 * `options` (all it accepts: anything else is an error naming it) and `run(args)`; this file only dispatches.
 */
import { InvalidInputError } from '../common/failures';
import { CliError, formatOptions, parseArgs, UsageError, type OptionSpecs, type ParsedArgs } from './args';

export interface Command {
  usage: string;
  /** The command's options; a function when they depend on the subcommand (`schedules pause` vs `schedules apply`). */
  options: OptionSpecs | ((subcommand: string | undefined) => OptionSpecs);
  run(args: ParsedArgs): Promise<void>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  stack: () => import('./commands/stack'),
  worker: () => import('./commands/worker'),
  doctor: () => import('./commands/doctor'),
  schedules: () => import('./commands/schedules'),
  runs: () => import('./commands/runs'),
  status: () => import('./commands/status'),
  cancel: () => import('./commands/cancel'),
  demo: () => import('./commands/demo'),
  onboard: () => import('./commands/onboard'),
  offboard: () => import('./commands/offboard'),
  export: () => import('./commands/export'),
  set: () => import('./commands/set'),
  expire: () => import('./commands/expire'),
  setup: () => import('./commands/setup'),
  'iam-policy': () => import('./commands/iam-policy'),
};

async function printHelp(): Promise<void> {
  const usages = await Promise.all(Object.values(COMMANDS).map(async (load) => (await load()).usage));
  console.log(
    `usage: mz-s3-export <command> [options]\n\n${usages.join('\n')}\n\n` +
      "'mz-s3-export <command> --help' lists a command's options; docs/cli.md has the details and the environment variables.",
  );
}

export async function main(argv: string[]): Promise<void> {
  const name = argv[0];
  if (!name || name === 'help' || name === '--help' || name === '-h') return printHelp();
  const load = COMMANDS[name];
  if (!load) throw new UsageError(`unknown command "${name}"; run 'mz-s3-export help'`);
  const command = await load();
  const sub = argv[1] && !argv[1].startsWith('-') ? argv[1] : undefined;
  const specs = typeof command.options === 'function' ? command.options(sub) : command.options;
  const args = parseArgs(argv, specs, typeof command.options === 'function' && sub ? `${name} ${sub}` : name);
  if (args.flags.help) {
    console.log(`usage: mz-s3-export ${command.usage}\n\noptions:\n${formatOptions(specs)}`);
    return;
  }
  await command.run(args);
}

if (require.main === module) {
  // `mz-s3-export runs | head` closes stdout early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(process.argv.slice(2)).catch((e: Error) => {
    const known = e instanceof CliError || e instanceof InvalidInputError;
    console.error(`mz-s3-export: ${known ? e.message : (e.stack ?? e.message)}`);
    process.exit(e instanceof CliError ? e.exitCode : known ? 2 : 1);
  });
}
