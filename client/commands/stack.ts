/** `mz-s3-export stack up|down|status`: the local stack for trying the project and for the demo. */
import {
  clearStackState,
  defaultStackDir,
  loadStackState,
  saveStackState,
  stackEnv,
  startStack,
  stopStack,
  type StackInfo,
} from '../../local/stack';
import { isAlive } from '../../local/processes';
import { expectPositionals, UsageError, type OptionSpecs, type ParsedArgs } from '../args';

export const usage = `stack up [--random-ports] [--persist] [--no-sample-data]   start Temporal (with UI), moto and mz-local in the background
stack status                                                print what runs and the environment to export
stack down                                                  stop what 'stack up' started`;

export function options(sub: string | undefined): OptionSpecs {
  if (sub !== 'up') return {};
  return {
    'random-ports': { type: 'boolean', help: 'use free ports instead of 7233, 8233, 5000 and 6875' },
    persist: { type: 'boolean', help: "keep Temporal's state in .local/temporal.sqlite across restarts" },
    'no-sample-data': { type: 'boolean', help: 'start mz-local without its sample tables and views' },
  };
}

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 2, 'use: stack up | stack status | stack down');
  const [, sub] = args.positionals;
  const dir = defaultStackDir();
  switch (sub) {
    case 'up': {
      const existing = loadStackState(dir);
      if (existing && existing.services.some((s) => isAlive(s.pid))) {
        console.log('The local stack is already running.');
        printStatus(existing);
        return;
      }
      console.log('Starting the local stack (Temporal dev server with Web UI, moto, mz-local)...');
      // The servers outlive this process (detached), so an interrupted start must stop them itself.
      const interrupted = new AbortController();
      const onSignal = () => {
        console.log('\nInterrupted; stopping the servers started so far...');
        interrupted.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let info: StackInfo;
      try {
        info = await startStack({
          dir,
          detached: true,
          randomPorts: Boolean(args.flags['random-ports']),
          persist: Boolean(args.flags.persist),
          mzLocalArgs: args.flags['no-sample-data'] ? [] : ['--sample-data'],
          signal: interrupted.signal,
        });
      } catch (e) {
        if (!interrupted.signal.aborted) throw e;
        console.log('Stopped; nothing of the local stack runs.');
        process.exit(130);
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
      saveStackState(info);
      printStatus(info);
      return;
    }
    case 'status': {
      const info = loadStackState(dir);
      if (!info) {
        console.log("The local stack is not running (start it with 'mz-s3-export stack up').");
        process.exitCode = 3;
        return;
      }
      printStatus(info);
      if (!info.services.every((s) => isAlive(s.pid))) process.exitCode = 3;
      return;
    }
    case 'down': {
      const info = loadStackState(dir);
      if (!info) {
        console.log('The local stack is not running.');
        return;
      }
      await stopStack(info);
      clearStackState(dir);
      console.log('The local stack is stopped.');
      return;
    }
    default:
      throw new UsageError(`unknown 'stack ${sub ?? ''}'; use: stack up | stack status | stack down`);
  }
}

function printStatus(info: StackInfo): void {
  for (const s of info.services) {
    console.log(`  ${s.name.padEnd(9)} ${isAlive(s.pid) ? 'running' : 'STOPPED'}  pid ${s.pid}  port ${s.port}  log ${s.logFile}`);
  }
  console.log(`  Web UI    ${info.temporalUiUrl}`);
  console.log('\nExport these to point the worker and the CLI at it:');
  for (const [k, v] of Object.entries(stackEnv(info))) console.log(`export ${k}=${v}`);
}
