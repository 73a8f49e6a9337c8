/** Builds the worker: one task queue, every workflow and activity of the project, clients injected. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createAwsClients } from '../platform/aws-clients';
import type { Config } from '../platform/config';
import { createMaterializeConnector } from '../platform/materialize';
import { dataConverterFromEnv } from '../platform/payload-codec';
import { temporalConnectionOptions } from '../platform/temporal-connection';
import { InvalidInputError } from '../common/failures';
import { log } from '../platform/log';
import { scrubSecretsInterceptor } from './scrub-secrets';
import { describeProblems, isOperatorApiRefused, manualSteps, searchAttributeProblems, type OperatorConnection } from '../platform/temporal-search-attributes';

export async function createWorker(config: Config, opts: { maxConcurrentActivities?: number } = {}) {
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  try {
    await assertSearchAttributesReady(connection, config.temporal.namespace);
  } catch (e) {
    await connection.close();
    throw e;
  }
  const activities = createActivities({
    aws: createAwsClients(config.aws),
    materialize: createMaterializeConnector(config),
  });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities,
    // Encrypts payloads at rest when MZ_S3_EXPORT_PAYLOAD_KEY is set (platform/payload-codec.ts).
    dataConverter: dataConverterFromEnv(),
    // No secret of this process leaves it in an activity result or failure (they land in the history).
    interceptors: { activity: [scrubSecretsInterceptor] },
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 100,
    // Long COPY activities heartbeat; give them time to see the cancellation and send pg's cancel request.
    shutdownGraceTime: '10 seconds',
  });
  return { worker, connection };
}

/**
 * Refuses to poll a namespace that lacks the search attributes the workflows upsert: their workflow tasks would
 * fail on every attempt and the runs would stay RUNNING. Where the operator API may not even list them, the
 * worker says so and goes on (`mz-s3-export setup temporal --check` from an operator's credentials tells).
 */
async function assertSearchAttributesReady(connection: OperatorConnection, namespace: string): Promise<void> {
  let problems;
  try {
    problems = await searchAttributeProblems(connection, namespace);
  } catch (e) {
    if (!isOperatorApiRefused(e)) throw e;
    log('warn', 'cannot list the namespace search attributes; assuming they are registered', { namespace, error: (e as Error).message });
    return;
  }
  if (problems.length) {
    throw new InvalidInputError(
      `namespace "${namespace}" is not set up for mz-s3-export: ${describeProblems(problems)}. ` +
        `Run 'mz-s3-export setup temporal' with the same TEMPORAL_* settings, or:\n${manualSteps(namespace)}`,
    );
  }
}
