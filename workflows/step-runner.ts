/**
 * The step runner (retry engine) of the onboarding and offboarding workflows, with the messages it answers: the
 * `progress` query and the `retryNow` signal. Every step is attempted, and on a retryable failure retried after a durable backoff
 * timer (which `retryNow` cuts short) until the step's time bound; a failure waiting cannot fix ends the run at
 * once with its type (InvalidInputError, ConflictError, ...), so the caller sees what to change.
 */
import { ApplicationFailure, condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';
import { InvalidInputError, readFailure, runFailure } from '../common/failures';
import { backoffMs, type ResolvedRetry } from '../common/onboarding/input';
import type { StepProgress } from '../common/onboarding/progress';

export const progressQuery = defineQuery<StepProgress>('progress');
export const retryNowSignal = defineSignal('retryNow');

export interface StepOptions {
  /** Give up retrying after this many seconds in the step. */
  boundSeconds: number;
  /** Added to the final failure's message when the bound is reached. */
  timeoutHint?: string;
}

export class StepRunner {
  private retryRequested = false;

  constructor(
    readonly progress: StepProgress,
    private readonly retry: ResolvedRetry,
  ) {
    setHandler(progressQuery, () => this.progress);
    setHandler(retryNowSignal, () => {
      this.retryRequested = true;
    });
  }

  change(line: string | undefined): void {
    if (line) this.progress.changes.push(line);
  }

  /** Runs one step; `fn` gets the attempt number (from 1). */
  async run<T>(step: string, opts: StepOptions, fn: (attempt: number) => Promise<T>): Promise<T> {
    const p = this.progress;
    p.step = step;
    p.stepNumber = p.steps.indexOf(step) + 1;
    p.attempts = 0;
    p.lastError = undefined;
    const deadline = Date.now() + opts.boundSeconds * 1000;
    for (;;) {
      p.attempts++;
      p.status = 'running';
      p.nextAttemptAt = undefined;
      try {
        const result = await fn(p.attempts);
        p.lastError = undefined;
        return result;
      } catch (e) {
        const f = readFailure(e);
        p.lastError = `${f.type}: ${f.message}`;
        if (f.retry !== 'wait') this.fail(step, f.type, f.message);
        // The last wait is shortened to end at the bound, so the final attempt happens right at it.
        const left = deadline - Date.now();
        const wait = Math.min(backoffMs(this.retry, p.attempts), left);
        if (left <= 0) {
          this.fail(
            step,
            f.type === 'NotYetError' ? 'NotYetError' : 'StepTimeoutError',
            `still failing after ${p.attempts} attempts over ${opts.boundSeconds} s: ${f.message}${opts.timeoutHint ? `. ${opts.timeoutHint}` : ''}`,
          );
        }
        p.status = 'waiting-to-retry';
        p.nextAttemptAt = new Date(Date.now() + wait).toISOString();
        this.retryRequested = false;
        await condition(() => this.retryRequested, wait);
      }
    }
  }

  /** Ends the run: a non-retryable failure of that type, naming the step. */
  fail(step: string, type: string, message: string): never {
    this.progress.status = 'failed';
    this.progress.lastError = `${type}: ${message}`;
    throw runFailure(type, `${step}: ${message}`);
  }
}

/**
 * Installs the `progress` query and `retryNow` signal and resolves the raw input. Invalid input ends the run at
 * once as a non-retryable InvalidInputError of the step 'validate-input', before any side effect.
 */
export function startSteps<I extends { retry: ResolvedRetry }>(
  workflow: StepProgress['workflow'],
  steps: readonly string[],
  resolve: () => I,
): { steps: StepRunner; input: I } {
  const progress: StepProgress = {
    workflow,
    status: 'running',
    step: 'validate-input',
    stepNumber: 1,
    steps,
    attempts: 1,
    found: {},
    changes: [],
  };
  let input: I;
  try {
    input = resolve();
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    return new StepRunner(progress, { initialIntervalSeconds: 1, maximumIntervalSeconds: 1, backoffCoefficient: 1 }).fail(
      'validate-input',
      'InvalidInputError',
      e.message,
    );
  }
  return { steps: new StepRunner(progress, input.retry), input };
}

/**
 * A failure after writes names each thing this run made or changed, and the offboarding input that removes
 * them: nothing is left behind unreported.
 */
export function withWhatWasMade(
  e: unknown,
  changes: string[],
  offboardInput: Record<string, string>,
  offboardWorkflow: 'offboardAwsConnection' | 'offboardS3CompatibleConnection' = 'offboardAwsConnection',
): unknown {
  if (!(e instanceof ApplicationFailure) || changes.length === 0) return e;
  return ApplicationFailure.create({
    type: e.type ?? 'Error',
    nonRetryable: true,
    message:
      `${e.message}. This run's changes, which stay in place: ${changes.join('; ')}. ` +
      `Once fixed, run onboarding again (it converges on them), or remove them with ${offboardWorkflow} ${JSON.stringify(offboardInput)}`,
  });
}
