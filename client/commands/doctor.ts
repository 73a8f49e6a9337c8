/** `mz-s3-export doctor`: asks a running worker to reach S3, STS and Materialize, and prints what it found. */
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
    console.log(JSON.stringify(report, null, 2));
    if (!report.s3.ok || !report.materialize.ok) process.exitCode = 1;
  });
}
