/**
 * The worker process. Configuration from the environment (see README), structured JSON logs, graceful
 * shutdown on SIGINT/SIGTERM (the SDK finishes or cancels running activities before exiting).
 */
import { DefaultLogger, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { loadConfig } from '../platform/config';
import { connectionLabel } from '../platform/connection-url';
import { registerSecrets, secretValuesFromEnv } from '../platform/secret-values';
import { log } from '../platform/log';
import { createWorker } from './create-worker';

export async function runWorker(): Promise<void> {
  registerSecrets(secretValuesFromEnv(process.env));
  const config = loadConfig();
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) =>
      log(entry.level.toLowerCase() === 'trace' ? 'debug' : (entry.level.toLowerCase() as 'info'), entry.message, {
        ...entry.meta,
      }),
    ),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
  const { worker, connection } = await createWorker(config);
  log('info', 'worker started', {
    temporalAddress: config.temporal.address,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    awsEndpoint: config.aws.endpoint ?? '(AWS default)',
    materializeProfiles: Object.fromEntries(Object.entries(config.materializeProfiles).map(([k, v]) => [k, connectionLabel(v)])),
  });
  try {
    await worker.run(); // returns after SIGINT/SIGTERM (the SDK installs the handlers) once shut down
  } finally {
    await connection.close();
    log('info', 'worker stopped');
  }
}

if (require.main === module) {
  runWorker().catch((e) => {
    log('error', 'worker failed', { error: (e as Error).message });
    process.exit(1);
  });
}
