/** `mz-s3-export status <workflow id>`: one run's state, logical time, progress or result. */
import { WorkflowNotFoundError } from '@temporalio/client';
import { InvalidInputError } from '../../common/failures';
import { COMMON_OPTIONS, expectPositionals, UsageError, type OptionSpecs, type ParsedArgs } from '../args';
import { formatStatus, runStatus } from '../schedules/runs';
import { withTemporalClient } from '../temporal';

export const usage = `status WORKFLOW_ID [--json]                                one run: state, logical time, progress, rows, files, manifest`;

export const options: OptionSpecs = { json: COMMON_OPTIONS.json };

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 2, 'status takes one workflow id');
  const workflowId = args.positionals[1];
  if (!workflowId) throw new UsageError("status needs a workflow id ('mz-s3-export runs' lists recent ones)");
  await withTemporalClient(async (client) => {
    const status = await runStatus(client, workflowId).catch((e: Error) => {
      if (e instanceof WorkflowNotFoundError) {
        throw new InvalidInputError(`no workflow ${workflowId} in namespace ${client.options.namespace}; 'mz-s3-export runs' lists recent ones`);
      }
      throw e;
    });
    console.log(args.flags.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    if (status.state === 'FAILED' || status.state === 'TERMINATED' || status.state === 'TIMED_OUT') process.exitCode = 1;
  });
}
