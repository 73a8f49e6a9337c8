/** `mz-s3-export doctor`: asks a running worker to reach S3, STS and Materialize, and prints what it found. */
import { registerSecrets, scrub, secretValuesFromEnv } from '../../platform/secret-values';
import { withTemporalClient } from '../temporal';
import { stringFlag, type ParsedArgs } from '../args';

export const usage = `doctor [--profile NAME]                                     check that a worker runs and reaches S3, STS and Materialize`;

export async function run(args: ParsedArgs): Promise<void> {
  await withTemporalClient(async (client, config) => {
    const report = await client.workflow.execute('healthCheck', {
      taskQueue: config.temporal.taskQueue,
      workflowId: `health-${Date.now()}`,
      args: [{ materializeProfile: stringFlag(args, 'profile') }],
      workflowExecutionTimeout: '1 minute',
    });
    // The worker scrubbed its own secrets; scrub this process's too, in case the two share an environment.
    registerSecrets(secretValuesFromEnv(process.env));
    console.log(scrub(JSON.stringify(report, null, 2)));
    if (!report.s3.ok || !report.materialize.ok) process.exitCode = 1;
  });
}
