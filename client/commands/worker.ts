/** `mz-s3-export worker`: run the worker in the foreground (Ctrl-C stops it gracefully). */
import { expectPositionals, type OptionSpecs, type ParsedArgs } from '../args';
import { runWorker } from '../../worker/main';

export const usage = `worker                                                      run a worker on TEMPORAL_TASK_QUEUE (default mz-s3-export)`;

export const options: OptionSpecs = {};

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 1, 'worker takes no arguments; configure it with the environment (docs/cli.md)');
  await runWorker();
}
