/** `mz-s3-export doctor`: asks a running worker to reach S3, STS and Materialize, and prints what it found. */
import { registerSecrets, scrub, secretValuesFromEnv } from '../../platform/secret-values';
import { withTemporalClient } from '../temporal';
import { healthCheck } from '../../workflows';
import { WorkflowFailedError } from '@temporalio/client';
import { formatRunFailure, runFailure } from '../follow';
import { CliError, COMMON_OPTIONS, expectPositionals, stringFlag, type OptionSpecs, type ParsedArgs } from '../args';
import { noWorkerMode, requireWorker } from '../worker-check';

export const usage = `doctor [--profile NAME] [--wait-for-worker]                  check that a worker runs and reaches S3, STS and Materialize`;

export const options: OptionSpecs = { profile: COMMON_OPTIONS.profile, 'wait-for-worker': COMMON_OPTIONS.waitForWorker };

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 1, 'doctor takes only options');
  await withTemporalClient(async (client, config) => {
    // Without a worker the health check would only time out after its minute; say so at once instead.
    await requireWorker(client, config.temporal.taskQueue, noWorkerMode(args.flags), (line) => console.error(line));
    // The worker scrubbed its own secrets; scrub this process's too, in case the two share an environment.
    registerSecrets(secretValuesFromEnv(process.env));
    const workflowId = `health-${Date.now()}`;
    const report = await client.workflow
      .execute(healthCheck, {
        taskQueue: config.temporal.taskQueue,
        workflowId,
        args: [{ materializeProfile: stringFlag(args, 'profile') }],
        workflowExecutionTimeout: args.flags['wait-for-worker'] ? undefined : '1 minute',
      })
      .catch((e: Error) => {
        if (e instanceof WorkflowFailedError) throw new CliError(scrub(formatRunFailure(runFailure(workflowId, e))));
        throw e;
      });
    console.log(scrub(JSON.stringify(report, null, 2)));
    if (!report.s3.ok || !report.materialize.ok) process.exitCode = 1;
  });
}
