/**
 * Starting workflows from the CLI and following them to their result with a progress line: the one polling loop
 * every waiting command uses (export, onboard, offboard, the demo), what --no-wait prints, and the start-and-wait
 * of the onboarding workflows.
 */
import { WorkflowFailedError, type Client, type QueryDefinition, type Workflow, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { rootCauseOf } from '../common/failures';
import type { StepProgress } from '../common/onboarding/progress';
import { stringFlag, type ParsedArgs } from './args';
import { withTemporalClient } from './temporal';
import { noWorkerMode, requireWorker } from './worker-check';

/** A failed run as the CLI reports it: its root cause and what to change, where it happened. */
export interface RunFailure {
  workflowId: string;
  type: string;
  message: string;
  activityType?: string;
}

export function runFailure(workflowId: string, e: WorkflowFailedError): RunFailure {
  return { workflowId, ...rootCauseOf(e) };
}

export function formatRunFailure(f: RunFailure): string {
  return `${f.workflowId} failed (${f.type}${f.activityType ? ` in activity ${f.activityType}` : ''}): ${f.message}`;
}

/**
 * While a command waits on a run, Ctrl-C (or SIGTERM) stops the waiting only: it says so, that the run keeps
 * going on the worker, and how to follow or cancel it, then exits 130.
 */
export async function stopWaitingOnInterrupt<T>(workflowId: string, wait: () => Promise<T>): Promise<T> {
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(
      `\n${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopped waiting. ${workflowId} keeps running on the worker.\n` +
        `  follow it:  mz-s3-export status ${workflowId}\n` +
        `  cancel it:  mz-s3-export cancel ${workflowId}\n`,
    );
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await wait();
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/**
 * Waits for a run as stopWaitingOnInterrupt does. A failed run is reported by its root cause (on stdout as JSON too
 * with --json), sets exit code 1 and gives undefined; any other error propagates.
 */
export async function awaitRunOutcome<T>(workflowId: string, wait: () => Promise<T>, json = false): Promise<T | undefined> {
  try {
    return await stopWaitingOnInterrupt(workflowId, wait);
  } catch (e) {
    if (!(e instanceof WorkflowFailedError)) throw e;
    const failure = runFailure(workflowId, e);
    if (json) console.log(JSON.stringify({ failed: failure }, null, 2));
    console.error(`mz-s3-export: ${formatRunFailure(failure)}`);
    process.exitCode = 1;
    return undefined;
  }
}

export interface ProgressOptions<P> {
  /** What identifies a progress value: a value is shown when its key differs from the last one shown. */
  key: (p: P) => string;
  show: (p: P, key: string) => void;
  intervalMs: number;
  /** The workflow's progress query; by default the one named `progress`. */
  query?: QueryDefinition<P> | string;
}

/**
 * Waits for the run's result while polling its progress query. A query that fails (the run not yet picked up by a
 * worker, or already closed) shows nothing: the result tells. Nothing is shown once the result is in.
 */
export async function resultWithProgress<T, P>(handle: WorkflowHandle, opts: ProgressOptions<P>): Promise<T> {
  let last = '';
  let done = false;
  const poll = (async () => {
    while (!done) {
      try {
        const p = await handle.query<P, []>(opts.query ?? 'progress');
        const key = opts.key(p);
        if (key !== last && !done) {
          opts.show(p, key);
          last = key;
        }
      } catch {
        // Not yet picked up by a worker, or already closed: the result tells.
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs));
    }
  })();
  try {
    return (await handle.result()) as T;
  } finally {
    done = true;
    await poll;
  }
}

/** What --no-wait prints: the ids as JSON with --json, else one line (and a hint on what to do next). */
export function printStarted(handle: { workflowId: string; firstExecutionRunId?: string }, json: boolean, hint = ''): void {
  const started = { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
  console.log(json ? JSON.stringify(started) : `started ${started.workflowId} (run ${started.runId})${hint}`);
}

/** An onboarding or offboarding progress value in one line. */
export function describeProgress(p: StepProgress): string {
  const head = `[${p.stepNumber}/${p.steps.length} ${p.step}]`;
  if (p.status === 'waiting-to-retry') {
    const at = p.nextAttemptAt ? new Date(p.nextAttemptAt).toISOString().slice(11, 19) : '?';
    return `${head} attempt ${p.attempts} failed, next at ${at}Z (signal retryNow to retry at once): ${p.lastError}`;
  }
  return `${head} ${p.status}${p.attempts > 1 ? `, attempt ${p.attempts}` : ''}`;
}

/**
 * Waits for an onboarding workflow's result while printing its progress (one line per change; rewritten in place
 * on a terminal). Prints the result as JSON with --json, else as readable lines; a failure says which step and why.
 */
async function waitWithProgress<T>(handle: WorkflowHandle, args: ParsedArgs, printResult: (result: T) => void): Promise<void> {
  const tty = process.stderr.isTTY && !args.flags.json;
  try {
    const result = await resultWithProgress<T, StepProgress>(handle, {
      key: describeProgress,
      show: (_, line) => process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`),
      intervalMs: 1000,
    });
    if (tty) process.stderr.write('\n');
    if (args.flags.json) console.log(JSON.stringify(result, null, 2));
    else printResult(result);
  } catch (e) {
    if (tty) process.stderr.write('\n');
    if (e instanceof WorkflowFailedError) {
      const failure = runFailure(handle.workflowId, e);
      if (args.flags.json) console.log(JSON.stringify({ failed: failure }, null, 2));
      else console.error(formatRunFailure(failure));
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

/**
 * Starts onboardAwsConnection or offboardAwsConnection on the configured task queue, with the id --workflow-id
 * gives or the default, then waits for it (or, with --no-wait, prints the ids).
 */
export async function startAndWait<W extends Workflow, T>(
  args: ParsedArgs,
  opts: { workflow: W; defaultWorkflowId: string; input: Parameters<W>[0]; beforeStart?: (client: Client) => Promise<void> },
  printResult: (result: T) => void,
): Promise<void> {
  await withTemporalClient(async (client, config) => {
    await opts.beforeStart?.(client);
    const warn = (line: string) => process.stderr.write(`${line}\n`);
    const noWait = Boolean(args.flags['no-wait']);
    await requireWorker(client, config.temporal.taskQueue, noWorkerMode(args.flags), warn);
    const handle = await client.workflow.start(opts.workflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId: stringFlag(args, 'workflow-id') ?? opts.defaultWorkflowId,
      args: [opts.input],
      // A second `onboard` while one runs for the same connection follows that run instead of starting another.
      workflowIdConflictPolicy: 'USE_EXISTING',
    } as unknown as WorkflowStartOptions<W>); // TS cannot resolve the SDK's conditional options type for a generic W; `input` is checked against W's parameter above
    if (noWait) return printStarted(handle, Boolean(args.flags.json));
    if (!args.flags.json) process.stderr.write(`${opts.workflow.name} ${handle.workflowId} started; waiting (Ctrl-C stops waiting, not the run)\n`);
    await stopWaitingOnInterrupt(handle.workflowId, () => waitWithProgress(handle, args, printResult));
  });
}
