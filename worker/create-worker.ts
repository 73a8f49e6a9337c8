/** Builds the worker: one task queue, every workflow and activity of the project, clients injected. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createAwsClients } from '../platform/aws-clients';
import type { Config } from '../platform/config';
import { createMaterializeConnector } from '../platform/materialize';
import { dataConverterFromEnv } from '../platform/payload-codec';
import { temporalConnectionOptions } from '../platform/temporal-connection';

export async function createWorker(config: Config, opts: { maxConcurrentActivities?: number } = {}) {
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
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
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 100,
    // Long COPY activities heartbeat; give them time to see the cancellation and send pg's cancel request.
    shutdownGraceTime: '10 seconds',
  });
  return { worker, connection };
}
