/**
 * The worker process. Configuration from the environment (docs/operations.md), one JSON log line per event (the
 * SDK's own logs included), Prometheus metrics and health endpoints when asked for, graceful shutdown on
 * SIGINT/SIGTERM (the SDK finishes or cancels running activities before exiting).
 */
import * as v8 from 'node:v8';
import { DefaultLogger, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { loadConfig } from '../platform/config';
import { connectionLabel } from '../platform/connection-url';
import { registerSecrets, secretValuesFromEnv } from '../platform/secret-values';
import { log, setLogLevel } from '../platform/log';
import { readPasswordFile } from '../platform/materialize-client-config';
import { createWorker } from './create-worker';
import { startHttpServer } from './http-server';
import { WorkerMetrics } from './metrics';
import { sdkLogEntry } from './sdk-logger';
import { loadWorkerSettings } from './worker-settings';

const SDK_LEVEL = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;

export async function runWorker(): Promise<void> {
  const settings = loadWorkerSettings();
  setLogLevel(settings.logLevel);
  registerSecrets(secretValuesFromEnv(process.env));
  const config = loadConfig();
  // The Materialize password files' contents are secrets too (read again at each connection; a rotated one is
  // registered when the worker restarts).
  registerSecrets(Object.values(config.materializePasswords).flatMap((p) => (p.file ? [readPasswordFile(p.file)] : [])));
  Runtime.install({
    logger: new DefaultLogger(SDK_LEVEL[settings.logLevel], sdkLogEntry),
    telemetryOptions: {
      // Core (Rust) logs go through the same logger; below WARN they are noise for operators.
      logging: { filter: makeTelemetryFilterString({ core: settings.logLevel === 'debug' ? 'INFO' : 'WARN' }), forward: {} },
      ...(settings.sdkMetricsAddress ? { metrics: { prometheus: { bindAddress: settings.sdkMetricsAddress } } } : {}),
    },
  });
  const metrics = new WorkerMetrics();
  const { worker, connection, awsRegion, bundle } = await createWorker(config, { settings, metrics });
  const http = settings.httpAddress
    ? await startHttpServer(settings.httpAddress, metrics, {
        state: () => worker.getState(),
        temporalHealthy: async () => void (await connection.workflowService.getSystemInfo({})),
      })
    : undefined;
  log('info', 'worker started', {
    temporalAddress: config.temporal.address,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    capacity: settings.capacity,
    // What bin/mz-s3-export-worker set (MZ_S3_EXPORT_WORKER_HEAP_MIB): V8's whole heap limit, old and young space.
    heapLimitMiB: Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20),
    temporalConnection: config.temporal.description,
    awsRegion,
    awsProfile: config.aws.profile ?? '(none)',
    awsEndpoint: config.aws.endpoint ?? '(AWS default)',
    storageProfiles: Object.fromEntries(Object.values(config.storageProfiles).map((p) => [p.name, `${p.endpoint} (${p.region}, key from ${p.credentials.kind === 'file' ? p.credentials.path : 'the environment'})`])),
    materializeProfiles: Object.fromEntries(Object.entries(config.materializeProfiles).map(([k, v]) => [k, connectionLabel(v)])),
    workflowBundle: bundle,
    deploymentVersion: settings.deployment ? `${settings.deployment.deploymentName}.${settings.deployment.buildId} (${settings.deployment.defaultVersioningBehavior})` : '(unversioned)',
    http: http ? `${http.url}/metrics, /healthz, /readyz` : '(off: set MZ_S3_EXPORT_HTTP_ADDRESS)',
    sdkMetrics: settings.sdkMetricsAddress ? `http://${settings.sdkMetricsAddress}/metrics` : '(off: set MZ_S3_EXPORT_SDK_METRICS_ADDRESS)',
  });
  try {
    await worker.run(); // returns after SIGINT/SIGTERM (the SDK installs the handlers) once shut down
  } finally {
    await http?.close();
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
