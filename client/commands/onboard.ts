/**
 * `mz-s3-export onboard`: starts the onboardAwsConnection workflow from flags or a JSON file (the same JSON the
 * Temporal Web UI takes), then waits with a progress line and prints the result; --plan prints the IAM documents
 * and SQL it would apply and changes nothing.
 */
import * as fs from 'node:fs';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { resolveOnboardInput } from '../../lib/onboarding-input';
import { onboardingPlan, renderOnboardingPlan } from '../../lib/onboarding-plan';
import type { StepProgress } from '../../lib/onboarding-progress';
import type { OnboardInput } from '../../lib/onboarding-types';
import { withTemporalClient } from '../temporal';
import { UsageError, stringFlag, type ParsedArgs } from '../args';

export const usage = `onboard --bucket B --prefix P --role R --policy P --connection C [--region R] [--principal ARN]
        [--profile NAME] [--create-bucket false] [--validation-timeout SECONDS] | --file input.json
        [--plan] [--json] [--no-wait] [--workflow-id ID]       bucket, IAM policy and role, Materialize connection, validated`;

/** Flag name -> input field; flags override the file's values. */
const FLAGS: Record<string, keyof OnboardInput> = {
  bucket: 'bucket',
  prefix: 'prefix',
  region: 'region',
  role: 'roleName',
  policy: 'policyName',
  connection: 'connectionName',
  principal: 'materializePrincipal',
  profile: 'materializeProfile',
};

export function readInputFile(args: ParsedArgs): Record<string, unknown> {
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

export function onboardInputFromArgs(args: ParsedArgs): OnboardInput {
  const input: Record<string, unknown> = { ...readInputFile(args) };
  for (const [flag, field] of Object.entries(FLAGS)) {
    const v = stringFlag(args, flag);
    if (v !== undefined) input[field] = v;
  }
  const createBucket = booleanValueFlag(args, 'create-bucket');
  if (createBucket !== undefined) input.createBucket = createBucket;
  const timeout = numberFlag(args, 'validation-timeout');
  if (timeout !== undefined) input.validationTimeoutSeconds = timeout;
  return input as unknown as OnboardInput;
}

export function describeProgress(p: StepProgress): string {
  const head = `[${p.stepNumber}/${p.steps.length} ${p.step}]`;
  if (p.status === 'waiting-to-retry') {
    const at = p.nextAttemptAt ? new Date(p.nextAttemptAt).toISOString().slice(11, 19) : '?';
    return `${head} attempt ${p.attempts} failed, next at ${at}Z (signal retryNow to retry at once): ${p.lastError}`;
  }
  return `${head} ${p.status}${p.attempts > 1 ? `, attempt ${p.attempts}` : ''}`;
}

/**
 * Waits for the workflow's result while printing its progress (one line per change; rewritten in place on a
 * terminal). Prints the result as JSON with --json, else as readable lines; a failure says which step and why.
 */
export async function waitWithProgress<T>(
  handle: WorkflowHandle,
  args: ParsedArgs,
  printResult: (result: T) => void,
): Promise<void> {
  const tty = process.stderr.isTTY && !args.flags.json;
  let last = '';
  let done = false;
  const poll = (async () => {
    while (!done) {
      try {
        const line = describeProgress(await handle.query<StepProgress>('progress'));
        if (line !== last) {
          process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
          last = line;
        }
      } catch {
        // Not yet picked up by a worker, or already closed: the result tells.
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  try {
    const result = (await handle.result()) as T;
    done = true;
    await poll;
    if (tty) process.stderr.write('\n');
    if (args.flags.json) console.log(JSON.stringify(result, null, 2));
    else printResult(result);
  } catch (e) {
    done = true;
    await poll;
    if (tty) process.stderr.write('\n');
    if (e instanceof WorkflowFailedError) {
      const cause = e.cause as { type?: string; message?: string } | undefined;
      const failure = { workflowId: handle.workflowId, type: cause?.type ?? 'Error', message: cause?.message ?? e.message };
      if (args.flags.json) console.log(JSON.stringify({ failed: failure }, null, 2));
      else console.error(`failed (${failure.type}): ${failure.message}`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

export async function startAndWait<T>(
  client: Client,
  opts: { workflowType: string; workflowId: string; taskQueue: string; input: unknown },
  args: ParsedArgs,
  printResult: (result: T) => void,
): Promise<void> {
  const handle = await client.workflow.start(opts.workflowType, {
    taskQueue: opts.taskQueue,
    workflowId: opts.workflowId,
    args: [opts.input],
    // A second `onboard` while one runs for the same connection follows that run instead of starting another.
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  if (args.flags['no-wait']) {
    const started = { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
    console.log(args.flags.json ? JSON.stringify(started) : `started ${started.workflowId} (run ${started.runId})`);
    return;
  }
  if (!args.flags.json) process.stderr.write(`${opts.workflowType} ${handle.workflowId} started; waiting (Ctrl-C stops waiting, not the run)\n`);
  await waitWithProgress(handle, args, printResult);
}

export async function run(args: ParsedArgs): Promise<void> {
  const raw = onboardInputFromArgs(args);
  const input = resolveOnboardInput(raw); // bad input stops here, before anything is started
  if (args.flags.plan) {
    const plan = onboardingPlan(input);
    console.log(args.flags.json ? JSON.stringify(plan, null, 2) : renderOnboardingPlan(plan));
    return;
  }
  await withTemporalClient((client, config) =>
    startAndWait(
      client,
      {
        workflowType: 'onboardAwsConnection',
        workflowId: stringFlag(args, 'workflow-id') ?? `onboard-${input.connectionName}`,
        taskQueue: config.temporal.taskQueue,
        input: raw,
      },
      args,
      (r: Record<string, unknown>) => {
        for (const k of ['connectionName', 'roleArn', 'policyArn', 'externalId', 'validatedAt']) console.log(`${k.padEnd(15)} ${r[k]}`);
        const changes = r.changes as string[];
        console.log(changes.length ? `changes:\n  ${changes.join('\n  ')}` : 'changes: none (everything already matched)');
      },
    ),
  );
}
