/**
 * `mz-s3-export setup temporal`: registers the custom search attributes the workflows and schedules set (MzExportName,
 * MzLogicalTime, MzConnection, MzScheduleDigest) in TEMPORAL_NAMESPACE through the operator API, or prints the steps where that API
 * is closed (Temporal Cloud). `--check` only reports. The local dev server (`stack up`) has them already.
 */
import {
  describeProblems,
  isOperatorApiRefused,
  manualSteps,
  registerSearchAttributes,
  searchAttributeProblems,
} from '../../platform/temporal-search-attributes';
import { UsageError, type ParsedArgs } from '../args';
import { withTemporalClient } from '../temporal';

export const usage = `setup temporal [--check]                                    register the search attributes the workflows set in TEMPORAL_NAMESPACE`;

export const options = {
  check: { type: 'boolean', help: 'only report what is missing (exit status 1 when something is)' },
} as const;

export async function run(args: ParsedArgs): Promise<void> {
  const target = args.positionals[1];
  if (target !== 'temporal' || args.positionals.length > 2) {
    throw new UsageError(`usage: mz-s3-export ${usage.split(/\s{2,}/)[0]}`);
  }
  await withTemporalClient(async (client, config) => {
    const namespace = config.temporal.namespace;
    const where = `namespace "${namespace}" at ${config.temporal.address}`;
    if (args.flags.check) {
      const problems = await searchAttributeProblems(client.connection, namespace);
      if (!problems.length) return console.log(`${where}: search attributes ready`);
      console.log(`${where}: ${describeProblems(problems)}\nRun 'mz-s3-export setup temporal', or:\n${manualSteps(namespace)}`);
      process.exitCode = 1;
      return;
    }
    let result;
    try {
      result = await registerSearchAttributes(client.connection, namespace);
    } catch (e) {
      if (!isOperatorApiRefused(e)) throw e;
      console.log(`${where}: the operator API refused to add search attributes (${(e as Error).message}).\n${manualSteps(namespace)}`);
      process.exitCode = 1;
      return;
    }
    if (result.added.length) console.log(`${where}: registered ${result.added.join(', ')}`);
    if (result.conflicting.length) {
      console.log(
        `${where}: ${describeProblems(result.conflicting)}; an attribute's type cannot be changed in place: ` +
          'remove it (temporal operator search-attribute remove) or use another namespace',
      );
      process.exitCode = 1;
    } else if (!result.added.length) console.log(`${where}: search attributes ready (nothing to add)`);
  });
}
