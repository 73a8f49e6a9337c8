/** `mz-s3-export runs [--export NAME]`: recent export runs with state, logical time, rows, files and manifest. */
import { COMMON_OPTIONS, expectPositionals, stringFlag, UsageError, type OptionSpecs, type ParsedArgs } from '../args';
import { formatRuns, listRuns, runsQuery } from '../schedules/runs';
import { withTemporalClient } from '../temporal';

export const usage = `runs [--export NAME] [--limit N] [--json]                   recent export runs: state, logical time, rows, files, manifest`;

export const options: OptionSpecs = {
  export: { type: 'string', value: 'NAME', help: 'only the runs of this export' },
  limit: { type: 'string', value: 'N', help: 'how many runs, newest first (default 20)' },
  json: COMMON_OPTIONS.json,
};

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 1, 'runs takes only options');
  const exportName = stringFlag(args, 'export');
  const limitRaw = stringFlag(args, 'limit') ?? '20';
  const limit = Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit ${limitRaw}: give a whole number from 1 to 1000`);
  await withTemporalClient(async (client) => {
    const runs = await listRuns(client, { exportName, limit });
    if (args.flags.json) return console.log(JSON.stringify(runs, null, 2));
    console.log(formatRuns(runs));
    console.log(`\nThe same list in the Web UI: search for  ${runsQuery(exportName)}`);
  });
}
