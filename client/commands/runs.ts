/** `mz-s3-export runs [--export NAME]`: recent export and snapshot set runs, and the freshness of each export and set. */
import { COMMON_OPTIONS, expectPositionals, stringFlag, UsageError, type OptionSpecs, type ParsedArgs } from '../args';
import { formatFreshness, formatRuns, freshnessOf, listRuns, runsQuery } from '../schedules/runs';
import { withTemporalClient } from '../temporal';

export const usage = `runs [--export NAME] [--limit N] [--json]                   recent export and snapshot set runs, and how fresh each one's data is`;

export const options: OptionSpecs = {
  export: { type: 'string', value: 'NAME', help: 'only the runs of this export or snapshot set' },
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
    // The JSON stays the list of runs (scripts read it); `status --json` carries the freshness.
    if (args.flags.json) return console.log(JSON.stringify(runs, null, 2));
    // Freshness of every export and set in the list (a few names: one visibility query and one result each).
    const names = [...new Set(runs.map((r) => r.exportName).filter((n): n is string => n !== undefined))].slice(0, 20);
    const freshness = await Promise.all(names.map((n) => freshnessOf(client, n)));
    console.log(formatRuns(runs));
    if (freshness.length) console.log(['', ...freshness.map(formatFreshness)].join('\n'));
    console.log(`\nThe same list in the Web UI: search for  ${runsQuery(exportName)}`);
  });
}
