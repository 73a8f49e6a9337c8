/** `mz-s3-export status <workflow id>`: one run's state, logical time, progress or result. */
import { WorkflowNotFoundError } from '@temporalio/client';
import { InvalidInputError } from '../../common/failures';
import { COMMON_OPTIONS, expectPositionals, UsageError, type OptionSpecs, type ParsedArgs } from '../args';
import { formatFreshness, formatStatus, freshnessOf, runStatus } from '../schedules/runs';
import { withTemporalClient } from '../temporal';

export const usage = `status WORKFLOW_ID [--json]                                one run (export or set): state, progress, manifest, freshness`;

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
    // How fresh the export's (or set's) published data is: its newest publication, which may be another run's.
    const freshness = status.exportName ? await freshnessOf(client, status.exportName) : undefined;
    if (args.flags.json) console.log(JSON.stringify({ ...status, ...(freshness ? { freshness } : {}) }, null, 2));
    else console.log([formatStatus(status), ...(freshness ? [formatFreshness(freshness)] : [])].join('\n'));
    if (status.state === 'FAILED' || status.state === 'TERMINATED' || status.state === 'TIMED_OUT') process.exitCode = 1;
  });
}
